"""Integer division and bit ops: `floor_divide`, `mod`, `fmod`, `bitwise_and/or/xor/not`, `left_shift`,
`right_shift`.

Each is one `define` line over a primitive of `graphc.ops.scalar` (named as NumPy's function of the
same meaning, which is also its reference rule), so every backend compiles it natively.

- `mod(x, y)` has the sign of the divisor (Python's %, np.remainder, ONNX Mod with fmod=0);
  `fmod(x, y)` that of the dividend (C's fmod, np.fmod, ONNX Mod with fmod=1). Integers divided by
  0 give 0, as NumPy's (ONNX leaves it undefined); floats give NaN. Both take ints and floats, and
  their gradients flow for floats: d/dx = 1, d/dy = -floor(x / y) for mod, -trunc(x / y) for fmod.
- `floor_divide(x, y)` (`x // y`) is NumPy's: floor(x / y), with x = (x // y) y + x % y; an
  integer divided by 0 gives 0 (NumPy's), MIN // -1 wraps to MIN. It has no gradient (it is piecewise
  constant). ONNX's integer `Div` truncates instead: `floor_divide(x - fmod(x, y), y)`, exactly.
- The bitwise ops take integers; on bool tensors `&`, `|`, `^`, `~` are the logical ops (as NumPy's).
- Shifts take integers (NumPy's rules): `right_shift` is arithmetic for signed and logical for
  unsigned operands (ONNX BitShift is defined on unsigned ones only, where the two agree); a shift by
  a negative amount or by the width or more gives 0 (`right_shift` of a negative signed value: -1).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import Tensor
from . import elementwise as ew
from . import scalar as S
from .operands import as_tensors

__all__ = ["bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "floor_divide", "fmod", "left_shift", "mod",
           "right_shift"]


def _trunc(q: Tensor) -> Tensor:
    """q rounded toward zero."""
    return ew.mul(ew.sign(q), ew.floor(ew.abs(q)))


def _remainder_partial(quotient_rounding):
    """seed for x; -seed * rounding(x / y) for y (the quotient is piecewise constant)."""
    def rule(node, i, seed):
        if i == 0:
            return seed
        x, y = node.inputs
        return ew.negative(ew.mul(seed, quotient_rounding(ew.divide(x, y))))
    return rule


MOD = ew.define("mod", 2, np.remainder, S.mod, kind=ew.NUMBER, symbol="%", partial=_remainder_partial(ew.floor))
FMOD = ew.define("fmod", 2, np.fmod, S.fmod, kind=ew.NUMBER, partial=_remainder_partial(_trunc))
FLOORDIV = ew.define("floor_divide", 2, np.floor_divide, S.floor_divide, kind=ew.NUMBER, differentiable=False,
                     symbol="//")
AND = ew.define("bitwise_and", 2, np.bitwise_and, S.bitwise_and, kind=ew.INTEGER, differentiable=False, symbol="&")
OR = ew.define("bitwise_or", 2, np.bitwise_or, S.bitwise_or, kind=ew.INTEGER, differentiable=False, symbol="|")
XOR = ew.define("bitwise_xor", 2, np.bitwise_xor, S.bitwise_xor, kind=ew.INTEGER, differentiable=False, symbol="^")
NOT = ew.define("bitwise_not", 1, np.bitwise_not, S.bitwise_not, kind=ew.INTEGER, differentiable=False, symbol="~")
LSHIFT = ew.define("left_shift", 2, np.left_shift, S.left_shift, kind=ew.INTEGER, differentiable=False,
                   symbol="<<")
RSHIFT = ew.define("right_shift", 2, np.right_shift, S.right_shift, kind=ew.INTEGER, differentiable=False,
                   symbol=">>")

Mod = type(MOD)
Fmod = type(FMOD)
FloorDivide = type(FLOORDIV)
BitwiseAnd = type(AND)
BitwiseOr = type(OR)
BitwiseXor = type(XOR)
BitwiseNot = type(NOT)
LeftShift = type(LSHIFT)
RightShift = type(RSHIFT)


def _logical(a: Any, b: Any) -> bool:
    """Both operands bool: the bitwise op is the logical one."""
    return all(t.dtype == "bool" for t in as_tensors(a, b))


def mod(x, y) -> Tensor:
    """The remainder with the sign of `y` (Python's %, np.remainder); integer y = 0 gives 0."""
    return ew.apply(MOD, x, y)


def fmod(x, y) -> Tensor:
    """The remainder with the sign of `x` (C's fmod, np.fmod); integer y = 0 gives 0."""
    return ew.apply(FMOD, x, y)


def floor_divide(x, y) -> Tensor:
    """floor(x / y) (Python's //, np.floor_divide); integer y = 0 gives 0. No gradient."""
    return ew.apply(FLOORDIV, x, y)


def bitwise_and(a, b) -> Tensor:
    """a & b for integers; logical and for bools."""
    return ew.logical_and(a, b) if _logical(a, b) else ew.apply(AND, a, b)


def bitwise_or(a, b) -> Tensor:
    """a | b for integers; logical or for bools."""
    return ew.logical_or(a, b) if _logical(a, b) else ew.apply(OR, a, b)


def bitwise_xor(a, b) -> Tensor:
    """a ^ b for integers; a != b for bools."""
    return ew.not_equal(a, b) if _logical(a, b) else ew.apply(XOR, a, b)


def bitwise_not(x) -> Tensor:
    """~x for integers (two's complement: -x - 1 for signed); logical not for bools."""
    (t,) = as_tensors(x)
    return ew.logical_not(t) if t.dtype == "bool" else ew.apply(NOT, t)


def left_shift(x, n) -> Tensor:
    """x << n, wrapping; 0 where n < 0 or n >= the width in bits."""
    return ew.apply(LSHIFT, x, n)


def right_shift(x, n) -> Tensor:
    """x >> n: arithmetic for signed x, logical for unsigned; n < 0 or >= the width: -1 or 0 by x's sign."""
    return ew.apply(RSHIFT, x, n)

