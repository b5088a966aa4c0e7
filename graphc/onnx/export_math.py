"""Functions written accurately in ONNX ops: log1p and expm1 (which ONNX lacks), and float64 forms of what
onnxruntime has float32 kernels for only.

onnxruntime (1.32) refuses to load a model with a float64 Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh,
Acosh, Atanh or Erf. Export writes these instead, each accurate to a few ulp of float64 over the whole
domain: tan as sin / cos; the hyperbolic functions and their inverses through exp, the accurate
`log1p`/`expm1` forms and sqrt (log(2x) beyond 1e150, where x² overflows); atan from onnxruntime's
float32 atan refined by two Newton steps on sin(y) - x cos(y) = 0 (each doubles the correct digits),
asin and acos through it; erf as graphc's LLVM backend computes it (vmath.py): its Taylor series
near 0, and beyond, 1 - t exp(-x² + P(t)) with P a Chebyshev series in t = 2 / (2 + |x|).
"""
from __future__ import annotations

import math
from typing import Callable

from ..backends.llvm.vmath import ERF_SPLIT, T_MAX, erfc_chebyshev
from ..ops import elementwise as ew
from .emitter import Emitter, onnx_dtype

def log1p(e: Emitter, x: str, dtype: str) -> str:
    """log(1 + x) accurate near 0 (Goldberg): x log(u) / (u - 1) with u = 1 + x rounded, x where u == 1;
    +inf stays +inf."""
    one = e.scalar(1, dtype)
    u = e.op("Add", [x, one])
    ratio = e.op("Div", [e.op("Mul", [x, e.op("Log", [u])]), e.op("Sub", [u, one])])
    y = e.op("Where", [e.op("Equal", [u, one]), x, ratio])
    return e.op("Where", [e.op("IsInf", [x], detect_negative=0), x, y], hint="log1p")


def expm1(e: Emitter, x: str, dtype: str) -> str:
    """exp(x) - 1 accurate near 0 (Kahan): (u - 1) x / log(u) with u = exp(x) rounded, x where u == 1; plain
    u - 1 for |x| >= 1/2, where it does not cancel (and the product would overflow)."""
    one = e.scalar(1, dtype)
    u = e.op("Exp", [x])
    um1 = e.op("Sub", [u, one])
    y = e.op("Div", [e.op("Mul", [um1, x]), e.op("Log", [u])])
    y = e.op("Where", [e.op("Equal", [u, one]), x, y])
    return e.op("Where", [e.op("Less", [e.op("Abs", [x]), e.scalar(0.5, dtype)]), y, um1], hint="expm1")


F64 = "float64"
#: beyond this, x² overflows float64 and asinh(x) = acosh(x) = log(2x) to the last bit
HUGE = 1e150


def _c(e: Emitter, v: float) -> str:
    return e.scalar(v, F64)


def _odd(e: Emitter, x: str, magnitude: Callable[[str], str]) -> str:
    """f(x) = sign(x) f(|x|) for an odd f given on |x|."""
    s = magnitude(e.op("Abs", [x]))
    return e.op("Where", [e.op("Less", [x, _c(e, 0)]), e.op("Neg", [s]), s])


def tan(e: Emitter, x: str) -> str:
    return e.op("Div", [e.op("Sin", [x]), e.op("Cos", [x])], hint="tan")


def sinh(e: Emitter, x: str) -> str:
    """(m + m / (m + 1)) / 2 with m = expm1(|x|): no cancellation near 0; inf where m overflows."""
    def magnitude(a: str) -> str:
        m = expm1(e, a, F64)
        s = e.op("Mul", [_c(e, 0.5), e.op("Add", [m, e.op("Div", [m, e.op("Add", [m, _c(e, 1)])])])])
        return e.op("Where", [e.op("IsInf", [m]), m, s])
    return _odd(e, x, magnitude)


def cosh(e: Emitter, x: str) -> str:
    u = e.op("Exp", [e.op("Abs", [x])])
    return e.op("Add", [e.op("Mul", [_c(e, 0.5), u]), e.op("Div", [_c(e, 0.5), u])], hint="cosh")


def _log2x(e: Emitter, a: str) -> str:
    return e.op("Add", [e.op("Log", [a]), _c(e, math.log(2))])


def asinh(e: Emitter, x: str) -> str:
    """log1p(a + a² / (1 + sqrt(1 + a²))) for a = |x|."""
    def magnitude(a: str) -> str:
        a2 = e.op("Mul", [a, a])
        root = e.op("Sqrt", [e.op("Add", [a2, _c(e, 1)])])
        inner = e.op("Add", [a, e.op("Div", [a2, e.op("Add", [_c(e, 1), root])])])
        return e.op("Where", [e.op("Greater", [a, _c(e, HUGE)]), _log2x(e, a), log1p(e, inner, F64)])
    return _odd(e, x, magnitude)


