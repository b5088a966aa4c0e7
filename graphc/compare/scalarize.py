"""A graph with small static shapes, turned into one SymPy expression per element.

Elementwise ops use their own SymPy definition (`op.scalar`); reductions and
matrix products become n-ary sums, products and maxima; ops that only move
elements (reshape, transpose, broadcast, slice, concatenate, ...) run their own
NumPy rule on object arrays of expressions. Shared graph nodes stay shared
Python objects, so the result is a DAG: its *tree* size is the swell.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy as sp

from ..ir import Constant, GraphcError, Parameter, Placeholder, Tensor, toposort
from ..ir.dtypes import is_float
from ..ops import elementwise as ew
from ..ops import index, linalg, reduce, shape
from .limits import Budget
from .sizes import TreeSizer

#: Ops whose NumPy rule only moves elements: it works on object arrays as they are.
MOVERS = (shape.Reshape, shape.ExpandDims, shape.Squeeze, shape.Transpose, shape.BroadcastTo,
          shape.BroadcastLike, shape.Concatenate, index.Slice, index.ScatterSlice)



class ScalarizeError(GraphcError, NotImplementedError):
    """An op of the graph has no scalar (SymPy) form here, so the symbolic method cannot run on it."""


#: comparisons as SymPy relations that evaluate (the ops' own bodies keep x == x unevaluated, for kernels)
_RELATIONS = {ew.Less: sp.Lt, ew.LessEqual: sp.Le, ew.Greater: sp.Gt, ew.GreaterEqual: sp.Ge,
              ew.Equal: sp.Eq, ew.NotEqual: sp.Ne}


def symbols_like(t: Tensor, name: str) -> np.ndarray:
    """Real SymPy symbols shaped like `t`: `w` for a scalar, `w_0_1` for element (0, 1)."""
    out = np.empty(t.shape, dtype=object)
    for i in np.ndindex(*t.shape):
        out[i] = sp.Symbol("_".join([name, *map(str, i)]), real=True)
    return out


def number(value: Any, dtype: str) -> sp.Expr:
    """An exact SymPy number for one array element (the simplest fraction that rounds to it)."""
    if dtype == "bool":
        return sp.true if value else sp.false
    if not is_float(dtype):
        return sp.Integer(int(value))
    f = float(value)
    if not np.isfinite(f):
        return sp.nan if np.isnan(f) else (sp.oo if f > 0 else -sp.oo)
    nice = Fraction(f).limit_denominator(1000)
    if np.dtype(dtype).type(nice.numerator / nice.denominator) == np.dtype(dtype).type(f):
        return sp.Rational(nice.numerator, nice.denominator)
    exact = Fraction(f)
    return sp.Rational(exact.numerator, exact.denominator)


def numbers(array: np.ndarray, dtype: str) -> np.ndarray:
    out = np.empty(np.shape(array), dtype=object)
    for i in np.ndindex(*out.shape):
        out[i] = number(np.asarray(array)[i], dtype)
    return out


def scalarize(outputs: Sequence[Tensor], leaves: Mapping[Tensor, np.ndarray],
              budget: Budget | None = None, sizer: TreeSizer | None = None) -> list[np.ndarray]:
    """Object arrays of SymPy expressions, one per output.

    `leaves` gives each placeholder (and any parameter to keep symbolic) an array of
    symbols or numbers; other parameters and constants enter as exact numbers. With a
    `budget`, the largest element tree is checked after every node.
    """
    sizer = sizer or TreeSizer()
    order = toposort(list(outputs))
    env: dict[Tensor, np.ndarray] = {}
    for k, node in enumerate(order):
        if None in node.shape:
            raise ValueError(f"scalarize: {node!r} has a free dim; give placeholders static shapes")
        if node in leaves:
            env[node] = np.asarray(leaves[node], dtype=object).reshape(node.shape)
        else:
            env[node] = _evaluate(node, [env[i] for i in node.inputs])
        if budget is not None and not node.op.is_leaf:
            where = f"node {k + 1}/{len(order)} ({node.op.name})"
            budget.check_tree(max((sizer(e) for e in env[node].flat), default=0), where)
    return [env[o] for o in outputs]


def _evaluate(node: Tensor, args: list[np.ndarray]) -> np.ndarray:
    op = node.op
    if isinstance(op, (Constant, Parameter)):
        return numbers(op.value if isinstance(op, Constant) else op.state.array, node.dtype)
    if isinstance(op, Placeholder):
        raise ValueError(f"scalarize: no symbols or values given for placeholder {node!r}")
    if isinstance(op, ew.Elementwise):
        return _elementwise(node, args)
    if isinstance(op, MOVERS):
        return _sympified(np.array(op.numpy(*args), dtype=object))
    rule = _RULES.get(type(op))
    if rule is None:
        raise ScalarizeError(f"scalarize: no scalar rule for the op {op.name} ({node.type_str()})", loc=node.loc,
                             fix="compare graphs built from elementwise ops, views, reductions and products, or "
                                 "add a rule for the op to graphc.compare.scalarize._RULES")
    return rule(node, args)


def _sympified(a: np.ndarray) -> np.ndarray:
    for i in np.ndindex(*a.shape):
        a[i] = sp.sympify(a[i])
    return a


def _elementwise(node: Tensor, args: list[np.ndarray]) -> np.ndarray:
    op = node.op
    fn: Callable[..., sp.Basic]
    if isinstance(op, ew.Where):
        fn = lambda c, a, b: sp.Piecewise((a, c), (b, True))  # noqa: E731
    elif isinstance(op, ew.Cast):
        fn = _cast_rule(node.inputs[0].dtype, op.dtype)
    elif type(op) in _RELATIONS:
        fn = _RELATIONS[type(op)]
    else:
        fn = op.scalar
    parts = np.broadcast_arrays(*args)
    out = np.empty(node.shape, dtype=object)
    for i in np.ndindex(*node.shape):
        out[i] = fn(*(p[i] for p in parts))
    return out


def _cast_rule(src: str, dst: str) -> Callable[[sp.Basic], sp.Basic]:
    if src == "bool" and dst != "bool":
        return lambda c: sp.Piecewise((1, c), (0, True))
    if is_float(dst) or not is_float(src):
        return lambda x: x
    raise ScalarizeError(f"scalarize: no scalar rule for a cast from {src} to {dst} (it truncates toward zero)",
                         fix="keep the compared graph in floats, or cast to a float dtype")


def along(a: np.ndarray, axes: Sequence[int], row: Callable[[list], Any], keepdims: bool) -> np.ndarray:
    """`row(elements)` for each line of `a` through `axes` (a reduction over them)."""
    rest = [i for i in range(a.ndim) if i not in axes]
    moved = np.transpose(a, rest + list(axes))
    lines = moved.reshape(moved.shape[:len(rest)] + (-1,))
    out = np.empty(lines.shape[:-1], dtype=object)
    for i in np.ndindex(*out.shape):
        out[i] = row(list(lines[i]))
    return np.expand_dims(out, tuple(axes)) if keepdims else out


def _reduction(row: Callable[[list], sp.Basic]) -> Callable:
    def rule(node: Tensor, args: list[np.ndarray]) -> np.ndarray:
        return along(args[0], node.op.axes, row, node.op.keepdims)
    return rule


def _logsumexp(xs: list) -> sp.Basic:
    return sp.log(sp.Add(*[sp.exp(x) for x in xs]))


def _per_line(fn: Callable[[list], list]) -> Callable:
    """Softmax-like ops: each line along the op's axis maps to a line."""
    def rule(node: Tensor, args: list[np.ndarray]) -> np.ndarray:
        a = np.moveaxis(args[0], node.op.axis, -1)
        out = np.empty(a.shape, dtype=object)
        for i in np.ndindex(*a.shape[:-1]):
            out[i] = fn(list(a[i]))
        return np.moveaxis(out, -1, node.op.axis)
    return rule


