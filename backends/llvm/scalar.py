"""SymPy scalar bodies printed to LLVM IR.

Numbers are floats of the kernel's compute type, truth values are `i1`; each
is converted on demand, so `where(x > 0, x, 0)` and `cast(x > 0, float)` both
work. Shared subtrees are emitted once (memoized per body), `lets` become SSA
values. The opaque kernel functions are written in their stable forms, and
exp/expm1/log/log1p/tanh/erf are inline arithmetic (vmath.py) so their loops vectorize.
"""
from __future__ import annotations

from typing import Callable, Sequence

import sympy as sp
from llvmlite import ir

from .codegen import F32, I1, Unsupported, intrinsic
from .vmath import VMath

_CMP = {sp.StrictLessThan: "<", sp.LessThan: "<=", sp.StrictGreaterThan: ">", sp.GreaterThan: ">=",
        sp.Equality: "=="}
#: SymPy function -> LLVM intrinsic stem (overloaded on the float type)
_INTRINSICS = {sp.sin: "sin", sp.cos: "cos", sp.floor: "floor", sp.Abs: "fabs"}
#: SymPy function -> `VMath` method (inline, vectorizable)
_VMATH = {sp.exp: "exp", sp.log: "log", sp.tanh: "tanh", sp.erf: "erf"}


class ScalarPrinter:
    """Emits a body at the builder's position; `env` maps input symbols to values."""

    def __init__(self, b: ir.IRBuilder, ftype: ir.Type, env: dict[sp.Symbol, ir.Value]):
        self.b, self.ftype = b, ftype
        self.memo: dict[sp.Basic, ir.Value] = dict(env)
        self.suffix = "f32" if ftype == F32 else "f64"
        self.vmath = VMath(b, ftype)

    def bind(self, lets: Sequence[tuple[sp.Symbol, sp.Expr]]) -> None:
        for sym, value in lets:
            self.memo[sym] = self.emit(value)

    def const(self, x: float) -> ir.Constant:
        return ir.Constant(self.ftype, float(x))

    def num(self, v: ir.Value) -> ir.Value:
        return self.b.uitofp(v, self.ftype) if v.type == I1 else v

    def truth(self, v: ir.Value) -> ir.Value:
        return v if v.type == I1 else self.b.fcmp_unordered("!=", v, self.const(0))

    def call(self, stem: str, *args: ir.Value) -> ir.Value:
        fn = intrinsic(self.b.module, f"llvm.{stem}.{self.suffix}", self.ftype, [self.ftype] * len(args))
        return self.b.call(fn, list(args))

    def math(self, name: str, x: ir.Value) -> ir.Value:
        """A `VMath` function (exp, expm1, log, log1p, tanh) of a compute-type value."""
        return getattr(self.vmath, name)(x)

    def emit(self, e: sp.Basic) -> ir.Value:
        if e not in self.memo:
            self.memo[e] = self._emit(e)
        return self.memo[e]

    def _emit(self, e: sp.Basic) -> ir.Value:
        b = self.b
        if e is sp.true or e is sp.false:
            return ir.Constant(I1, int(e is sp.true))
        if e.is_Number:
            if not e.is_real:
                raise Unsupported(f"non-real constant {e}")
            return self.const(float(e))
        if e is sp.pi or e is sp.E:
            return self.const(float(e))
        handler = _HANDLERS.get(type(e)) or _HANDLERS.get(getattr(e.func, "__name__", ""))
        if handler is None:
            if type(e) in _VMATH:
                return self.math(_VMATH[type(e)], self.num(self.emit(e.args[0])))
            if type(e) in _INTRINSICS:
                return self.call(_INTRINSICS[type(e)], self.num(self.emit(e.args[0])))
            raise Unsupported(f"no LLVM lowering for {type(e).__name__} in a kernel body")
        return handler(self, e, b)


def _add(p: ScalarPrinter, e: sp.Add, b: ir.IRBuilder) -> ir.Value:
    vals = [p.num(p.emit(a)) for a in e.args]
    acc = vals[0]
    for v in vals[1:]:
        acc = b.fadd(acc, v)
    return acc


def _mul(p: ScalarPrinter, e: sp.Mul, b: ir.IRBuilder) -> ir.Value:
    """Factors with negative integer powers go to a denominator: x/y divides like NumPy does."""
    num, den = [], []
    for a in e.args:
        if a.is_Pow and a.exp.is_Integer and a.exp < 0:
            den.append(p.num(p.emit(a.base ** -a.exp)))
        elif a == -1:
            num.append(None)
        else:
            num.append(p.num(p.emit(a)))
    negate = num.count(None) % 2 == 1
    factors = [v for v in num if v is not None]
    acc = _product(b, factors) if factors else p.const(1)
    if den:
        acc = b.fdiv(acc, _product(b, den))
    return b.fneg(acc) if negate else acc


