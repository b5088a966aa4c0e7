"""Second derivatives: Hessian-vector products and (small) dense Hessians."""
from __future__ import annotations

from ..ir import Tensor
from ..ops import mul, reshape, stack, sum
from .reverse import grad


def hvp(cost: Tensor, wrt: Tensor, v: Tensor) -> Tensor:
    """H v for the Hessian H of `cost` at `wrt`: one gradient of a gradient, no dense H."""
    g = grad(cost, wrt)
    return grad(sum(mul(g, v)), wrt, disconnected="zero")


def hessian(cost: Tensor, wrt: Tensor) -> Tensor:
    """The dense Hessian, shape wrt.shape + wrt.shape (one gradient graph per element: small inputs)."""
    n = wrt.size
    if n is None:
        raise ValueError("hessian: the input needs a fully known shape")
    flat = reshape(grad(cost, wrt), (n,))
    rows = [reshape(grad(flat[i], wrt, disconnected="zero"), (n,)) for i in range(n)]
    return reshape(stack(rows), tuple(wrt.shape) * 2)
