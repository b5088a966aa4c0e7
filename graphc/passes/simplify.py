"""Algebraic simplification and constant folding, as rule tables indexed by op."""
from __future__ import annotations

import numpy as np

from ..ir import Constant, Tensor, constant
from ..ir.leaves import Leaf
from ..ir.node import Op
from ..ops import elementwise as ew
from ..ops.index import ScatterSlice
from ..ops.linalg import MatMul
from ..ops.reduce import Sum
from ..ops.shape import (BroadcastLike, BroadcastTo, Concatenate, ExpandDims, Reshape, Squeeze, Transpose,
                         broadcast_to, concatenate, reshape, transpose)
from .patterns import const_value, filled, is_const, is_op, same_type_as, scalar_const
from .rewrite import RuleSet, uses

SIMPLIFY = RuleSet("simplify")
FOLD = RuleSet("fold")
FOLD_LIMIT = 1 << 16  # elements: larger constants are left to compute at run time


@SIMPLIFY.rule(ew.Add, name="x+0")
def add_zero(node: Tensor):
    a, b = node.inputs
    if is_const(b, 0):
        return same_type_as(a, node)
    if is_const(a, 0):
        return same_type_as(b, node)
    return None


@SIMPLIFY.rule(ew.Subtract, name="x-0")
def sub_zero(node: Tensor):
    a, b = node.inputs
    if is_const(b, 0):
        return same_type_as(a, node)
    if is_const(a, 0):
        return same_type_as(ew.negative(b), node)
    return None


def _slab(node: Tensor) -> tuple[int, int, int] | None:
    """(axis, start, stop) of a scatter_slice that writes one contiguous range of one axis (whole others)."""
    key = node.op.key if isinstance(node.op, ScatterSlice) else None
    if key is None or len(key) > node.ndim or any(k[0] != "slice" for k in key):
        return None
    ranges = [slice(*k[1:]).indices(n) for k, n in zip(key, node.shape)]
    partial = [(axis, r) for axis, (r, n) in enumerate(zip(ranges, node.shape)) if r != (0, n, 1)]
    if len(partial) != 1 or partial[0][1][2] != 1:
        return None
    axis, (start, stop, _) = partial[0]
    return axis, start, stop


@SIMPLIFY.rule(ew.Add, name="adjacent slices")
def adjacent_slices(node: Tensor):
    """In a sum, scatter_slice(a)[i:j] + scatter_slice(b)[j:k] = scatter_slice(concatenate(a, b))[i:k],
    and a whole axis is the concatenate alone: the gradient of cutting a tensor into parts (an LSTM's
    four gates, summed in any order) becomes one copy, not one zero-filled tensor per part and a sum."""
    terms = _addends(node)
    slabs = sorted(((slab, n, t) for n, t in enumerate(terms)
                    if t.shape == node.shape and t.dtype == node.dtype and (slab := _slab(t)) is not None),
                   key=lambda x: x[0])
    runs: list[list] = []
    for slab, n, t in slabs:
        if runs and runs[-1][-1][0][0] == slab[0] and runs[-1][-1][0][2] == slab[1]:
            runs[-1].append((slab, n, t))
        else:
            runs.append([(slab, n, t)])
    runs = [r for r in runs if len(r) > 1]
    if not runs:
        return None
    merged = {id(t) for r in runs for _, _, t in r}
    out = [t for t in terms if id(t) not in merged] + [_joined(node, r) for r in runs]
    total = out[0]
    for t in out[1:]:
        total = ew.add(total, t)
    return same_type_as(total, node)


def _addends(node: Tensor) -> list[Tensor]:
    """The terms of the sum tree under `node`: additions of its shape that nothing else reads are opened."""
    out, stack = [], list(reversed(node.inputs))
    while stack:
        x = stack.pop()
        if isinstance(x.op, ew.Add) and x.shape == node.shape and x.dtype == node.dtype and uses(x) == 1:
            stack.extend(reversed(x.inputs))
        else:
            out.append(x)
    return out


