"""Finite-math-only folds, and the switch that allows them (`gc.function(..., fast_math=True)`).

By default every rewrite keeps IEEE semantics for every input, infinities and NaN included, as
NumPy, PyTorch and JAX compute: `0 * x` and `x - x` are NaN where x is inf or NaN. The folds here
hold only for finite values (`0 * inf` and `inf - inf` are NaN), like the `nnan ninf nsz` flags of
LLVM's fast-math; they fire on floats only when the pipeline is asked for fast math (integers have
no inf or NaN, so for them they always hold). The same switch lets fusion compose kernel bodies
with SymPy's own simplification (`graphc.passes.fuse`).
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from ..ir import Tensor
from ..ir.dtypes import is_float
from ..ops import elementwise as ew
from .patterns import filled, is_const, is_op
from .rewrite import RuleSet

_FAST_MATH: ContextVar[bool] = ContextVar("fast_math", default=False)

FINITE = RuleSet("finite-math")


def fast_math() -> bool:
    """Whether the passes now running may assume every value is finite."""
    return _FAST_MATH.get()


@contextmanager
def assuming_finite(on: bool) -> Iterator[None]:
    """Run the passes inside with (or without) the finite-math-only folds."""
    token = _FAST_MATH.set(on)
    try:
        yield
    finally:
        _FAST_MATH.reset(token)


def _finite_math(node: Tensor) -> bool:
    """Whether `node`'s operands may be taken as finite and not NaN: fast math, or integers (which have
    neither)."""
    return fast_math() or not is_float(node.dtype)


@FINITE.rule(ew.Multiply, name="x*0 (finite)")
def mul_zero(node: Tensor):
    """x * 0 = 0 for finite x (IEEE: inf * 0 and nan * 0 are nan, -3 * 0 is -0)."""
    a, b = node.inputs
    return filled(node, 0) if (is_const(a, 0) or is_const(b, 0)) and _finite_math(node) else None


@FINITE.rule(ew.Subtract, name="x-x (finite)")
def sub_self(node: Tensor):
    """x - x = 0 for finite x (IEEE: inf - inf and nan - nan are nan)."""
    a, b = node.inputs
    return filled(node, 0) if a is b and _finite_math(node) else None


@FINITE.rule(ew.Exp, name="exp(log x)")
def exp_log(node: Tensor):
    """exp(log x) = x where log x is not NaN (IEEE: log of a negative x is nan, and so is exp of it)."""
    x = node.inputs[0]
    return x.inputs[0] if is_op(x, ew.LOG) and _finite_math(node) else None
