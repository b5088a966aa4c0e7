"""SymPy scalar bodies printed to LLVM IR.

Every value computes in its dtype's type: floats in the kernel's float compute
type, integers in their own width (so int64 arithmetic is exact and wraps like
NumPy's: no `nsw`), truth values in `i1`. A subexpression's type is that of its
operands (the ops of a fused group share one operand dtype; comparisons give
`i1`), and SymPy numbers take the type of the operands they meet. Values are
converted on demand (`convert`), so `where(x > 0, x, 0)` and `cast(x > 0, float)`
both work. Shared subtrees are emitted once (memoized per body), `lets` become
SSA values. The printer knows the primitives of `graphc.ops.scalar`; an `Opaque`
function (sigmoid, softplus, a user's) is emitted from its stable expansion, so a new one needs
no code here. exp/expm1/log/log1p/tanh/erf are inline arithmetic (vmath.py) so their loops vectorize;
the other transcendental functions (sin, tan, asin, sinh, asinh, ...) are libm calls.
"""
from __future__ import annotations

from typing import Callable, Sequence

import sympy as sp
from llvmlite import ir

from graphc.ops import scalar as S

from .irtypes import BF16, F16, F32, F64, I1, I32, BF16Type, Unsupported, float_width, intrinsic, is_unsigned
from .vmath import VMath

_CMP = {sp.StrictLessThan: "<", sp.LessThan: "<=", sp.StrictGreaterThan: ">", sp.GreaterThan: ">=",
        sp.Equality: "==", sp.Unequality: "!="}
#: SymPy function -> LLVM intrinsic stem (overloaded on the float type). Rounding is an instruction; the
#: trigonometric and hyperbolic ones become libm calls (accurate to an ulp, but their loops stay scalar)
_INTRINSICS = {sp.sin: "sin", sp.cos: "cos", sp.tan: "tan", sp.asin: "asin", sp.acos: "acos", sp.atan: "atan",
               sp.atan2: "atan2", sp.sinh: "sinh", sp.cosh: "cosh", sp.floor: "floor", sp.ceiling: "ceil",
               S.rint: "roundeven", S.trunc: "trunc"}
#: SymPy function -> C library function that LLVM has no intrinsic for (`asinhf` in float32)
_LIBM = {sp.asinh: "asinh", sp.acosh: "acosh", sp.atanh: "atanh"}
#: SymPy types whose value is a truth value (i1)
_TRUTHS = (sp.logic.boolalg.BooleanAtom, sp.core.relational.Relational, sp.And, sp.Or, sp.Not)


def is_int(t: ir.Type) -> bool:
    """An integer LLVM computes with (a stored bfloat16's 16 bits are not one)."""
    return isinstance(t, ir.IntType) and not isinstance(t, BF16Type)


def constant(t: ir.Type, value: int | float | bool) -> ir.Constant:
    """`value` as a constant of type t (an integer wraps to t's width, two's complement)."""
    if isinstance(t, BF16Type):
        raise Unsupported("a bfloat16 constant (bodies compute bfloat16 values in float32)")
    if not is_int(t):
        return ir.Constant(t, float(value))
    half = 1 << (t.width - 1)
    return ir.Constant(t, int(bool(value)) if t == I1 else (int(value) + half) % (2 * half) - half)


def convert(b: ir.IRBuilder, v: ir.Value, t: ir.Type) -> ir.Value:
    """v as type t, as NumPy casts where NumPy is defined: truth is != 0 (NaN is true), bools are 0/1,
    integers wrap (sign- or zero-extended by the source's signedness), 16-bit floats round to nearest
    even, once (as ml_dtypes rounds a double to bfloat16). Floats to integers truncate toward zero and saturate,
    NaN giving 0 (XLA's rule, `llvm.fpto[su]i.sat`; NumPy's result is unspecified there)."""
    s = v.type
    if s == t:
        return v
    if isinstance(s, BF16Type):
        return convert(b, _bf16_to_f32(b, v), t)
    if isinstance(t, BF16Type):
        return _f32_to_bf16(b, convert(b, v, F32) if s in (F16, F32) else _f32_rounded_to_odd(b, convert(b, v, F64)))
    if t == I1:
        return b.icmp_unsigned("!=", v, constant(s, 0)) if is_int(s) else b.fcmp_unordered("!=", v, constant(s, 0))
    if is_int(t) and is_int(s):
        if s.width > t.width:
            return b.trunc(v, t)
        if s.width == t.width:
            return b.bitcast(v, t)  # the same bits, read with the other signedness
        return b.zext(v, t) if s == I1 or is_unsigned(s) else b.sext(v, t)
    if is_int(t):
        how = "fptoui" if is_unsigned(t) else "fptosi"
        fn = intrinsic(b.module, f"llvm.{how}.sat.i{t.width}.f{float_width(s)}", t, [s])
        return b.call(fn, [v])
    if is_int(s):
        return b.uitofp(v, t) if s == I1 or is_unsigned(s) else b.sitofp(v, t)
    return b.fpext(v, t) if float_width(t) > float_width(s) else b.fptrunc(v, t)


