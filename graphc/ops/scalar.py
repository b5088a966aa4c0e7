"""The scalar language of kernel bodies: a closed set of primitives, and opaque functions over them.

A fused kernel's body is a SymPy expression of its inputs. Code generators know
only the primitives (`PRIMITIVES`): SymPy's arithmetic, Max/Min/Abs/sign,
Piecewise, comparisons and logic, exp/log/tanh/erf, the trigonometric and
hyperbolic functions and their inverses, floor/ceiling, and the named
primitives here: `log1p`, `expm1`, `rint` and `trunc` (SymPy has no
unevaluated form of them), `to_float16`/`to_bfloat16` (the per-op rounding of
16-bit float kernels), and mod, fmod, floor_divide, the bitwise ops and shifts (named as
NumPy's). A function whose plain formula is unstable (sigmoid overflows as
1/(1 + e^-x) written naively, softplus as log(1 + e^x)) is an `Opaque`
subclass: SymPy's simplification cannot see through it while fusion builds a
body, and a code generator emits its `expansion`, the stable form written in
primitives (and other opaque functions). An op's stable scalar form is then
one definition, beside the op, and every backend derives its code from it.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import sympy as sp


class log1p(sp.Function):  # lowercase, as SymPy names its functions
    """log(1 + x), accurate near 0 (a primitive: printers emit it as such)."""

    nargs = 1


class expm1(sp.Function):
    """exp(x) - 1, accurate near 0 (a primitive: printers emit it as such)."""

    nargs = 1


class rint(sp.Function):
    """x rounded to the nearest integer, ties to even (IEEE's roundeven, NumPy's rint, ONNX's Round)."""

    nargs = 1


class trunc(sp.Function):
    """x rounded toward zero (C's trunc)."""

    nargs = 1


class to_float16(sp.Function):
    """x rounded to float16 (nearest even) and read back: a 16-bit float op's result inside a fused
    kernel, which computes in float32, so that every op rounds once as it does alone (a primitive)."""

    nargs = 1
    is_real = True


class to_bfloat16(sp.Function):
    """x rounded to bfloat16 (nearest even) and read back (a primitive)."""

    nargs = 1
    is_real = True


class _Integral(sp.Function):
    """A primitive of integer (or, for mod/fmod, also float) arithmetic that SymPy leaves alone; named
    as NumPy's function of the same meaning, which the NumPy reference prints it as."""

    is_real = True


class mod(_Integral):
    """x - floor(x / y) y: the sign of the divisor (Python's %, np.remainder); 0 where an integer y is 0."""

    nargs = 2


class fmod(_Integral):
    """x - trunc(x / y) y: the sign of the dividend (C's fmod, np.fmod); 0 where an integer y is 0."""

    nargs = 2


class floor_divide(_Integral):
    """floor(x / y) (Python's //, np.floor_divide): x = floor_divide(x, y) y + mod(x, y); 0 where an
    integer y is 0."""

    nargs = 2


class bitwise_and(_Integral):
    nargs = 2


class bitwise_or(_Integral):
    nargs = 2


class bitwise_xor(_Integral):
    nargs = 2


class bitwise_not(_Integral):
    nargs = 1


class left_shift(_Integral):
    """x << n; 0 where n is negative or at least the width (NumPy's rule)."""

    nargs = 2


class right_shift(_Integral):
    """x >> n: arithmetic for signed, logical for unsigned x; where n is negative or at least the width,
    -1 for negative x and 0 otherwise (NumPy's rule)."""

    nargs = 2


#: a 16-bit float dtype -> the primitive that rounds a value to it
ROUNDING = {"float16": to_float16, "bfloat16": to_bfloat16}


class Opaque(sp.Function):
    """A scalar function with a stable `expansion` in primitives, which SymPy never evaluates.

    Subclass it and write `expansion` as a staticmethod of the arguments; the class name is the
    function's name in printed bodies (lowercase, as SymPy's functions are). Code generators emit the
    expansion (`expanded`), so a new one needs no backend code.
    """

    @staticmethod
    def expansion(*args: sp.Basic) -> sp.Basic:
        """The function's value in primitives (and other opaque functions), written to be stable."""
        raise NotImplementedError

    @classmethod
    @lru_cache(maxsize=None)
    def template(cls, n: int) -> tuple[tuple[sp.Dummy, ...], sp.Basic]:
        """(stand-ins, expansion over them): built once per function, where nothing can cancel."""
        xs = tuple(sp.Dummy(f"x{i}", real=True) for i in range(n))
        return xs, cls.expansion(*xs)

    def expanded(self) -> sp.Basic:
        """This application's expansion (evaluated over its arguments: for keys and display, not codegen)."""
        xs, body = self.template(len(self.args))
        return body.xreplace(dict(zip(xs, self.args)))

    def _numpycode(self, printer: Any) -> str:
        """NumPy code: a call where the printer knows the function (graphc's ops lend theirs), else the
        expansion."""
        if type(self).__name__ in getattr(printer, "known_functions", {}):
            return printer._print_Function(self)
        return printer._print(self.expanded())


class sigmoid(Opaque):
    """1 / (1 + exp(-x)): exp(-x) overflows to inf for very negative x, giving exactly 0, never NaN."""

    nargs = 1

    @staticmethod
    def expansion(x: sp.Basic) -> sp.Basic:
        return 1 / (1 + sp.exp(-x))


class softplus(Opaque):
    """log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)): never overflows."""

    nargs = 1

    @staticmethod
    def expansion(x: sp.Basic) -> sp.Basic:
        return sp.Max(x, 0) + log1p(sp.exp(-sp.Abs(x)))


#: The SymPy types a kernel body may hold besides symbols, numbers and `Opaque` functions: what every
#: code generator implements.
PRIMITIVES: tuple[type, ...] = (
    sp.Add, sp.Mul, sp.Pow, sp.Max, sp.Min, sp.Abs, sp.sign, sp.Piecewise,
    sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan, sp.GreaterThan, sp.Equality, sp.Unequality,
    sp.And, sp.Or, sp.Not,
    sp.exp, sp.log, sp.sin, sp.cos, sp.tan, sp.asin, sp.acos, sp.atan, sp.atan2,
    sp.sinh, sp.cosh, sp.tanh, sp.asinh, sp.acosh, sp.atanh, sp.erf,
    sp.floor, sp.ceiling, log1p, expm1, rint, trunc, to_float16, to_bfloat16,
    mod, fmod, floor_divide, bitwise_and, bitwise_or, bitwise_xor, bitwise_not, left_shift, right_shift,
)


def unknown(body: sp.Basic) -> set[type]:
    """The function types in `body` (opaque expansions included) that are not primitives: empty when
    every code generator can emit it."""
    found: set[type] = set()
    for e in sp.preorder_traversal(body):
        if isinstance(e, Opaque):
            found |= unknown(e.template(len(e.args))[1])
        elif e.args and not isinstance(e, (*PRIMITIVES, sp.logic.boolalg.BooleanAtom)):
            if not isinstance(e, sp.functions.elementary.piecewise.ExprCondPair):
                found.add(type(e))
    return found
