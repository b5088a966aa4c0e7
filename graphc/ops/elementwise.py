"""Elementwise ops: each is a NumPy function plus its SymPy scalar definition.

The SymPy definition is the op's meaning: derivatives come from `sympy.diff`
(computed once per op and cached) unless the op gives a hand rule because the
derived one is unstable or wasteful (sigmoid reuses its output, softplus's
derivative is a sigmoid, relu's is a step). Where the plain formula is unstable
in floats, the op also names the stable form kernels compute (`kernel=`): an
`Opaque` function of `graphc.ops.scalar` carrying its expansion in the
primitives every code generator knows. So an op is one line here (or one call
of `define` anywhere) and compiles natively on every backend.

Operands broadcast as in NumPy: the builder aligns ranks with `expand_dims`, and
an op's inputs then differ only where a dim is 1, so the gradient of a broadcast
is a plain sum (`unbroadcast`).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Sequence

import math
import sys

import numpy as np
import sympy as sp
import sympy.tensor.tensor  # noqa: F401 - SymPy's Add and Mul import it on first use: load it here, not mid-compile

from ..ir import Tensor
from ..ir.dtypes import canonical, is_float, is_half, is_int, promote, to_numpy
from ..ir.errors import DTypeError, ShapeError
from ..ir.node import Op
from . import scalar as S
from .axes import broadcast_like, expand_dims, scalar_const, unbroadcast
from .operands import as_tensors, broadcast_dims, desc

#: the user-facing functions of this family: what graphc.ops (and gc) export
__all__ = ["abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh", "binary_cross_entropy", "cast",
           "ceil", "clip", "cos", "cosh", "divide", "equal", "erf", "exp", "expm1", "floor", "greater",
           "greater_equal", "isinf", "isnan", "less", "less_equal", "log", "log1p", "logical_and", "logical_not",
           "logical_or", "maximum", "minimum", "mul", "multiply", "negative", "not_equal", "power", "reciprocal",
           "relu", "round", "sigmoid", "sign", "sin", "sinh", "softplus", "sqrt", "square", "subtract", "tan",
           "tanh", "trunc", "where"]

X = sp.symbols("x0:3", real=True)
SEED = sp.Symbol("g", real=True)  # stands for the incoming gradient / tangent

#: How an op treats operand dtypes: cast to float, to a number, keep, require bool, require integers,
#: or require numbers that are not bool.
FLOAT, NUMERIC, ANY, LOGICAL, INTEGER, NUMBER = "float", "numeric", "any", "logical", "integer", "number"
#: kind -> (the dtypes it takes, what it needs in words, the fix)
_REQUIRED = {
    INTEGER: (is_int, "integer operands", "cast with gc.cast(x, 'int32') (bool: use logical_and/or/not)"),
    NUMBER: (lambda d: d != "bool", "int or float operands, not bool", "cast with gc.cast(x, 'int32')"),
}
#: The `cost` of an op a polynomial or a libm call computes: tens of operations per element.
TRANSCENDENTAL = 20


class Elementwise(Op):
    """An op applied element by element to operands of one broadcast shape."""

    arity = 1
    kind = NUMERIC
    returns_bool = False
    symbol: str | None = None  # infix symbol for printing, e.g. "+"
    cost = 1  # one arithmetic instruction per element (transcendental ops: TRANSCENDENTAL)
    kernel_kind = "elementwise"

    def scalar(self, *xs: sp.Expr) -> sp.Expr:
        """The op's value at one element, as a SymPy expression of `xs`."""
        raise NotImplementedError(self.name)

    def kernel_body(self, *xs: sp.Expr) -> sp.Expr:
        """What a fused kernel computes: the scalar definition, or its stable form (an `Opaque` call)."""
        return self.scalar(*xs)

    def infer(self, *inputs: Tensor):
        if len(inputs) != self.arity:
            raise ShapeError(f"{self.name}: takes {self.arity} operand(s), got {len(inputs)}")
        ranks = {t.ndim for t in inputs}
        if len(ranks) != 1:
            raise ShapeError(f"{self.name}: operands {desc(*inputs)} differ in rank",
                             fix="align ranks with expand_dims (the gc.* functions do this for you)")
        shape = broadcast_dims(self.name, [t.shape for t in inputs], inputs)
        data = self.data_inputs(inputs)
        dtypes = {t.dtype for t in data}
        if len(dtypes) != 1:
            raise DTypeError(f"{self.name}: operands {desc(*inputs)} differ in dtype",
                             fix="cast one operand with gc.cast (the gc.* functions promote for you)")
        dtype = dtypes.pop()
        if self.kind == FLOAT and not is_float(dtype):
            raise DTypeError(f"{self.name}: needs float operands, got {desc(*inputs)}",
                             fix="cast with gc.cast(x, 'float32')")
        if self.kind == LOGICAL and dtype != "bool":
            raise DTypeError(f"{self.name}: needs bool operands, got {desc(*inputs)}")
        _check_kind(self, inputs, dtype)
        return shape, ("bool" if self.returns_bool else dtype)

    def data_inputs(self, inputs: Sequence[Tensor]) -> Sequence[Tensor]:
        return inputs

    # -- derivatives -------------------------------------------------------
    @lru_cache(maxsize=None)  # noqa: B019 - ops are module-level singletons, alive as long as the process
    def _sympy_partials(self) -> tuple:
        """seed * d out / d x_i for each input, derived once per op."""
        expr = self.scalar(*X[: self.arity])
        return tuple(SEED * sp.diff(expr, x) for x in X[: self.arity])

    def partial(self, node: Tensor, i: int, seed: Tensor) -> Tensor | None:
        """`seed * d out / d input_i` as a graph (None when it is zero)."""
        env = {X[k]: node.inputs[k] for k in range(self.arity)}
        env[SEED] = seed
        out = from_sympy(self._sympy_partials()[i], env)
        return out if isinstance(out, Tensor) else None

    def pullback(self, node, g):
        grads = []
        for i, x in enumerate(node.inputs):
            if not (self.differentiable and is_float(x.dtype) and i in self.diff_inputs()):
                grads.append(None)
                continue
            p = self.partial(node, i, g)
            grads.append(None if p is None else unbroadcast(p, x))
        return grads

    def jvp(self, node, tangents):
        terms = [self.partial(node, i, t) for i, t in enumerate(tangents)
                 if t is not None and i in self.diff_inputs()]
        terms = [t for t in terms if t is not None]
        if not terms:
            return None
        total = terms[0]
        for t in terms[1:]:
            total = add(total, t)
        return broadcast_like(total, node)

    def diff_inputs(self) -> range:
        return range(self.arity)

    def format(self, args):
        if self.symbol and len(args) == 2:
            return f"({args[0]} {self.symbol} {args[1]})"
        if self.symbol:
            return f"({self.symbol}{args[0]})"
        return f"{self.name}({', '.join(args)})"


