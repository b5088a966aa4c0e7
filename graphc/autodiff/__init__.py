"""Differentiation as graph transformations: reverse mode, forward mode, second order."""
from .forward import jvp
from .hessian import hessian, hvp
from .reverse import grad, vjp

__all__ = ["grad", "vjp", "jvp", "hessian", "hvp"]