def _bf16_to_f32(b: ir.IRBuilder, v: ir.Value) -> ir.Value:
    """A bfloat16's bits are the top half of the float32 of the same value."""
    return b.bitcast(b.shl(b.zext(v, I32), ir.Constant(I32, 16)), F32)


def _f32_rounded_to_odd(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    """A double as a float32 rounded to odd (toward zero, the last bit set if inexact): rounding that to
    bfloat16 then rounds the double once, as ml_dtypes does (float32's own rounding would round twice)."""
    r = b.fptrunc(x, F32)
    back = b.fpext(r, F64)
    inexact = b.fcmp_ordered("one", back, x)
    fabs = intrinsic(b.module, "llvm.fabs.f64", F64, [F64])
    away = b.and_(inexact, b.fcmp_ordered(">", b.call(fabs, [back]), b.call(fabs, [x])))
    bits = b.bitcast(r, I32)
    bits = b.select(away, b.sub(bits, ir.Constant(I32, 1)), bits)
    return b.bitcast(b.select(inexact, b.or_(bits, ir.Constant(I32, 1)), bits), F32)


def _f32_to_bf16(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    """float32 -> bfloat16 rounding to nearest even; a NaN becomes the quiet NaN of its sign (ml_dtypes)."""
    bits = b.bitcast(x, I32)
    top = b.lshr(bits, ir.Constant(I32, 16))
    odd = b.and_(top, ir.Constant(I32, 1))
    rounded = b.lshr(b.add(bits, b.add(ir.Constant(I32, 0x7FFF), odd)), ir.Constant(I32, 16))
    quiet = b.or_(b.and_(top, ir.Constant(I32, 0x8000)), ir.Constant(I32, 0x7FC0))
    nan = b.fcmp_unordered("uno", x, x)
    return b.trunc(b.select(nan, quiet, rounded), BF16Type(16))


#: SymPy's non-finite numbers as IEEE values (the float constants inf, -inf and nan become oo, -oo and
#: nan in a body; with fast math SymPy folds x / 0 into zoo * x, and IEEE's x / +0.0 is x * inf)
_NON_FINITE = {sp.oo: float("inf"), sp.S.NegativeInfinity: float("-inf"), sp.nan: float("nan"), sp.zoo: float("inf")}
#: SymPy function -> `VMath` method (inline, vectorizable)
_VMATH = {sp.exp: "exp", sp.log: "log", sp.tanh: "tanh", sp.erf: "erf", S.log1p: "log1p", S.expm1: "expm1"}


class ScalarPrinter:
    """Emits a body at the builder's position; `env` maps input symbols to values (of their own types)."""

    def __init__(self, b: ir.IRBuilder, ftype: ir.Type, env: dict[sp.Symbol, ir.Value]):
        self.b, self.ftype = b, ftype
        self.memo: dict[sp.Basic, ir.Value] = dict(env)
        self.types: dict[sp.Basic, ir.Type | None] = {}
        self.suffix = "f32" if ftype == F32 else "f64"
        self.vmath = VMath(b, ftype)

    def bind(self, lets: Sequence[tuple[sp.Symbol, sp.Expr]]) -> None:
        for sym, value in lets:
            self.memo[sym] = self.emit(value)

    def const(self, x: float) -> ir.Constant:
        return ir.Constant(self.ftype, float(x))

    def truth(self, v: ir.Value) -> ir.Value:
        return convert(self.b, v, I1)

    def call(self, stem: str, *args: ir.Value) -> ir.Value:
        fn = intrinsic(self.b.module, f"llvm.{stem}.{self.suffix}", self.ftype, [self.ftype] * len(args))
        return self.b.call(fn, list(args))

    def libm(self, name: str, *args: ir.Value) -> ir.Value:
        """A call of the C library function `name` (its float32 variant `namef` in float32)."""
        full = f"{name}f" if self.ftype == F32 else name
        return self.b.call(intrinsic(self.b.module, full, self.ftype, [self.ftype] * len(args)), list(args))

    def math(self, name: str, x: ir.Value) -> ir.Value:
        """A `VMath` function (exp, expm1, log, log1p, tanh) of a compute-type value."""
        return getattr(self.vmath, name)(x)

    def type_of(self, e: sp.Basic) -> ir.Type | None:
        """The type `e` computes in; None for a number, which takes the type of what it meets."""
        if e in self.memo:
            return self.memo[e].type
        if e not in self.types:
            self.types[e] = self._type_of(e)
        return self.types[e]

    def _type_of(self, e: sp.Basic) -> ir.Type | None:
        if isinstance(e, _TRUTHS):
            return I1
        if e.is_Number or e is sp.pi or e is sp.E:
            return None
        if isinstance(e, sp.Piecewise):
            return self.join([v for v, _ in e.args])
        if isinstance(e, sp.Pow):
            return self.ftype if e.base is sp.E else self.join([e.base])
        if isinstance(e, (sp.Add, sp.Mul, sp.Max, sp.Min, sp.Abs, sp.sign, S._Integral)):
            return self.join(e.args)
        return self.ftype  # transcendental and opaque functions

    def join(self, args: Sequence[sp.Basic]) -> ir.Type | None:
        """The type operands of one op compute in: the widest of theirs (floats above integers above i1)."""
        types = [t for t in map(self.type_of, args) if t is not None]
        return max(types, key=lambda t: (not is_int(t), getattr(t, "width", 0)), default=None)

    def emit_as(self, e: sp.Basic, t: ir.Type | None) -> ir.Value:
        """`e` as a value of type t (its own type, or the float type for a number, when t is None)."""
        t = t or self.type_of(e) or self.ftype
        if e in _NON_FINITE:
            if is_int(t):
                raise Unsupported(f"the non-finite constant {e} in an integer kernel body")
            return constant(t, _NON_FINITE[e])
        if e.is_Number or e is sp.pi or e is sp.E:
            if not e.is_real:
                raise Unsupported(f"non-real constant {e}")
            if is_int(t) and not e.is_Integer:
                raise Unsupported(f"the non-integer {e} in an integer kernel body")
            return constant(t, int(e) if e.is_Integer else float(e))
        return convert(self.b, self.emit(e), t)

    def operands(self, e: sp.Basic) -> list[ir.Value]:
        """e's arguments, each as the type they share."""
        t = self.join(e.args) or self.ftype
        return [self.emit_as(a, t) for a in e.args]

    def arith(self, name: str, x: ir.Value, y: ir.Value) -> ir.Value:
        """x (add|sub|mul) y: wrapping for integers, IEEE for floats."""
        return getattr(self.b, name if is_int(x.type) else f"f{name}")(x, y)

    def emit(self, e: sp.Basic) -> ir.Value:
        if e not in self.memo:
            self.memo[e] = self._emit(e)
        return self.memo[e]

    def _emit(self, e: sp.Basic) -> ir.Value:
        if e is sp.true or e is sp.false:
            return ir.Constant(I1, int(e is sp.true))
        if e.is_Number or e is sp.pi or e is sp.E:
            return self.emit_as(e, None)
        handler = _HANDLERS.get(type(e))
        if handler is not None:
            return handler(self, e, self.b)
        if type(e) in _VMATH:
            return self.math(_VMATH[type(e)], _arg(self, e.args[0]))
        if type(e) in _INTRINSICS:
            return self.call(_INTRINSICS[type(e)], *[_arg(self, a) for a in e.args])
        if type(e) in _LIBM:
            return self.libm(_LIBM[type(e)], *[_arg(self, a) for a in e.args])
        if isinstance(e, S.Opaque):
            return self.opaque(e)
        raise Unsupported(f"no LLVM lowering for {type(e).__name__} in a kernel body")

    def opaque(self, e: S.Opaque) -> ir.Value:
        """An opaque function's expansion, over its arguments as floats: printed from the function's
        template by a printer of its own (the template's stand-ins are the same objects in every
        call), so SymPy never rebuilds the expansion around the arguments (where it would simplify)."""
        stand_ins, body = e.template(len(e.args))
        inner = type(self)(self.b, self.ftype, {x: _arg(self, a) for x, a in zip(stand_ins, e.args)})
        return convert(self.b, inner.emit(body), self.ftype)


def _add(p: ScalarPrinter, e: sp.Add, b: ir.IRBuilder) -> ir.Value:
    vals = p.operands(e)
    acc = vals[0]
    for v in vals[1:]:
        acc = p.arith("add", acc, v)
    return acc


def _mul(p: ScalarPrinter, e: sp.Mul, b: ir.IRBuilder) -> ir.Value:
    """Factors with negative integer powers go to a denominator: x/y divides like NumPy does."""
    t = p.join(e.args) or p.ftype
    num, den, negate = [], [], False
    for a in e.args:
        if a.is_Pow and a.exp.is_Integer and a.exp < 0:
            den.append(p.emit_as(a.base ** -a.exp, t))
        elif a == -1:
            negate = not negate
        else:
            num.append(p.emit_as(a, t))
    acc = _product(p, num) if num else constant(t, 1)
    if den:
        if is_int(t):
            raise Unsupported(f"division in the integer kernel body {e}")
        acc = b.fdiv(acc, _product(p, den))
    return _negate(p, acc) if negate else acc


def _negate(p: ScalarPrinter, x: ir.Value) -> ir.Value:
    return p.b.neg(x) if is_int(x.type) else p.b.fneg(x)


def _product(p: ScalarPrinter, vals: list[ir.Value]) -> ir.Value:
    acc = vals[0]
    for v in vals[1:]:
        acc = p.arith("mul", acc, v)
    return acc


def _pow(p: ScalarPrinter, e: sp.Pow, b: ir.IRBuilder) -> ir.Value:
    base, ex = e.base, e.exp
    if base is sp.E:
        return p.math("exp", _arg(p, ex))
    x = p.emit(base)
    if is_int(x.type):
        if not (ex.is_Integer and ex >= 0):
            raise Unsupported(f"the power {e} of an integer")
        return _integer_power(p, x, int(ex)) if ex else constant(x.type, 1)
    x = _arg(p, base)
    if ex.is_Integer:
        n = abs(int(ex))
        acc = _integer_power(p, x, n) if n else p.const(1)
        return b.fdiv(p.const(1), acc) if ex < 0 else acc
    if ex.is_Rational and ex.q == 2:
        root = p.call("sqrt", x)
        acc = b.fmul(_integer_power(p, x, abs(int(ex.p)) // 2), root) if abs(ex.p) > 1 else root
        return b.fdiv(p.const(1), acc) if ex < 0 else acc
    return p.call("pow", x, _arg(p, ex))


def _integer_power(p: ScalarPrinter, x: ir.Value, n: int) -> ir.Value:
    """x**n by repeated squaring (n >= 1)."""
    result, square = None, x
    while n:
        if n & 1:
            result = square if result is None else p.arith("mul", result, square)
        n >>= 1
        if n:
            square = p.arith("mul", square, square)
    return result


def _extremum(stem: str) -> Callable:
    """Max/Min propagate NaN like np.maximum (llvm.maximum, not maxnum); integers by their signedness."""
    def emit(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
        vals = p.operands(e)
        acc = vals[0]
        for v in vals[1:]:
            acc = int_extremum(b, stem[:3], acc, v) if is_int(v.type) else p.call(stem, acc, v)
        return acc
    return emit


def int_extremum(b: ir.IRBuilder, which: str, x: ir.Value, y: ir.Value) -> ir.Value:
    """max or min of two integers (llvm.smax/smin, llvm.umax/umin for unsigned ones)."""
    sign = "u" if is_unsigned(x.type) else "s"
    fn = intrinsic(b.module, f"llvm.{sign}{which}.i{x.type.width}", x.type, [x.type, x.type])
    return b.call(fn, [x, y])


def _abs(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
    """|x|; the most negative integer stays itself (it wraps, as in NumPy)."""
    x = p.emit(e.args[0])
    if not is_int(x.type):
        return p.call("fabs", _arg(p, e.args[0]))
    if is_unsigned(x.type):
        return x
    return b.select(b.icmp_signed("<", x, constant(x.type, 0)), b.neg(x), x)


def _sign(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
    x = p.emit(e.args[0])
    t = x.type if is_int(x.type) else p.ftype
    x = convert(b, x, t)
    neg = b.select(_compare(b, "<", x, constant(t, 0)), constant(t, -1), x)
    return b.select(_compare(b, ">", x, constant(t, 0)), constant(t, 1), neg)


def _piecewise(p: ScalarPrinter, e: sp.Piecewise, b: ir.IRBuilder) -> ir.Value:
    if e.args[-1][1] is not sp.true:
        raise Unsupported("Piecewise without a default branch")
    t = p.type_of(e) or p.ftype
    pieces = [(p.emit_as(v, t), p.truth(p.emit(c))) for v, c in e.args]
    acc = pieces[-1][0]
    for v, c in reversed(pieces[:-1]):
        acc = b.select(c, v, acc)
    return acc


def _compare(b: ir.IRBuilder, op: str, lhs: ir.Value, rhs: ir.Value) -> ir.Value:
    """lhs (op) rhs as NumPy compares: integers by their signedness, bools as 0/1, NaN unequal to everything."""
    if lhs.type == I1 or is_unsigned(lhs.type):
        return b.icmp_unsigned(op, lhs, rhs)
    if is_int(lhs.type):
        return b.icmp_signed(op, lhs, rhs)
    return b.fcmp_unordered(op, lhs, rhs) if op == "!=" else b.fcmp_ordered(op, lhs, rhs)


def _relational(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
    lhs, rhs = p.operands(e)
    return _compare(b, _CMP[type(e)], lhs, rhs)


def _logic(op: str) -> Callable:
    def emit(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
        vals = [p.truth(p.emit(a)) for a in e.args]
        acc = vals[0]
        for v in vals[1:]:
            acc = b.and_(acc, v) if op == "and" else b.or_(acc, v)
        return acc
    return emit


def _not(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
    return b.not_(p.truth(p.emit(e.args[0])))


def _rounding(t: ir.Type) -> Callable:
    """to_float16 / to_bfloat16: the value stored as the 16-bit type and loaded back."""
    def emit(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
        return convert(b, convert(b, _arg(p, e.args[0]), t), p.ftype)
    return emit


def _remainder(python: bool) -> Callable:
    """mod (python: the divisor's sign, NumPy's npy_divmod) or fmod (the dividend's sign). Integers
    divided by 0 give 0, and MIN % -1 gives 0 (LLVM's srem would trap or be poison on both)."""
    def emit(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
        x, y = p.operands(e)
        t, zero = x.type, constant(x.type, 0)
        if not is_int(t):
            r = b.frem(x, y)
            if not python:
                return r
            y_neg, r_neg = b.fcmp_ordered("<", y, zero), b.fcmp_ordered("<", r, zero)
            moved = b.select(b.and_(b.fcmp_unordered("!=", r, zero), b.icmp_unsigned("!=", y_neg, r_neg)),
                             b.fadd(r, y), r)
            signed_zero = intrinsic(b.module, f"llvm.copysign.{p.suffix}", t, [t, t])
            return b.select(b.fcmp_ordered("==", r, zero), b.call(signed_zero, [zero, y]), moved)
        if t == I1:
            raise Unsupported("a remainder of bools")
        unsigned = is_unsigned(t)
        bad = b.icmp_unsigned("==", y, zero)
        if not unsigned:
            bad = b.or_(bad, b.icmp_signed("==", y, constant(t, -1)))  # x % -1 is 0: never MIN % -1
        safe = b.select(bad, constant(t, 1), y)
        r = b.urem(x, safe) if unsigned else b.srem(x, safe)
        r = b.select(bad, zero, r)
        if python and not unsigned:
            moved = b.and_(b.icmp_signed("!=", r, zero), b.icmp_signed("<", b.xor(r, y), zero))
            r = b.select(moved, b.add(r, y), r)
        return r
    return emit


def _floor_divide(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
    """x // y as NumPy: integers round the quotient down (0 where y is 0, MIN // -1 wraps to MIN);
    floats as npy_divmod, the exact quotient of x - fmod(x, y) moved down where the remainder's sign
    is not y's, then rounded to the nearest integer (x / y where y is 0)."""
    x, y = p.operands(e)
    t, zero = x.type, constant(x.type, 0)
    if not is_int(t):
        one = constant(t, 1)
        r = b.frem(x, y)
        div = b.fdiv(b.fsub(x, r), y)
        moved = b.and_(b.fcmp_unordered("!=", r, zero),
                       b.icmp_unsigned("!=", b.fcmp_ordered("<", y, zero), b.fcmp_ordered("<", r, zero)))
        div = b.select(moved, b.fsub(div, one), div)
        down = p.call("floor", div)
        near = b.select(b.fcmp_ordered(">", b.fsub(div, down), constant(t, 0.5)), b.fadd(down, one), down)
        signed_zero = intrinsic(b.module, f"llvm.copysign.{p.suffix}", t, [t, t])
        q = b.select(b.fcmp_unordered("!=", div, zero), near, b.call(signed_zero, [zero, b.fdiv(x, y)]))
        return b.select(b.fcmp_ordered("==", y, zero), b.fdiv(x, y), q)
    if t == I1:
        raise Unsupported("a floor division of bools")
    bad = b.icmp_unsigned("==", y, zero)
    if is_unsigned(t):
        return b.select(bad, zero, b.udiv(x, b.select(bad, constant(t, 1), y)))
    minus_one = b.icmp_signed("==", y, constant(t, -1))  # x // -1 is -x (wrapping): never sdiv MIN by -1
    safe = b.select(b.or_(bad, minus_one), constant(t, 1), y)
    q, r = b.sdiv(x, safe), b.srem(x, safe)
    q = b.select(b.and_(b.icmp_signed("!=", r, zero), b.icmp_signed("<", b.xor(r, safe), zero)),
                 b.sub(q, constant(t, 1)), q)
    return b.select(bad, zero, b.select(minus_one, b.neg(x), q))


def _bitwise(name: str) -> Callable:
    def emit(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
        vals = p.operands(e)
        if not is_int(vals[0].type):
            raise Unsupported(f"{type(e).__name__} of floats")
        if name == "not":
            return b.not_(vals[0])
        return getattr(b, name)(*vals)
    return emit


def _shift(left: bool) -> Callable:
    """NumPy's shifts: amounts outside [0, width) (compared unsigned, so negative ones too) give 0, or
    for a right shift of a signed value its sign (-1 or 0); LLVM's shifts would be poison there."""
    def emit(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
        x, n = p.operands(e)
        t = x.type
        if not is_int(t) or t == I1:
            raise Unsupported(f"{type(e).__name__} of {t}")
        width = constant(t, t.width)
        fits = b.icmp_unsigned("<", n, width)
        safe = b.select(fits, n, constant(t, 0))
        if left:
            return b.select(fits, b.shl(x, safe), constant(t, 0))
        if is_unsigned(t):
            return b.select(fits, b.lshr(x, safe), constant(t, 0))
        return b.select(fits, b.ashr(x, safe), b.ashr(x, constant(t, t.width - 1)))
    return emit


def _arg(p: ScalarPrinter, x: sp.Basic) -> ir.Value:
    """x as a float of the compute type (the argument of a float function)."""
    return p.emit_as(x, p.ftype)


_HANDLERS: dict = {
    sp.Add: _add, sp.Mul: _mul, sp.Pow: _pow, sp.Max: _extremum("maximum"), sp.Min: _extremum("minimum"),
    sp.Abs: _abs, sp.sign: _sign, sp.Piecewise: _piecewise, sp.And: _logic("and"), sp.Or: _logic("or"), sp.Not: _not,
    sp.StrictLessThan: _relational, sp.LessThan: _relational, sp.StrictGreaterThan: _relational,
    sp.GreaterThan: _relational, sp.Equality: _relational, sp.Unequality: _relational,
    S.to_float16: _rounding(F16), S.to_bfloat16: _rounding(BF16),
    S.mod: _remainder(python=True), S.fmod: _remainder(python=False), S.floor_divide: _floor_divide,
    S.bitwise_and: _bitwise("and_"), S.bitwise_or: _bitwise("or_"), S.bitwise_xor: _bitwise("xor"),
    S.bitwise_not: _bitwise("not"), S.left_shift: _shift(left=True), S.right_shift: _shift(left=False),
}