def define(name: str, arity: int, numpy: Callable, scalar: Callable, *, kernel: Callable | None = None,
           kind: str = NUMERIC, partial: Callable | None = None, differentiable: bool = True,
           returns_bool: bool = False, symbol: str | None = None, cost: int = 1,
           module: str | None = None) -> Elementwise:
    """Define an elementwise op: a class named after it (`greater_equal` -> `GreaterEqual`) and its one
    instance (an elementwise op has no attributes); apply it with `apply(op, *operands)`.

    `numpy(*arrays)` is the reference rule and `scalar(*xs)` the SymPy meaning (derivatives are its
    `sympy.diff` unless `partial(node, i, seed)` gives `seed * d out / d input_i` as a graph).
    `kernel(*xs)` is what kernels compute when the plain formula is unstable in floats: typically an
    `graphc.ops.scalar.Opaque` subclass. `kind` says which operand dtypes it takes (FLOAT, NUMERIC,
    ANY, LOGICAL), `cost` its work per element (`Op.cost`), and `module` where the class says it
    lives (the caller's module by default).
    """
    ns: dict[str, Any] = dict(name=name, arity=arity, kind=kind, differentiable=differentiable,
                              returns_bool=returns_bool, symbol=symbol, cost=cost,
                              numpy=lambda self, *a: numpy(*widened(a)),
                              scalar=lambda self, *xs: scalar(*xs),
                              __doc__=f"Elementwise {name}.",
                              __module__=module or sys._getframe(1).f_globals.get("__name__", "__main__"))
    if partial is not None:
        ns["partial"] = lambda self, node, i, seed: partial(node, i, seed)
    if kernel is not None:
        ns["kernel_body"] = lambda self, *xs: kernel(*xs)
    cls = type("".join(part.capitalize() for part in name.split("_")), (Elementwise,), ns)
    return cls()


