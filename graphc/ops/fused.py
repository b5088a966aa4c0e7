"""Fused kernels: what the fusion pass turns groups of elementwise ops into.

Each holds a SymPy scalar body over its inputs (`in0`, `in1`, ...), composed
from the members' kernel bodies, with `lets`: (symbol, expression) bindings,
in order, for values used more than once, so shared subexpressions stay shared
(a tree would grow exponentially on deep gradient graphs). They run after
differentiation, so they have no reverse rule; the NumPy reference evaluates
the body with `lambdify`.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
import sympy as sp
from sympy.functions.elementary.piecewise import ExprCondPair
from sympy.printing.numpy import NumPyPrinter

from ..ir import GraphcError, Tensor
from ..ir.dtypes import to_numpy
from ..ir.node import Op
from . import elementwise as ew
from . import scalar as S
from .axes import Monoid
from .linalg import MatMul
from .operands import broadcast_dims


def input_symbols(n: int) -> tuple[sp.Symbol, ...]:
    return tuple(sp.Symbol(f"in{i}", real=True) for i in range(n))


ACC = sp.Symbol("acc", real=True)  # the matmul result inside an epilogue body


@lru_cache(maxsize=1)
def numpy_namespace() -> dict[str, Callable]:
    """Opaque kernel functions (sigmoid, softplus, ...) mapped to the ops' NumPy routines."""
    ops = [v for v in vars(ew).values() if isinstance(v, ew.Elementwise)]
    # Only names NumPy lacks: the printer also emits e.g. `logical_and.reduce`, which must stay NumPy's.
    names = {op.name: _on_arrays(op.numpy) for op in ops if not hasattr(np, op.name)}
    for dtype, fn in S.ROUNDING.items():
        names[fn.__name__] = _rounding(dtype)
    return names


def _rounding(dtype: str) -> Callable:
    """A `to_float16`/`to_bfloat16` body call in NumPy: round (through float32) and read back as float32."""
    def rounded(a):
        return np.asarray(a, np.float32).astype(to_numpy(dtype)).astype(np.float32)
    return rounded


def _on_arrays(fn: Callable) -> Callable:
    """SymPy may fold an argument to a Python number; the ops' NumPy rules expect float arrays (a
    folded 0 reached sigmoid as an int64 array, and its rule's cast back to the input dtype made
    sigmoid(0) = 0)."""
    return lambda *args: fn(*(np.asarray(a) if isinstance(a, (np.ndarray, np.generic)) else np.asarray(a, np.float64)
                              for a in args))


Lets = tuple  # tuple[tuple[sp.Symbol, sp.Expr], ...]

#: stand-ins for an op's operands while its body is built (Dummy: never equal to anything else)
_OPERANDS = tuple(sp.Dummy(f"operand{i}", real=True) for i in range(3))


def exact_body(op: ew.Elementwise, args: Sequence[sp.Basic]) -> sp.Basic:
    """`op.kernel_body(*args)` as IEEE arithmetic computes it.

    SymPy simplifies as it builds, assuming finite values: `x - x` and `0 * x` become 0, `x / 0`
    becomes `zoo * x`, `exp(log x)` and `sqrt(x)**2` become x, `(x > 0) | (x <= 0)` becomes true.
    The op's body is built over stand-ins, where nothing can cancel, and the operands put in
    unevaluated, so a fused kernel computes what the ops it fuses compute one by one."""
    return _put(_body_over_operands(op), dict(zip(_OPERANDS, args)))


@lru_cache(maxsize=None)
def _body_over_operands(op: ew.Elementwise) -> sp.Basic:
    return op.kernel_body(*_OPERANDS[:op.arity])


def _put(e: sp.Basic, env: dict[sp.Basic, sp.Basic]) -> sp.Basic:
    """`e` with the stand-ins in `env` replaced, every node rebuilt without evaluation."""
    if e in env:
        return env[e]
    if not e.args:
        return e
    args = [_put(a, env) for a in e.args]
    if isinstance(e, ExprCondPair):
        return e.func(args[0], ew.truth(args[1]))
    if isinstance(e, (sp.And, sp.Or)):  # these simplify even unevaluated: (x > 0) | (x <= 0) is true, but not for NaN
        return e.func._from_args([ew.truth(a) for a in args])
    if isinstance(e, sp.Not):
        return e.func(ew.truth(args[0]), evaluate=False)
    return e.func(*args, evaluate=False)


class _Printer(NumPyPrinter):
    """SymPy's NumPy printer with `where` for Piecewise: its `select(..., default=nan)` made every
    branch float, so an int64 `where` above 2**53 came back rounded."""

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        *pieces, (last, default) = expr.args
        if default is not sp.true:
            return super()._print_Piecewise(expr)
        out = self._print(last)
        for value, cond in reversed(pieces):
            out = f"{self._module_format('numpy.where')}({self._print(cond)}, {self._print(value)}, {out})"
        return out

    def _print_ComplexInfinity(self, expr: sp.Basic) -> str:
        """SymPy folds x / 0 into zoo * x; IEEE's x / +0.0 is x * inf (inf, -inf, or nan at 0)."""
        return self._module_format("numpy.inf")


    def _print_And(self, expr: sp.And) -> str:
        return self._binary_chain("numpy.logical_and", expr.args)

    def _print_Or(self, expr: sp.Or) -> str:
        return self._binary_chain("numpy.logical_or", expr.args)

    def _binary_chain(self, fn: str, args: Sequence[sp.Basic]) -> str:
        """f(a, f(b, c)): SymPy's `logical_and.reduce((a, b, c))` stacks its operands into one array,
        which fails for operands of different (broadcasting) shapes."""
        out = self._print(args[-1])
        for a in reversed(args[:-1]):
            out = f"{self._module_format(fn)}({self._print(a)}, {out})"
        return out