def _joined(node: Tensor, run: list) -> Tensor:
    """One scatter_slice (or the bare concatenate, for a whole axis) for scatter_slices of adjacent ranges."""
    axis, start, stop = run[0][0][0], run[0][0][1], run[-1][0][2]
    joined = concatenate([p for _, _, t in run for p in _parts(t.inputs[0], axis)], axis)
    if (start, stop) == (0, node.shape[axis]):
        return joined
    key = tuple(("slice", start, stop, None) if i == axis else ("slice", None, None, None) for i in range(node.ndim))
    return Tensor.make(ScatterSlice(key), [joined, run[0][2].inputs[1]])


def _parts(x: Tensor, axis: int) -> tuple[Tensor, ...]:
    """The pieces of a concatenate along `axis` that nothing else reads (else x itself)."""
    return x.inputs if isinstance(x.op, Concatenate) and x.op.axis == axis and uses(x) == 1 else (x,)


@SIMPLIFY.rule(Concatenate, name="concatenate(concatenate)")
def nested_concatenate(node: Tensor):
    """concatenate(concatenate(a, b), c) along one axis is concatenate(a, b, c): one copy of a and b."""
    parts = [p for x in node.inputs for p in _parts(x, node.op.axis)]
    return Tensor.make(Concatenate(node.op.axis), parts) if len(parts) > len(node.inputs) else None


@SIMPLIFY.rule(ew.Multiply, name="x*1,x*0")
def mul_identity(node: Tensor):
    """x * 0 is 0 only for a constant finite x: inf * 0 and nan * 0 are nan (fast math folds any x)."""
    a, b = node.inputs
    for x, c in ((a, b), (b, a)):
        if is_const(c, 1):
            return same_type_as(x, node)
        if is_const(c, 0) and _finite_const(x):
            return filled(node, 0)
        if is_const(c, -1):
            return same_type_as(ew.negative(x), node)
    return None


def _finite_const(t: Tensor) -> bool:
    v = const_value(t)
    return v is not None and bool(np.all(np.isfinite(v)))


@SIMPLIFY.rule(ew.Multiply, name="c*(c*x)")
def mul_constants(node: Tensor):
    a, b = node.inputs
    ca, cb = scalar_const(a), scalar_const(b)
    for c, other in ((ca, b), (cb, a)):
        if c is None or other.op is not ew.MUL:
            continue
        x, y = other.inputs
        for inner_c, rest in ((scalar_const(x), y), (scalar_const(y), x)):
            if inner_c is not None:
                with np.errstate(all="ignore"):
                    product = np.asarray(c, node.dtype) * np.asarray(inner_c, node.dtype)
                if _keeps_specials(c, inner_c, product):
                    return same_type_as(ew.mul(rest, product[()].item()), node)
    return None


def _keeps_specials(c: float, d: float, product: np.ndarray) -> bool:
    """Whether (c * d) * x is inf or nan exactly where c * (d * x) is: not when c * d overflows to inf
    (then x = 0 gives nan) or underflows to 0 (then x = inf gives nan), nor for an inf or nan factor."""
    if not np.issubdtype(product.dtype, np.floating):
        return True
    return bool(np.isfinite(c) and np.isfinite(d) and np.isfinite(product) and (product != 0 or c == 0 or d == 0))


@SIMPLIFY.rule(ew.Divide, name="x/1")
def div_one(node: Tensor):
    a, b = node.inputs
    return same_type_as(a, node) if is_const(b, 1) else None


@SIMPLIFY.rule(ew.Negative, name="-(-x)")
def double_negation(node: Tensor):
    x = node.inputs[0]
    return x.inputs[0] if x.op is ew.NEG else None


@SIMPLIFY.rule(ew.Log, name="log(exp x)")
def log_exp(node: Tensor):
    """log(exp x) is x at +-inf and nan too; for large finite x it is the exact value where exp
    overflows (log(exp(1000)) would be inf)."""
    x = node.inputs[0]
    return x.inputs[0] if is_op(x, ew.EXP) else None


@SIMPLIFY.rule(Transpose, name="transpose(transpose)")
def transpose_transpose(node: Tensor):
    x = node.inputs[0]
    if not isinstance(x.op, Transpose):
        return None
    perm = tuple(x.op.perm[p] for p in node.op.perm)
    return transpose(x.inputs[0], perm)


