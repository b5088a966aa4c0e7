"""exp, expm1, log, log1p, tanh and erf as inline, branch-free LLVM IR, so loops using them vectorize.

A libm call (`expf`) is opaque to the loop vectorizer and keeps its loop
scalar; these are plain arithmetic, bit operations and selects, which become
AVX-512 code. exp and expm1: Cody-Waite reduction x = n ln2 + r (ln2 in two
parts, fused multiply-adds), a Taylor polynomial for expm1(r), and 2**n built
from exponent bits in two halves, so overflow gives inf and subnormal results
round once. log: the exponent is split off so the mantissa m lies in
[sqrt(1/2), sqrt(2)), then log(m) = f - f²/2 + s (f²/2 + R(s²)) with f = m - 1,
s = f / (2 + f) (fdlibm's form; R is the atanh series). log1p: log(1 + x)
corrected for the rounding of 1 + x. tanh: expm1(2|x|) / (expm1(2|x|) + 2)
with x's sign, so it stays accurate near 0. erf: see `VMath.erf`. Special
values (nan, +-inf, +-0, subnormals) follow NumPy. Accuracy
(tests/test_llvm_kernels.py): float32 <= 2 ulp, float64 <= 4 ulp.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from llvmlite import ir

from .irtypes import F32, I32, I64, intrinsic


@dataclass(frozen=True)
class Format:
    """The constants of one float type."""

    itype: ir.IntType
    mant: int  # explicit mantissa bits
    ln2: tuple[float, float]  # ln 2 = hi + lo, hi with trailing zero bits (n * hi is exact)
    exp_terms: int  # degree of the Taylor polynomial of expm1(r), |r| <= ln2 / 2
    log_terms: int  # powers of s² in R(s²)
    exp_range: tuple[float, float]  # exp(x) rounds to 0 below and overflows above: clamping there is exact
    big: float  # expm1(x) is exp(x) (in this precision) above `big`, and -1 below -big

    @property
    def bias(self) -> int:
        return (1 << (self.itype.width - self.mant - 2)) - 1


FORMATS = {
    "float": Format(I32, 23, (6.9314575195e-01, 1.4286067653e-06), 8, 4, (-104.0, 89.0), 20.0),
    "double": Format(I64, 52, (6.93147180369123816490e-01, 1.90821492927058770002e-10), 13, 10,
                     (-746.0, 710.0), 40.0),
}
LOG2E = 1.4426950408889634


class VMath:
    """Emits the functions at the builder's position for values of one float type."""

    def __init__(self, b: ir.IRBuilder, ftype: ir.Type):
        self.b, self.ftype = b, ftype
        self.fmt = FORMATS[str(ftype)]
        self.suffix = "f32" if ftype == F32 else "f64"

    # -- helpers ----------------------------------------------------------------------------

    def c(self, x: float) -> ir.Constant:
        return ir.Constant(self.ftype, float(x))

    def i(self, n: int) -> ir.Constant:
        return ir.Constant(self.fmt.itype, n)

    def intr(self, stem: str, *args: ir.Value) -> ir.Value:
        fn = intrinsic(self.b.module, f"llvm.{stem}.{self.suffix}", self.ftype, [self.ftype] * len(args))
        return self.b.call(fn, list(args))

    def fma(self, a: ir.Value, b: ir.Value, c: ir.Value) -> ir.Value:
        return self.intr("fma", a, b, c)

    def clamp(self, x: ir.Value, lo: float, hi: float) -> ir.Value:
        """Into [lo, hi]; NaN becomes lo (callers restore it with `keep_nan`)."""
        return self.intr("maxnum", self.intr("minnum", x, self.c(hi)), self.c(lo))

    def keep_nan(self, x: ir.Value, result: ir.Value) -> ir.Value:
        return self.b.select(self.b.fcmp_unordered("uno", x, x), x, result)

    def horner(self, x: ir.Value, coeffs: list[float]) -> ir.Value:
        """coeffs[0] + coeffs[1] x + ... by fused multiply-adds."""
        acc = self.c(coeffs[-1])
        for k in reversed(coeffs[:-1]):
            acc = self.fma(acc, x, self.c(k))
        return acc

    def pow2(self, n: ir.Value) -> ir.Value:
        """2**n for an integer n in the normal exponent range."""
        bits = self.b.shl(self.b.add(n, self.i(self.fmt.bias)), self.i(self.fmt.mant))
        return self.b.bitcast(bits, self.ftype)

    # -- exp family -------------------------------------------------------------------------

    def _reduce(self, x: ir.Value) -> tuple[ir.Value, ir.Value]:
        """(n, p): x = n ln2 + r with |r| <= ln2/2 (n an integer), p = expm1(r)."""
        b, (hi, lo) = self.b, self.fmt.ln2
        nf = self.intr("rint", b.fmul(x, self.c(LOG2E)))
        r = self.fma(b.fneg(nf), self.c(lo), self.fma(b.fneg(nf), self.c(hi), x))
        tail = self.horner(r, [1 / math.factorial(k) for k in range(2, self.fmt.exp_terms + 1)])
        p = self.fma(b.fmul(r, r), tail, r)  # r + r²/2 + ...: the leading r is exact
        return b.fptosi(nf, self.fmt.itype), p

    def exp(self, x: ir.Value) -> ir.Value:
        """exp(x); below the range (where it rounds to +0, e.g. a mask's -inf) the last product scales by 1 and the
        lane selects 0: computing the underflow itself makes a subnormal product, which costs a microcode assist
        on CPUs without flush-to-zero (a causally masked softmax ran 3.5x slower)."""
        b = self.b
        lo, hi = self.fmt.exp_range
        zero = b.fcmp_ordered("<", x, self.c(lo))
        n, p = self._reduce(self.clamp(x, lo, hi))
        n = b.select(zero, self.i(0), n)  # 2**n = 1: no product underflows
        n1 = b.ashr(n, self.i(1))
        s1, s2 = self.pow2(n1), self.pow2(b.sub(n, n1))
        return self.keep_nan(x, b.select(zero, self.c(0), b.fmul(self.fma(p, s1, s1), s2)))

    def _expm1_within(self, x: ir.Value) -> ir.Value:
        """2**n p + (2**n - 1) for x clamped to [-big, big] (2**n - 1 is exact or negligible there)."""
        big = self.fmt.big
        n, p = self._reduce(self.clamp(x, -big, big))
        s = self.pow2(n)
        return self.fma(s, p, self.b.fsub(s, self.c(1)))

    def expm1(self, x: ir.Value) -> ir.Value:
        b = self.b
        y = b.select(b.fcmp_ordered(">", x, self.c(self.fmt.big)), self.exp(x), self._expm1_within(x))
        y = b.select(b.fcmp_ordered("==", x, self.c(0)), x, y)  # keeps -0
        return self.keep_nan(x, y)

    def tanh(self, x: ir.Value) -> ir.Value:
        b = self.b
        a = self.intr("minnum", self.intr("fabs", x), self.c(self.fmt.big / 2))  # tanh is +-1 beyond
        t = self._expm1_within(b.fmul(a, self.c(2)))
        y = self.intr("copysign", b.fdiv(t, b.fadd(t, self.c(2))), x)
        return self.keep_nan(x, y)

    # -- log family -------------------------------------------------------------------------

    def _log_positive(self, x: ir.Value) -> ir.Value:
        """log(x) for finite x > 0 (subnormals scaled up first); other inputs give garbage."""
        b, fmt = self.b, self.fmt
        w, m = fmt.itype.width, fmt.mant
        tiny = b.fcmp_ordered("<", x, self.c(2.0 ** (1 - fmt.bias)))
        x = b.select(tiny, b.fmul(x, self.c(2.0 ** (m + 2))), x)
        bits = b.bitcast(x, fmt.itype)
        # musl's trick: offset the bits so the exponent field rounds at sqrt(2), not 2
        one = (fmt.bias << m)
        sqrt_half = 0x3F3504F3 if w == 32 else 0x3FE6A09E667F3BCD
        shifted = b.add(bits, self.i(one - sqrt_half))
        k = b.sub(b.lshr(shifted, self.i(m)), self.i(fmt.bias))
        k = b.select(tiny, b.sub(k, self.i(m + 2)), k)
        mbits = b.add(b.and_(shifted, self.i((1 << m) - 1)), self.i(sqrt_half))
        f = b.fsub(b.bitcast(mbits, self.ftype), self.c(1))
        s = b.fdiv(f, b.fadd(f, self.c(2)))
        z = b.fmul(s, s)
        r = b.fmul(z, self.horner(z, [2 / (2 * j + 1) for j in range(1, fmt.log_terms + 1)]))
        hfsq = b.fmul(self.c(0.5), b.fmul(f, f))
        dk = b.sitofp(k, self.ftype)
        hi, lo = fmt.ln2
        tail = self.fma(dk, self.c(lo), b.fmul(s, b.fadd(hfsq, r)))
        return self.fma(dk, self.c(hi), b.fsub(f, b.fsub(hfsq, tail)))

    def _log_specials(self, x: ir.Value, y: ir.Value) -> ir.Value:
        """log's value at 0 (-inf), below 0 (nan), +inf and nan."""
        b = self.b
        y = b.select(b.fcmp_ordered("==", x, self.c(float("inf"))), x, y)
        y = b.select(b.fcmp_unordered("<", x, self.c(0)), self.c(float("nan")), y)
        return b.select(b.fcmp_ordered("==", x, self.c(0)), self.c(float("-inf")), y)

    def log(self, x: ir.Value) -> ir.Value:
        return self._log_specials(x, self._log_positive(x))

    def log1p(self, x: ir.Value) -> ir.Value:
        """log(u) - ((u - 1) - x) / u with u = 1 + x (u - 1 - x is the rounding error of u); x where u == 1."""
        b = self.b
        u = b.fadd(x, self.c(1))
        y = b.fsub(self._log_positive(u), b.fdiv(b.fsub(b.fsub(u, self.c(1)), x), u))
        y = b.select(b.fcmp_ordered("==", u, self.c(1)), x, y)
        return self._log_specials(u, y)


    # -- erf --------------------------------------------------------------------------------

    def erf(self, x: ir.Value) -> ir.Value:
        """x Q(x²) (the Taylor series) for |x| <= 3/4; beyond, 1 - erfc(|x|) with x's sign.

        erfc(a) = t exp(-a² + P(t)), t = 2 / (2 + a) (Numerical Recipes' form): P is smooth on
        t in (0, 8/11], a Chebyshev series summed by Clenshaw's recurrence.
        """
        b, wide = self.b, self.fmt.itype.width == 64
        a = self.intr("fabs", x)
        series = [2 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1))
                  for n in range(16 if wide else 9)]
        small = b.fmul(x, self.horner(b.fmul(x, x), series))
        ac = self.clamp(a, ERF_SPLIT, 6.0 if wide else 4.0)  # erf rounds to 1 beyond
        t = b.fdiv(self.c(2), b.fadd(ac, self.c(2)))
        s = self.fma(t, self.c(2 / T_MAX), self.c(-1))  # t mapped to [-1, 1]
        p = self.clenshaw(s, erfc_chebyshev(1e-18 if wide else 1e-9))
        tail = b.fmul(t, self.exp(self.fma(b.fneg(ac), ac, p)))
        big = self.intr("copysign", b.fsub(self.c(1), tail), x)
        return self.keep_nan(x, b.select(b.fcmp_ordered("<=", a, self.c(ERF_SPLIT)), small, big))

    def clenshaw(self, s: ir.Value, coeffs: list[float]) -> ir.Value:
        """sum c_k T_k(s) (c_0 counted half)."""
        b = self.b
        s2 = b.fmul(s, self.c(2))
        b1, b2 = self.c(0), self.c(0)
        for ck in reversed(coeffs[1:]):
            b1, b2 = b.fsub(self.fma(s2, b1, self.c(ck)), b2), b1
        return b.fsub(self.fma(s, b1, self.c(coeffs[0] / 2)), b2)