def _product(b: ir.IRBuilder, vals: list[ir.Value]) -> ir.Value:
    acc = vals[0]
    for v in vals[1:]:
        acc = b.fmul(acc, v)
    return acc


def _pow(p: ScalarPrinter, e: sp.Pow, b: ir.IRBuilder) -> ir.Value:
    base, ex = e.base, e.exp
    if base is sp.E:
        return p.math("exp", p.num(p.emit(ex)))
    x = p.num(p.emit(base))
    if ex.is_Integer:
        n = abs(int(ex))
        acc = _integer_power(b, x, n) if n else p.const(1)
        return b.fdiv(p.const(1), acc) if ex < 0 else acc
    if ex.is_Rational and ex.q == 2:
        root = p.call("sqrt", x)
        acc = b.fmul(_integer_power(b, x, abs(int(ex.p)) // 2), root) if abs(ex.p) > 1 else root
        return b.fdiv(p.const(1), acc) if ex < 0 else acc
    return p.call("pow", x, p.num(p.emit(ex)))


def _integer_power(b: ir.IRBuilder, x: ir.Value, n: int) -> ir.Value:
    """x**n by repeated squaring (n >= 1)."""
    result, square = None, x
    while n:
        if n & 1:
            result = square if result is None else b.fmul(result, square)
        n >>= 1
        if n:
            square = b.fmul(square, square)
    return result


def _extremum(stem: str) -> Callable:
    """Max/Min propagate NaN like np.maximum (llvm.maximum, not maxnum)."""
    def emit(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
        vals = [p.num(p.emit(a)) for a in e.args]
        acc = vals[0]
        for v in vals[1:]:
            acc = p.call(stem, acc, v)
        return acc
    return emit


def _sign(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
    x = p.num(p.emit(e.args[0]))
    neg = b.select(b.fcmp_ordered("<", x, p.const(0)), p.const(-1), x)
    return b.select(b.fcmp_ordered(">", x, p.const(0)), p.const(1), neg)


def _piecewise(p: ScalarPrinter, e: sp.Piecewise, b: ir.IRBuilder) -> ir.Value:
    pieces = [(p.emit(v), p.truth(p.emit(c))) for v, c in e.args]
    if pieces[-1][1] != ir.Constant(I1, 1) and e.args[-1][1] is not sp.true:
        raise Unsupported("Piecewise without a default branch")
    truthy = all(v.type == I1 for v, _ in pieces)
    conv = (lambda v: v) if truthy else p.num
    acc = conv(pieces[-1][0])
    for v, c in reversed(pieces[:-1]):
        acc = b.select(c, conv(v), acc)
    return acc


def _relational(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
    lhs, rhs = p.num(p.emit(e.lhs)), p.num(p.emit(e.rhs))
    if isinstance(e, sp.Unequality):
        return b.fcmp_unordered("!=", lhs, rhs)
    return b.fcmp_ordered(_CMP[type(e)], lhs, rhs)


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


def _arg(p: ScalarPrinter, x: sp.Basic) -> ir.Value:
    return p.num(p.emit(x))


def _sigmoid(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
    """1 / (1 + exp(-x)): exp overflows to inf for very negative x, giving exactly 0, never NaN."""
    x = _arg(p, e.args[0])
    return b.fdiv(p.const(1), b.fadd(p.const(1), p.math("exp", b.fneg(x))))


def _softplus(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
    """max(x, 0) + log1p(exp(-|x|)): never overflows."""
    x = _arg(p, e.args[0])
    tail = p.math("log1p", p.math("exp", b.fneg(p.call("fabs", x))))
    return b.fadd(p.call("maxnum", x, p.const(0)), tail)


def _opaque_math(name: str) -> Callable:
    def emit(p: ScalarPrinter, e: sp.Basic, b: ir.IRBuilder) -> ir.Value:
        return p.math(name, _arg(p, e.args[0]))
    return emit


_HANDLERS: dict = {
    sp.Add: _add, sp.Mul: _mul, sp.Pow: _pow, sp.Max: _extremum("maximum"), sp.Min: _extremum("minimum"),
    sp.sign: _sign, sp.Piecewise: _piecewise, sp.And: _logic("and"), sp.Or: _logic("or"), sp.Not: _not,
    sp.StrictLessThan: _relational, sp.LessThan: _relational, sp.StrictGreaterThan: _relational,
    sp.GreaterThan: _relational, sp.Equality: _relational, sp.Unequality: _relational,
    "sigmoid": _sigmoid, "softplus": _softplus, "log1p": _opaque_math("log1p"), "expm1": _opaque_math("expm1"),
}