def widened(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """16-bit float operands as float32: an elementwise op computes in float32 and its caller rounds the
    result once to the 16-bit dtype (NumPy's own float16 exp, say, is not always float32's rounded)."""
    return [a.astype(np.float32) if is_half(a.dtype.name) else a for a in arrays]


def apply(op: Elementwise, *operands: Any) -> Tensor:
    """Apply `op` with NumPy broadcasting and dtype promotion."""
    ts = as_tensors(*operands, who=op.name)
    dtype = promote(*(t.dtype for t in ts))
    if op.kind == FLOAT and not is_float(dtype):
        dtype = "float32"
    elif op.kind == NUMERIC and dtype == "bool":
        dtype = "int64"
    elif op.kind == LOGICAL:
        bad = [t for t in ts if t.dtype != "bool"]
        if bad:
            raise DTypeError(f"{op.name}: needs bool operands, got {desc(*ts)}",
                             fix="compare first (x > 0) or cast with gc.cast(x, 'bool')")
    _check_kind(op, ts, dtype)
    ts = [cast(t, dtype) for t in ts]
    return Tensor.make(op, _align_ranks(ts))


def _check_kind(op: Elementwise, ts: Sequence[Tensor], dtype: str) -> None:
    """INTEGER and NUMBER ops refuse other dtypes with a DTypeError naming the operands and the fix."""
    if op.kind in _REQUIRED:
        takes, needs, fix = _REQUIRED[op.kind]
        if not takes(dtype):
            raise DTypeError(f"{op.name}: needs {needs}, got {desc(*ts)}", fix=fix)


def _align_ranks(ts: Sequence[Tensor]) -> list[Tensor]:
    nd = max(t.ndim for t in ts)
    return [t if t.ndim == nd else expand_dims(t, tuple(range(nd - t.ndim))) for t in ts]


# -- SymPy expressions back to graphs ------------------------------------------

def from_sympy(expr: sp.Expr, env: dict) -> Tensor | float:
    """Build the graph of a scalar SymPy expression over the tensors in `env`."""
    if expr in env:
        return env[expr]
    if expr.is_Number:
        return float(expr)
    if isinstance(expr, sp.Add):
        terms = [from_sympy(a, env) for a in expr.args]
        total = terms[0]
        for t in terms[1:]:
            total = total + t if isinstance(total, float) and isinstance(t, float) else add(total, t)
        return total
    if isinstance(expr, sp.Mul):
        num, den = [], []
        for a in expr.args:
            if isinstance(a, sp.Pow) and a.exp.is_Number and a.exp < 0:
                den.append(a.base ** -a.exp)
            else:
                num.append(a)
        coeff = 1.0
        factors = []
        for a in num:
            if a.is_Number:
                coeff *= float(a)
            else:
                factors.append(from_sympy(a, env))
        result: Any = None
        for f in factors:
            result = f if result is None else mul(result, f)
        for d in den:
            result = divide(1.0 if result is None else result, from_sympy(d, env))
        if result is None:
            return coeff
        if coeff == -1.0:
            return negative(result)
        return result if coeff == 1.0 else mul(coeff, result)
    if isinstance(expr, sp.Pow):
        base, e = from_sympy(expr.base, env), expr.exp
        if e == 2:
            return square(base)
        if e == sp.Rational(1, 2):
            return sqrt(base)
        if e == -1:
            return divide(1.0, base)
        if e == sp.Rational(-1, 2):
            return divide(1.0, sqrt(base))
        return power(base, from_sympy(e, env))
    fn = _SYMPY_FUNCS.get(type(expr))
    if fn is not None:
        return fn(*[from_sympy(a, env) for a in expr.args])
    raise NotImplementedError(f"cannot turn the SymPy expression {expr} into graphc ops")


# -- hand-written rules (where the derived one is unstable or wasteful) ---------

def _exp_partial(node, i, seed):
    return mul(seed, node)


def _expm1_partial(node, i, seed):
    return mul(seed, add(node, 1.0))


def _sigmoid_partial(node, i, seed):
    return mul(seed, mul(node, subtract(1.0, node)))


def _tanh_partial(node, i, seed):
    return mul(seed, subtract(1.0, square(node)))


def _tan_partial(node, i, seed):
    return mul(seed, add(1.0, square(node)))


def _reciprocal_partial(node, i, seed):
    return negative(mul(seed, square(node)))


def _sqrt_partial(node, i, seed):
    return divide(mul(seed, 0.5), node)


def _softplus_partial(node, i, seed):
    return mul(seed, sigmoid(node.inputs[0]))


def _relu_partial(node, i, seed):
    x = node.inputs[0]
    return where(greater(x, 0.0), seed, 0.0)


def _erf_partial(node, i, seed):
    x = node.inputs[0]
    return mul(seed, mul(2.0 / np.sqrt(np.pi), exp(negative(square(x)))))


def _power_partial(node, i, seed):
    """torch's rules, written so that no term divides by the base (SymPy's derived b a**b / a is
    0/0 at a = 0): d/da a**b = b a**(b-1), zero where b = 0; d/db a**b = a**b log a, zero where
    a = 0 and b >= 0 (the limit). The log reads 1 there instead of 0, so every order stays finite."""
    a, b = node.inputs
    if i == 1:
        at_zero = logical_and(equal(a, 0.0), greater_equal(b, 0.0))
        return mul(seed, mul(node, log(where(at_zero, 1.0, a))))
    k = scalar_const(b)
    if k is not None:  # a constant exponent (x ** 3): the derivative's power is known now (3 x**2)
        return None if k == 0 else mul(seed, mul(k, power(a, k - 1)))
    return mul(seed, where(equal(b, 0.0), 0.0, mul(b, power(a, subtract(b, 1.0)))))


def _abs_partial(node, i, seed):
    return mul(seed, sign(node.inputs[0]))


def _extremum_partial(keep_first: Callable) -> Callable:
    """maximum/minimum: the gradient goes to the chosen operand (the first one on ties)."""
    def rule(node, i, seed):
        a, b = node.inputs
        first = keep_first(a, b)
        return where(first, seed, 0.0) if i == 0 else where(first, 0.0, seed)
    return rule


def _where_partial(node, i, seed):
    c = node.inputs[0]
    return where(c, seed, 0.0) if i == 1 else where(c, 0.0, seed)


def _sp_sigmoid(x):
    return 1 / (1 + sp.exp(-x))


def _np_sigmoid(x):
    return np.exp(-np.logaddexp(np.zeros((), x.dtype), -x)).astype(x.dtype, copy=False)


def _np_softplus(x):
    return np.logaddexp(np.zeros((), x.dtype), x)


_np_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def _np_erf(x):
    return np.asarray(_np_erf_scalar(x), dtype=np.float64).astype(x.dtype)  # a 0-d x gives a Python float


def _np_sign(x):
    return np.sign(x)


# -- the ops -------------------------------------------------------------------

ADD = define("add", 2, np.add, lambda a, b: a + b, symbol="+")
SUB = define("subtract", 2, np.subtract, lambda a, b: a - b, symbol="-")
MUL = define("multiply", 2, np.multiply, lambda a, b: a * b, symbol="*")
DIV = define("divide", 2, np.true_divide, lambda a, b: a / b, kind=FLOAT, symbol="/")
POW = define("power", 2, np.power, lambda a, b: a ** b, kind=FLOAT, symbol="**", partial=_power_partial)
NEG = define("negative", 1, np.negative, lambda a: -a, symbol="-")
EXP = define("exp", 1, np.exp, sp.exp, kind=FLOAT, partial=_exp_partial, cost=TRANSCENDENTAL)
LOG = define("log", 1, np.log, sp.log, kind=FLOAT, cost=TRANSCENDENTAL)
LOG1P = define("log1p", 1, np.log1p, lambda a: sp.log(1 + a), kernel=S.log1p, kind=FLOAT, cost=TRANSCENDENTAL)
EXPM1 = define("expm1", 1, np.expm1, lambda a: sp.exp(a) - 1, kernel=S.expm1, kind=FLOAT, partial=_expm1_partial,
               cost=TRANSCENDENTAL)
SQRT = define("sqrt", 1, np.sqrt, sp.sqrt, kind=FLOAT, partial=_sqrt_partial)
SQUARE = define("square", 1, np.square, lambda a: a ** 2)
ABS = define("abs", 1, np.abs, sp.Abs, partial=_abs_partial)
SIGN = define("sign", 1, _np_sign, sp.sign, differentiable=False)
SIN = define("sin", 1, np.sin, sp.sin, kind=FLOAT, cost=TRANSCENDENTAL)
COS = define("cos", 1, np.cos, sp.cos, kind=FLOAT, cost=TRANSCENDENTAL)
ERF = define("erf", 1, _np_erf, sp.erf, kind=FLOAT, partial=_erf_partial, cost=TRANSCENDENTAL)
TANH = define("tanh", 1, np.tanh, sp.tanh, kind=FLOAT, partial=_tanh_partial, cost=TRANSCENDENTAL)
SIGMOID = define("sigmoid", 1, _np_sigmoid, _sp_sigmoid, kernel=S.sigmoid, kind=FLOAT, partial=_sigmoid_partial,
                 cost=TRANSCENDENTAL)
SOFTPLUS = define("softplus", 1, _np_softplus, lambda a: sp.log(1 + sp.exp(a)), kernel=S.softplus, kind=FLOAT,
                  partial=_softplus_partial, cost=TRANSCENDENTAL)
RELU = define("relu", 1, lambda a: np.maximum(a, np.zeros((), a.dtype)), lambda a: sp.Max(a, 0),
              partial=_relu_partial)
FLOOR = define("floor", 1, np.floor, sp.floor, kind=FLOAT, differentiable=False)
CEIL = define("ceil", 1, np.ceil, sp.ceiling, kind=FLOAT, differentiable=False)
ROUND = define("round", 1, np.rint, S.rint, kind=FLOAT, differentiable=False)
TRUNC = define("trunc", 1, np.trunc, S.trunc, kind=FLOAT, differentiable=False)
TAN = define("tan", 1, np.tan, sp.tan, kind=FLOAT, partial=_tan_partial, cost=TRANSCENDENTAL)
ASIN = define("asin", 1, np.arcsin, sp.asin, kind=FLOAT, cost=TRANSCENDENTAL)
ACOS = define("acos", 1, np.arccos, sp.acos, kind=FLOAT, cost=TRANSCENDENTAL)
ATAN = define("atan", 1, np.arctan, sp.atan, kind=FLOAT, cost=TRANSCENDENTAL)
ATAN2 = define("atan2", 2, np.arctan2, sp.atan2, kind=FLOAT, cost=TRANSCENDENTAL)
SINH = define("sinh", 1, np.sinh, sp.sinh, kind=FLOAT, cost=TRANSCENDENTAL)
COSH = define("cosh", 1, np.cosh, sp.cosh, kind=FLOAT, cost=TRANSCENDENTAL)
ASINH = define("asinh", 1, np.arcsinh, sp.asinh, kind=FLOAT, cost=TRANSCENDENTAL)
ACOSH = define("acosh", 1, np.arccosh, sp.acosh, kind=FLOAT, cost=TRANSCENDENTAL)
ATANH = define("atanh", 1, np.arctanh, sp.atanh, kind=FLOAT, cost=TRANSCENDENTAL)
RECIPROCAL = define("reciprocal", 1, np.reciprocal, lambda a: 1 / a, kind=FLOAT, partial=_reciprocal_partial)
#: NaN is the one value unequal to itself; |x| == inf holds for +-inf only (both false for NaN)
ISNAN = define("isnan", 1, np.isnan, lambda a: sp.Ne(a, a, evaluate=False), kind=FLOAT, differentiable=False,
               returns_bool=True)
ISINF = define("isinf", 1, np.isinf, lambda a: sp.Eq(sp.Abs(a), sp.oo, evaluate=False), kind=FLOAT,
               differentiable=False, returns_bool=True)
MAXIMUM = define("maximum", 2, np.maximum, sp.Max, partial=_extremum_partial(lambda a, b: greater_equal(a, b)))
MINIMUM = define("minimum", 2, np.minimum, sp.Min, partial=_extremum_partial(lambda a, b: less_equal(a, b)))
#: scalar bodies that are truth values (a Symbol is a SymPy Boolean too, but stands for any dtype here)
_TRUTH_VALUES = (sp.logic.boolalg.BooleanAtom, sp.logic.boolalg.BooleanFunction, sp.core.relational.Relational)


def truth(e: sp.Basic) -> sp.Basic:
    """A bool operand's body where SymPy wants a truth value (a condition, an operand of And/Or/Not):
    a comparison, a logic expression or a bool input's symbol stays; a bool `where` (a Piecewise)
    becomes its logic, (c & a) | (~c & b), built unevaluated (SymPy misreads a Piecewise condition:
    where(where(a, a, b), x, y) lost b; and ~(x > 0) is not x <= 0 for NaN)."""
    if isinstance(e, (*_TRUTH_VALUES, sp.Symbol)):
        return e
    if not isinstance(e, sp.Piecewise):
        return sp.Ne(e, 0, evaluate=False)
    terms, earlier = [], []
    for value, cond in e.args:
        cond = truth(cond)
        terms.append(_every([*earlier, *([cond] if cond is not sp.true else []), truth(value)]))
        earlier.append(sp.Not(cond, evaluate=False))
    return terms[0] if len(terms) == 1 else sp.Or._from_args(terms)


def _every(terms: list) -> sp.Basic:
    return terms[0] if len(terms) == 1 else sp.And._from_args(terms)


def _ordered(relation: Callable) -> Callable:
    """An order relation on scalar bodies whose operands may be truth values (bool tensors, or a
    comparison folded to true/false): False < True, as NumPy orders bools; SymPy refuses to order them."""
    def as_number(e: sp.Basic) -> sp.Basic:
        return sp.Piecewise((1, e), (0, True)) if isinstance(e, _TRUTH_VALUES) else e
    return lambda a, b: relation(as_number(a), as_number(b))


LESS = define("less", 2, np.less, _ordered(sp.Lt), kind=ANY, differentiable=False, returns_bool=True, symbol="<")
LESS_EQUAL = define("less_equal", 2, np.less_equal, _ordered(sp.Le), kind=ANY, differentiable=False,
                    returns_bool=True, symbol="<=")
GREATER = define("greater", 2, np.greater, _ordered(sp.Gt), kind=ANY, differentiable=False, returns_bool=True,
                 symbol=">")
GREATER_EQUAL = define("greater_equal", 2, np.greater_equal, _ordered(sp.Ge), kind=ANY, differentiable=False,
                       returns_bool=True, symbol=">=")
EQUAL = define("equal", 2, np.equal, lambda a, b: sp.Eq(a, b, evaluate=False), kind=ANY, differentiable=False,
               returns_bool=True, symbol="==")
NOT_EQUAL = define("not_equal", 2, np.not_equal, lambda a, b: sp.Ne(a, b, evaluate=False), kind=ANY,
                   differentiable=False, returns_bool=True, symbol="!=")
AND = define("logical_and", 2, np.logical_and, lambda a, b: sp.And(truth(a), truth(b)), kind=LOGICAL,
             differentiable=False)
OR = define("logical_or", 2, np.logical_or, lambda a, b: sp.Or(truth(a), truth(b)), kind=LOGICAL, differentiable=False)
NOT = define("logical_not", 1, np.logical_not, lambda a: sp.Not(truth(a)), kind=LOGICAL, differentiable=False)

# The op classes by name, for rules that dispatch on classes (`@SIMPLIFY.rule(Add)`, `isinstance(op, Less)`).
Add = type(ADD)
Subtract = type(SUB)
Multiply = type(MUL)
Divide = type(DIV)
Power = type(POW)
Negative = type(NEG)
Exp = type(EXP)
Log = type(LOG)
Log1p = type(LOG1P)
Expm1 = type(EXPM1)
Sqrt = type(SQRT)
Square = type(SQUARE)
Abs = type(ABS)
Sign = type(SIGN)
Sin = type(SIN)
Cos = type(COS)
Erf = type(ERF)
Tanh = type(TANH)
Sigmoid = type(SIGMOID)
Softplus = type(SOFTPLUS)
Relu = type(RELU)
Floor = type(FLOOR)
Ceil = type(CEIL)
Round = type(ROUND)
Trunc = type(TRUNC)
Tan = type(TAN)
Asin = type(ASIN)
Acos = type(ACOS)
Atan = type(ATAN)
Atan2 = type(ATAN2)
Sinh = type(SINH)
Cosh = type(COSH)
Asinh = type(ASINH)
Acosh = type(ACOSH)
Atanh = type(ATANH)
Reciprocal = type(RECIPROCAL)
Isnan = type(ISNAN)
Isinf = type(ISINF)
Maximum = type(MAXIMUM)
Minimum = type(MINIMUM)
Less = type(LESS)
LessEqual = type(LESS_EQUAL)
Greater = type(GREATER)
GreaterEqual = type(GREATER_EQUAL)
Equal = type(EQUAL)
NotEqual = type(NOT_EQUAL)
LogicalAnd = type(AND)
LogicalOr = type(OR)
LogicalNot = type(NOT)


class Where(Elementwise):
    """`where(c, a, b)`: a where c is true, else b (c is bool; a and b share a dtype)."""

    name = "where"
    arity = 3
    kind = ANY

    def scalar(self, c, a, b):
        return sp.Piecewise((a, truth(c)), (b, True))

    def numpy(self, c, a, b):
        return np.where(c, a, b)

    def data_inputs(self, inputs):
        if inputs[0].dtype != "bool":
            raise DTypeError(f"where: the condition must be bool, got {desc(*inputs)}",
                             fix="use a comparison (x > 0) as the condition")
        return inputs[1:]

    def partial(self, node, i, seed):
        return _where_partial(node, i, seed)

    def diff_inputs(self):
        return range(1, 3)


class Cast(Elementwise):
    """Convert to another dtype, as NumPy's astype where NumPy defines it: integers wrap, float to int
    truncates toward zero, to bool is != 0 (NaN is true), 16-bit floats round to nearest even (once:
    bfloat16 as ml_dtypes rounds). A float out of the integer's range saturates and NaN
    becomes 0 (XLA's rule; NumPy leaves it unspecified, ONNX undefined)."""

    name = "cast"
    fields = ("dtype",)
    kind = ANY

    def infer(self, x):
        return x.shape, self.dtype

    def scalar(self, x):
        return x

    def numpy(self, x):
        if is_float(x.dtype.name) and is_int(self.dtype):
            return _saturating_int(x, self.dtype)
        return x.astype(to_numpy(self.dtype))

    def partial(self, node, i, seed):  # reverse: the gradient goes back to the input's dtype
        return cast(seed, node.inputs[0].dtype) if is_float(self.dtype) else None

    def jvp(self, node, tangents):  # forward: the tangent follows the output's dtype
        t = tangents[0]
        return cast(t, self.dtype) if t is not None and is_float(self.dtype) else None

    def format(self, args):
        return f"{self.dtype}({args[0]})"


WHERE = Where()


def _saturating_int(x: np.ndarray, dtype: str) -> np.ndarray:
    """Float to int truncating toward zero, out-of-range values saturating, NaN to 0."""
    info = np.iinfo(dtype)
    t = np.trunc(x.astype(np.float64) if x.dtype.itemsize < 4 or x.dtype.kind == "V" else x)
    high = t >= 2.0 ** (info.bits - (info.min < 0))  # the powers of two bounding the range are exact floats
    low = t < float(info.min)
    out = np.where(high | low | np.isnan(t), 0, t).astype(dtype)
    out[high] = info.max
    out[low] = info.min
    return out


class BinaryCrossEntropy(Elementwise):
    """`-(y log p + (1 - y) log(1 - p))` with the logs clamped at -100, as torch's binary_cross_entropy.

    A composite with its own gradient: the derived one is `(1/p) * [log p > -100]`, which is
    0 * inf = NaN at p = 0 or 1. In p it is torch's `(p - y) / max(p (1 - p), 1e-12)`; in y it is the
    derivative of the clamped value, `log(1 - p) - log p` clamped (torch's is unclamped: +-inf there).
    """

    name = "binary_cross_entropy"
    arity = 2
    kind = FLOAT
    EPS = 1e-12

    def scalar(self, p, y):
        return -(y * sp.Max(sp.log(p), -100) + (1 - y) * sp.Max(sp.log(1 - p), -100))

    def kernel_body(self, p, y):
        return -(y * sp.Max(sp.log(p), -100) + (1 - y) * sp.Max(S.log1p(-p), -100))

    def numpy(self, p, y):
        p, y = widened((p, y))
        with np.errstate(divide="ignore"):
            return -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))

    def partial(self, node, i, seed):
        p, y = node.inputs
        if i == 0:
            return divide(mul(seed, subtract(p, y)), maximum(mul(subtract(1.0, p), p), self.EPS))
        return mul(seed, subtract(maximum(log1p(negative(p)), -100.0), maximum(log(p), -100.0)))