def acosh(e: Emitter, x: str) -> str:
    """log1p(t + sqrt(2t + t²)) for t = x - 1 (nan below 1, as the square root of a negative)."""
    t = e.op("Sub", [x, _c(e, 1)])
    root = e.op("Sqrt", [e.op("Mul", [t, e.op("Add", [t, _c(e, 2)])])])
    near = log1p(e, e.op("Add", [t, root]), F64)
    y = e.op("Where", [e.op("Greater", [x, _c(e, HUGE)]), _log2x(e, x), near])
    return e.op("Where", [e.op("Less", [x, _c(e, 1)]), _c(e, math.nan), y], hint="acosh")  # t (t + 2) overflows


def atanh(e: Emitter, x: str) -> str:
    """log1p(2a / (1 - a)) / 2 for a = |x| (inf at 1, nan beyond)."""
    def magnitude(a: str) -> str:
        ratio = e.op("Div", [e.op("Add", [a, a]), e.op("Sub", [_c(e, 1), a])])
        return e.op("Mul", [_c(e, 0.5), log1p(e, ratio, F64)])
    return _odd(e, x, magnitude)


def atan(e: Emitter, x: str) -> str:
    """y0 = float32 atan(x), then y <- y - f(y) / f'(y) twice for f(y) = sin y - x cos y; +-pi/2 at +-inf."""
    y = e.op("Cast", [e.op("Atan", [e.op("Cast", [x], to=onnx_dtype("float32"))])], to=onnx_dtype(F64))
    for _ in range(2):
        s, c = e.op("Sin", [y]), e.op("Cos", [y])
        f = e.op("Sub", [s, e.op("Mul", [x, c])])
        df = e.op("Add", [c, e.op("Mul", [x, s])])
        y = e.op("Sub", [y, e.op("Div", [f, df])])
    edge = e.op("Mul", [e.op("Sign", [x]), _c(e, math.pi / 2)])
    return e.op("Where", [e.op("IsInf", [x]), edge, y], hint="atan")


def asin(e: Emitter, x: str) -> str:
    """atan(x / sqrt((1 - x)(1 + x))): +-pi/2 at +-1, nan beyond."""
    one = _c(e, 1)
    den = e.op("Sqrt", [e.op("Mul", [e.op("Sub", [one, x]), e.op("Add", [one, x])])])
    return atan(e, e.op("Div", [x, den]))


def acos(e: Emitter, x: str) -> str:
    """2 atan(sqrt((1 - x) / (1 + x))): pi at -1, nan beyond [-1, 1]."""
    one = _c(e, 1)
    ratio = e.op("Div", [e.op("Sub", [one, x]), e.op("Add", [one, x])])
    return e.op("Mul", [_c(e, 2), atan(e, e.op("Sqrt", [ratio]))], hint="acos")


def erf(e: Emitter, x: str) -> str:
    """The Taylor series x Q(x²) for |x| <= 3/4, else sign(x) (1 - t exp(-a² + P(t))), t = 2 / (2 + a)."""
    x2 = e.op("Mul", [x, x])
    series = [2 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(16)]
    acc = _c(e, series[-1])
    for k in reversed(series[:-1]):
        acc = e.op("Add", [e.op("Mul", [acc, x2]), _c(e, k)])
    small = e.op("Mul", [x, acc])
    a = e.op("Max", [e.op("Min", [e.op("Abs", [x]), _c(e, 6.0)]), _c(e, ERF_SPLIT)])  # erf is 1 beyond 6
    t = e.op("Div", [_c(e, 2), e.op("Add", [a, _c(e, 2)])])
    s = e.op("Sub", [e.op("Mul", [t, _c(e, 2 / T_MAX)]), _c(e, 1)])  # t mapped to [-1, 1]
    coeffs = erfc_chebyshev(1e-18)
    s2 = e.op("Mul", [s, _c(e, 2)])
    b1, b2 = _c(e, 0), _c(e, 0)
    for ck in reversed(coeffs[1:]):  # Clenshaw's recurrence
        b1, b2 = e.op("Sub", [e.op("Add", [e.op("Mul", [s2, b1]), _c(e, ck)]), b2]), b1
    p = e.op("Sub", [e.op("Add", [e.op("Mul", [s, b1]), _c(e, coeffs[0] / 2)]), b2])
    tail = e.op("Mul", [t, e.op("Exp", [e.op("Sub", [p, e.op("Mul", [a, a])])])])
    big = e.op("Mul", [e.op("Sign", [x]), e.op("Sub", [_c(e, 1), tail])])
    near = e.op("LessOrEqual", [e.op("Abs", [x]), _c(e, ERF_SPLIT)])
    out = e.op("Where", [near, small, big])
    return e.op("Where", [e.op("IsNaN", [x]), x, out], hint="erf")


#: op class -> its float64 form
FORMS: dict[type, Callable[[Emitter, str], str]] = {
    ew.Tan: tan, ew.Sinh: sinh, ew.Cosh: cosh, ew.Asinh: asinh, ew.Acosh: acosh, ew.Atanh: atanh, ew.Atan: atan,
    ew.Asin: asin, ew.Acos: acos, ew.Erf: erf,
}