ERF_SPLIT = 0.75
T_MAX = 2 / (2 + ERF_SPLIT)


@lru_cache(maxsize=None)
def erfc_chebyshev(tol: float) -> list[float]:
    """Chebyshev coefficients in s of P(t) = log(erfc(a) / t) + a², a = 2/t - 2, t = (s + 1) T_MAX / 2.

    Computed once with mpmath at 40 digits from 48 Chebyshev nodes; the series is cut where the
    coefficients drop below `tol`.
    """
    import mpmath
    with mpmath.workdps(40):
        def p(s: mpmath.mpf) -> mpmath.mpf:
            t = (s + 1) * mpmath.mpf(T_MAX) / 2
            a = 2 / t - 2
            return mpmath.log(mpmath.erfc(a) / t) + a * a
        n = 48
        nodes = [mpmath.cos(mpmath.pi * (k + mpmath.mpf(0.5)) / n) for k in range(n)]
        values = [p(u) for u in nodes]
        coeffs = [2 * mpmath.fsum(v * mpmath.cos(mpmath.pi * j * (k + mpmath.mpf(0.5)) / n)
                                  for k, v in enumerate(values)) / n for j in range(n)]
    last = max(j for j, c in enumerate(coeffs) if abs(c) >= tol)
    return [float(c) for c in coeffs[:last + 1]]