BCE = BinaryCrossEntropy()


# -- the user-facing functions ---------------------------------------------------

def cast(x: Any, dtype: Any) -> Tensor:
    """`x` converted to `dtype` (no node when it already has it)."""
    (x,) = as_tensors(x)
    dtype = canonical(dtype, "cast")
    return x if x.dtype == dtype else Tensor.make(Cast(dtype), [x])


def add(a, b) -> Tensor: """a + b, broadcast as in NumPy."""; return apply(ADD, a, b)
def subtract(a, b) -> Tensor: """a - b, broadcast as in NumPy."""; return apply(SUB, a, b)
def mul(a, b) -> Tensor: """a * b, broadcast as in NumPy."""; return apply(MUL, a, b)
multiply = mul  # NumPy's name
def divide(a, b) -> Tensor: """a / b (true division), broadcast as in NumPy."""; return apply(DIV, a, b)
def negative(x) -> Tensor: """-x."""; return apply(NEG, x)
def exp(x) -> Tensor: """e**x."""; return apply(EXP, x)
def log(x) -> Tensor:
    """The natural logarithm (log_softmax, softplus or log1p where x reaches 0)."""
    return apply(LOG, x)
def log1p(x) -> Tensor: """log(1 + x), accurate for x near 0."""; return apply(LOG1P, x)
def expm1(x) -> Tensor: """exp(x) - 1, accurate for x near 0."""; return apply(EXPM1, x)
def sqrt(x) -> Tensor: """The square root."""; return apply(SQRT, x)
def square(x) -> Tensor: """x * x."""; return apply(SQUARE, x)
def abs(x) -> Tensor: """|x|."""; return apply(ABS, x)  # noqa: A001 - the NumPy name
def sign(x) -> Tensor: """-1, 0 or 1 by the sign of x."""; return apply(SIGN, x)
def sin(x) -> Tensor: """The sine (radians)."""; return apply(SIN, x)
def cos(x) -> Tensor: """The cosine (radians)."""; return apply(COS, x)
def erf(x) -> Tensor: """The error function."""; return apply(ERF, x)
def tanh(x) -> Tensor: """The hyperbolic tangent."""; return apply(TANH, x)
def sigmoid(x) -> Tensor: """1 / (1 + exp(-x)), computed without overflow."""; return apply(SIGMOID, x)
def softplus(x) -> Tensor: """log(1 + exp(x)), computed without overflow."""; return apply(SOFTPLUS, x)
def relu(x) -> Tensor: """max(x, 0); its gradient at 0 is 0."""; return apply(RELU, x)
def floor(x) -> Tensor: """The largest integer <= x (not differentiable)."""; return apply(FLOOR, x)
def ceil(x) -> Tensor: """The smallest integer >= x (not differentiable)."""; return apply(CEIL, x)
def round(x) -> Tensor:  # noqa: A001 - the NumPy name
    """x rounded to the nearest integer, halves to even as NumPy and ONNX do (not differentiable)."""
    return apply(ROUND, x)