@SIMPLIFY.rule(Transpose, name="(a@b).T")
def transpose_product(node: Tensor):
    """(a @ b)^T = b^T @ a^T, when nothing else reads a @ b: transposed operands are free (BLAS reads
    them as they are), a transposed result costs a strided pass in whatever reads it."""
    x = node.inputs[0]
    if not isinstance(x.op, MatMul) or node.op.perm != (1, 0) or any(i.ndim != 2 for i in x.inputs) or \
            uses(x) != 1:
        return None
    a, b = x.inputs
    return Tensor.make(MatMul(), [transpose(b), transpose(a)])


@SIMPLIFY.rule(Reshape, name="reshape chain")
def reshape_chain(node: Tensor):
    x = node.inputs[0]
    if isinstance(x.op, (Reshape, Squeeze, ExpandDims)) and None not in node.shape:
        return reshape(x.inputs[0], node.shape)
    return None


@SIMPLIFY.rule(Squeeze, ExpandDims, name="squeeze/expand_dims pair")
def squeeze_expand_pair(node: Tensor):
    """squeeze(expand_dims(x)) and expand_dims(squeeze(x)) over the same axes are x."""
    x = node.inputs[0]
    inverse = ExpandDims if isinstance(node.op, Squeeze) else Squeeze
    return x.inputs[0] if type(x.op) is inverse and x.op.axes == node.op.axes else None


@SIMPLIFY.rule(Sum, name="sum(broadcast)")
def sum_of_broadcast(node: Tensor):
    """Summing copies is multiplying: sum over axes a broadcast repeated is a product by their size."""
    x = node.inputs[0]
    if not isinstance(x.op, (BroadcastTo, BroadcastLike)):
        return None
    src = x.inputs[0]
    if src.ndim != x.ndim or any(x.shape[a] is None for a in node.op.axes):
        return None
    if not all(src.shape[a] == 1 for a in node.op.axes):
        return None
    n = int(np.prod([x.shape[a] for a in node.op.axes]))
    if n == 0:  # a sum of no copies is 0 even for inf or nan copies (x * 0 would be nan)
        return filled(node, 0)
    kept = src if node.op.keepdims else Tensor.make(Squeeze(node.op.axes), [src])
    return same_type_as(ew.mul(kept, n), node)


@SIMPLIFY.rule(Sum, name="sum(sum)")
def sum_of_sum(node: Tensor):
    """Two sums in a row are one sum over both sets of axes (one pass over the data); with different
    keepdims, one sum that keeps them, reshaped (so it matches, and CSE merges, the other orders)."""
    x = node.inputs[0]
    if not isinstance(x.op, Sum) or (x.op.keepdims != node.op.keepdims and None in node.shape):
        return None
    inner = x.op.axes
    kept = list(range(x.inputs[0].ndim)) if x.op.keepdims else \
        [i for i in range(x.inputs[0].ndim) if i not in inner]
    axes = tuple(sorted(set(inner) | {kept[a] for a in node.op.axes}))
    if x.op.keepdims == node.op.keepdims:
        return Tensor.make(Sum(axes, node.op.keepdims), [x.inputs[0]])
    return reshape(Tensor.make(Sum(axes, True), [x.inputs[0]]), node.shape)


@SIMPLIFY.rule(BroadcastTo, name="broadcast of a scalar")
def broadcast_scalar(node: Tensor):
    """A chain of views over a uniform constant becomes one broadcast of a 1-element constant."""
    x = node.inputs[0]
    v = scalar_const(x)
    if v is None or (isinstance(x.op, Constant) and x.size == 1 and x.ndim == node.ndim):
        return None
    return broadcast_to(constant(np.full((1,) * node.ndim, v, node.dtype)), node.shape)


def _foldable(node: Tensor) -> bool:
    op: Op = node.op
    if isinstance(op, Leaf) or isinstance(op, (BroadcastTo, BroadcastLike)):
        return False
    size = node.size
    return size is not None and size <= FOLD_LIMIT and all(isinstance(i.op, Constant) for i in node.inputs)


@FOLD.rule(Op, name="fold")
def fold_constants(node: Tensor):
    """Evaluate ops whose inputs are all constants (skipping large results and pure broadcasts)."""
    if not node.inputs or not _foldable(node):
        return None
    with np.errstate(all="ignore"):
        value = np.asarray(node.op.numpy(*[i.op.value for i in node.inputs]), dtype=node.dtype)
    return constant(value)