@lru_cache(maxsize=4096)
def compile_body(params: tuple[sp.Symbol, ...], lets: Lets, body: sp.Expr) -> Callable:
    printer = _Printer({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                        "user_functions": {name: name for name in numpy_namespace()}})  # lambdify's own settings
    lets = tuple((sym, _ieee_reciprocals(value)) for sym, value in lets)
    return sp.lambdify(params, _ieee_reciprocals(body), modules=[numpy_namespace(), "numpy"],
                       cse=lambda e: (list(lets), e), printer=printer)


def _ieee_reciprocals(e: sp.Basic) -> sp.Basic:
    """`e` with negative powers of the number 0 (x / 0.0, kept unevaluated) as IEEE's inf: printed as
    they stand, Python divides two floats and raises ZeroDivisionError."""
    zeros = {t: sp.oo for t in e.atoms(sp.Pow) if t.base.is_Number and t.base.is_zero and t.exp.is_negative}
    return _put(e, zeros) if zeros else e  # unevaluated: SymPy would fold exp(x) * oo into oo


def expand(lets: Lets, body: sp.Expr) -> sp.Expr:
    """The body with its let-bound values substituted (for display of small kernels)."""
    for sym, value in reversed(lets):
        body = body.xreplace({sym: value})
    return body


class FusedBase(Op):
    """A kernel with a scalar body: no reverse rule (fusion runs after differentiation)."""

    def pullback(self, node, g):
        raise GraphcError(f"{self.name}: fused kernels have no gradient; differentiate the graph "
                          "before optimizing it", loc=node.loc)

    def evaluate(self, params: tuple, arrays: Sequence[np.ndarray], shape: tuple, dtype: str) -> np.ndarray:
        out = compile_body(params, self.lets, self.body)(*ew.widened(arrays))  # 16-bit: per-op rounding in the body
        return np.broadcast_to(np.asarray(out, dtype=dtype), shape)


class _OverDomain(FusedBase):
    """A kernel over an iteration space it carries (`domain`): constants folded into its body
    may be what gave the result its shape, so the inputs alone do not say it."""

    def domain_of(self, inputs: Sequence[Tensor]) -> tuple:
        return broadcast_dims(self.name, [self.domain] + [t.shape for t in inputs], inputs)

    def runtime_domain(self, arrays: Sequence[np.ndarray]) -> tuple:
        return np.broadcast_shapes(tuple(1 if d is None else d for d in self.domain), *(a.shape for a in arrays))


class FusedElementwise(_OverDomain):
    name = "fused"
    kernel_kind = "elementwise"
    fields = ("lets", "body", "n_inputs", "dtype", "domain")

    def describe_attrs(self):
        return {"body": str(self.body)}

    def infer(self, *inputs):
        return self.domain_of(inputs), self.dtype

    def numpy(self, *arrays):
        return self.evaluate(input_symbols(self.n_inputs), arrays, self.runtime_domain(arrays), self.dtype)

    def format(self, args):
        return f"fused[{self.body}]({', '.join(args)})"


class FusedReduce(_OverDomain):
    """reduce(body(inputs)) over `axes`: elementwise producers feeding a reduction, in one pass.
    `reduction` is the reduction's class (a `Monoid`): the kernel folds with its facts."""

    name = "fused_reduce"
    fields = ("lets", "body", "n_inputs", "reduction", "axes", "keepdims", "dtype", "domain")
    kernel_kind = "reduce"

    def describe_attrs(self):
        return {"body": str(self.body), "reduce": self.reduction.name, "axis": self.axes}

    def infer(self, *inputs):
        dom = self.domain_of(inputs)
        if self.keepdims:
            return tuple(1 if i in self.axes else d for i, d in enumerate(dom)), self.dtype
        return tuple(d for i, d in enumerate(dom) if i not in self.axes), self.dtype

    def numpy(self, *arrays):
        values = self.evaluate(input_symbols(self.n_inputs), arrays, self.runtime_domain(arrays), self.dtype)
        return self.reduction(self.axes, self.keepdims).numpy(values)

    def format(self, args):
        return f"{self.reduction.name}[{self.body}]({', '.join(args)}, axis={self.axes})"


class MatMulEpilogue(FusedBase):
    """body(a @ b, extra inputs): bias and activation applied as the product is written."""

    name = "matmul_epilogue"
    kernel_kind = "matmul"
    fields = ("lets", "body", "n_extra", "dtype")

    def describe_attrs(self):
        return {"body": str(self.body)}

    def infer(self, a, b, *extra):
        shape = MatMul().infer(a, b)[0]
        return broadcast_dims(self.name, [shape] + [t.shape for t in extra], (a, b) + extra), self.dtype

    def numpy(self, a, b, *extra):
        acc = np.asarray(MatMul().numpy(a, b)).astype(a.dtype, copy=False)  # the product as the matmul alone rounds it
        shape = np.broadcast_shapes(acc.shape, *(e.shape for e in extra))
        return self.evaluate((ACC,) + input_symbols(self.n_extra), (acc,) + extra, shape, self.dtype)

    def format(self, args):
        return f"epilogue[{self.body}]({args[0]} @ {args[1]}, {', '.join(args[2:])})"


def monoid_of(op: Op) -> type[Monoid] | None:
    """The reduction a reduce kernel folds with: the op's own class, or the one a fused reduction carries
    (None for reductions that are no fold, argmax and argmin)."""
    if isinstance(op, FusedReduce):
        return op.reduction
    return type(op) if isinstance(op, Monoid) else None