def trunc(x) -> Tensor: """x rounded toward zero (not differentiable)."""; return apply(TRUNC, x)
def tan(x) -> Tensor: """The tangent (radians)."""; return apply(TAN, x)
def asin(x) -> Tensor: """The inverse sine, in [-pi/2, pi/2] (nan outside [-1, 1])."""; return apply(ASIN, x)
def acos(x) -> Tensor: """The inverse cosine, in [0, pi] (nan outside [-1, 1])."""; return apply(ACOS, x)
def atan(x) -> Tensor: """The inverse tangent, in (-pi/2, pi/2)."""; return apply(ATAN, x)
def atan2(y, x) -> Tensor:
    """The angle of the point (x, y), in [-pi, pi], as np.arctan2 (broadcast)."""
    return apply(ATAN2, y, x)
def sinh(x) -> Tensor: """The hyperbolic sine."""; return apply(SINH, x)
def cosh(x) -> Tensor: """The hyperbolic cosine."""; return apply(COSH, x)
def asinh(x) -> Tensor: """The inverse hyperbolic sine."""; return apply(ASINH, x)
def acosh(x) -> Tensor: """The inverse hyperbolic cosine (x >= 1; nan below)."""; return apply(ACOSH, x)
def atanh(x) -> Tensor: """The inverse hyperbolic tangent (+-inf at +-1, nan beyond)."""; return apply(ATANH, x)
def reciprocal(x) -> Tensor: """1 / x."""; return apply(RECIPROCAL, x)
def isnan(x) -> Tensor: """Where x is NaN, a bool tensor."""; return apply(ISNAN, x)
def isinf(x) -> Tensor: """Where x is +inf or -inf, a bool tensor."""; return apply(ISINF, x)
def maximum(a, b) -> Tensor:
    """The larger of a and b, broadcast; ties send the gradient to a."""
    return apply(MAXIMUM, a, b)