def _softmax(xs: list) -> list:
    es = [sp.exp(x) for x in xs]
    total = sp.Add(*es)
    return [e / total for e in es]


def _log_softmax(xs: list) -> list:
    lse = _logsumexp(xs)
    return [x - lse for x in xs]


def _matmul(node: Tensor, args: list[np.ndarray]) -> np.ndarray:
    a, b = args
    a2 = a if a.ndim > 1 else a[None, :]
    b2 = b if b.ndim > 1 else b[:, None]
    products = a2[..., :, :, None] * b2[..., None, :, :]  # (..., i, k, j)
    out = along(products, [products.ndim - 2], lambda terms: sp.Add(*terms), keepdims=False)
    return out.reshape(node.shape)


def _take(node: Tensor, args: list[np.ndarray]) -> np.ndarray:
    x, idx = args
    return np.take(x, np.asarray(idx, dtype=np.int64), axis=node.op.axis)


def _scatter_add(node: Tensor, args: list[np.ndarray]) -> np.ndarray:
    g, idx, _ = args
    out = np.full(node.shape, sp.Integer(0), dtype=object)
    np.add.at(out, (slice(None),) * node.op.axis + (np.asarray(idx, dtype=np.int64),), g)
    return out


def _count(node: Tensor, args: list[np.ndarray]) -> np.ndarray:
    return numbers(node.op.numpy(args[0]), node.dtype)


_RULES: dict[type, Callable[[Tensor, list[np.ndarray]], np.ndarray]] = {
    reduce.Sum: _reduction(lambda xs: sp.Add(*xs)),
    reduce.Prod: _reduction(lambda xs: sp.Mul(*xs)),
    reduce.Max: _reduction(lambda xs: sp.Max(*xs)),
    reduce.Min: _reduction(lambda xs: sp.Min(*xs)),
    reduce.LogSumExp: _reduction(_logsumexp),
    reduce.Softmax: _per_line(_softmax),
    reduce.LogSoftmax: _per_line(_log_softmax),
    reduce.Count: _count,
    linalg.MatMul: _matmul,
    index.Take: _take,
    index.ScatterAdd: _scatter_add,
}