def minimum(a, b) -> Tensor:
    """The smaller of a and b, broadcast; ties send the gradient to a."""
    return apply(MINIMUM, a, b)
def less(a, b) -> Tensor: """a < b, a bool tensor."""; return apply(LESS, a, b)
def less_equal(a, b) -> Tensor: """a <= b, a bool tensor."""; return apply(LESS_EQUAL, a, b)
def greater(a, b) -> Tensor: """a > b, a bool tensor."""; return apply(GREATER, a, b)
def greater_equal(a, b) -> Tensor: """a >= b, a bool tensor."""; return apply(GREATER_EQUAL, a, b)
def equal(a, b) -> Tensor: """a == b, a bool tensor."""; return apply(EQUAL, a, b)
def not_equal(a, b) -> Tensor: """a != b, a bool tensor."""; return apply(NOT_EQUAL, a, b)
def logical_and(a, b) -> Tensor: """a and b, for bool tensors."""; return apply(AND, a, b)
def logical_or(a, b) -> Tensor: """a or b, for bool tensors."""; return apply(OR, a, b)
def logical_not(x) -> Tensor: """not x, for a bool tensor."""; return apply(NOT, x)
def binary_cross_entropy(p, y) -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) per element, logs clamped at -100 as torch does."""
    return apply(BCE, p, y)


def power(a, b) -> Tensor:
    """`a ** b`; small constant exponents become cheaper ops (square, sqrt, reciprocal)."""
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        if b == 1:
            return as_tensors(a)[0]
        if b == 2:
            return square(a)
        if b == 0.5:
            return sqrt(a)
        if b == -1:
            return divide(1.0, a)
    return apply(POW, a, b)


def where(cond, a, b) -> Tensor:
    """Elementwise choice: `a` where `cond` is true, else `b` (broadcasting all three)."""
    (c,) = as_tensors(cond)
    if c.dtype != "bool":
        raise DTypeError(f"where: the condition must be bool, got {desc(c)}",
                         fix="use a comparison (x > 0) as the condition")
    a, b = as_tensors(a, b)
    dtype = promote(a.dtype, b.dtype)
    return Tensor.make(WHERE, _align_ranks([c, cast(a, dtype), cast(b, dtype)]))


def clip(x, lo, hi) -> Tensor:
    """`x` limited to [lo, hi]; the gradient passes where lo <= x <= hi (as torch.clamp)."""
    return minimum(maximum(x, lo), hi)


_SYMPY_FUNCS: dict = {
    sp.exp: exp, sp.erf: erf, sp.log: log, sp.sin: sin, sp.cos: cos, sp.tan: tan, sp.tanh: tanh, sp.sign: sign,
    sp.Abs: abs, sp.Max: maximum, sp.Min: minimum, sp.cosh: cosh, sp.sinh: sinh,
    sp.Heaviside: lambda x, *_: cast(greater(x, 0.0), x.dtype),
}
