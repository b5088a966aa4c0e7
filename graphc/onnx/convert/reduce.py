"""Reductions (Reduce*), ArgMax/ArgMin, Softmax and friends, CumSum."""
from __future__ import annotations

import numpy as np

from ... import ops as G
from ...ir.dtypes import is_float
from ..errors import Unsupported
from ..registry import NodeCtx, converter

#: The opset from which each reduction takes its axes as an input instead of an attribute.
_AXES_INPUT_FROM = {"ReduceSum": 13}


def _axes(ctx: NodeCtx, rank: int) -> tuple[int, ...] | None:
    """The reduced axes; None for the identity (empty axes with noop_with_empty_axes)."""
    if ctx.version >= _AXES_INPUT_FROM.get(ctx.op_type, 18):
        axes = ctx.ints(1, "axes") if ctx.has(1) else []
    else:
        axes = list(ctx.attr("axes", []))
    if not axes:
        return None if ctx.attr("noop_with_empty_axes", 0) else tuple(range(rank))
    return tuple(sorted({ctx.axis(a, rank) for a in axes}))


def _in_float(fn):
    """`fn` computed in float for an integer tensor, cast back (ReduceL2 and friends of ints)."""
    def run(x, axes, keep):
        if is_float(x.dtype):
            return fn(x, axes, keep)
        return G.cast(fn(G.cast(x, "float64"), axes, keep), x.dtype)
    return run


_REDUCE = {
    "ReduceSum": lambda x, a, k: G.sum(x, a, k),
    "ReduceMean": _in_float(lambda x, a, k: G.mean(x, a, k)),
    "ReduceMax": lambda x, a, k: G.max(x, a, k),
    "ReduceMin": lambda x, a, k: G.min(x, a, k),
    "ReduceProd": lambda x, a, k: G.prod(x, a, k),
    "ReduceL1": lambda x, a, k: G.sum(G.abs(x), a, k),
    "ReduceL2": _in_float(lambda x, a, k: G.sqrt(G.sum(G.square(x), a, k))),
    "ReduceLogSum": _in_float(lambda x, a, k: G.log(G.sum(x, a, k))),
    "ReduceLogSumExp": _in_float(lambda x, a, k: G.logsumexp(x, a, k)),
    "ReduceSumSquare": lambda x, a, k: G.sum(G.square(x), a, k),
}


@converter(*_REDUCE)
def reduce(ctx: NodeCtx):
    x = ctx.tensor(0)
    axes = _axes(ctx, x.ndim)
    if axes is None:
        return x
    if x.dtype == "bool":
        raise Unsupported(f"{ctx.op_type} of bool")
    if any(x.shape[a] == 0 for a in axes) and ctx.op_type in ("ReduceMax", "ReduceMin", "ReduceLogSumExp"):
        raise Unsupported(f"{ctx.op_type} over an empty axis (graphc's max/min need at least one element)")
    out = _REDUCE[ctx.op_type](x, axes, bool(ctx.attr("keepdims", 1)))
    return G.cast(out, x.dtype)


@converter("ArgMax", "ArgMin")
def arg_extremum(ctx: NodeCtx):
    x = ctx.tensor(0)
    axis = ctx.axis(ctx.attr("axis", 0), x.ndim)
    keep = bool(ctx.attr("keepdims", 1))
    fn = G.argmax if ctx.op_type == "ArgMax" else G.argmin
    if not ctx.attr("select_last_index", 0):
        return fn(x, axis, keep)
    flipped = G.slice_axis(x, axis, None, None, -1)
    return G.subtract(np.int64(x.shape[axis] - 1), fn(flipped, axis, keep))


def _coerced(ctx: NodeCtx, fn):
    """Opsets before 13 apply Softmax-like ops to x flattened to 2-D at `axis` (default 1)."""
    x = ctx.tensor(0)
    if ctx.version >= 13:
        return fn(x, ctx.axis(ctx.attr("axis", -1), x.ndim))
    axis = ctx.axis(ctx.attr("axis", 1), x.ndim)
    if None in x.shape:
        raise Unsupported(f"{ctx.op_type} (opset < 13) of a tensor with free dims")
    rows = int(np.prod(x.shape[:axis], dtype=np.int64))
    return G.reshape(fn(G.reshape(x, (rows, -1)), 1), x.shape)


@converter("Softmax")
def softmax(ctx: NodeCtx):
    return _coerced(ctx, G.softmax)


@converter("LogSoftmax")
def log_softmax(ctx: NodeCtx):
    return _coerced(ctx, G.log_softmax)


@converter("Hardmax")
def hardmax(ctx: NodeCtx):
    def fn(x, axis):
        hot = G.one_hot(G.argmax(x, axis), x.shape[axis], x.dtype)
        return G.transpose(hot, _moved_back(x.ndim, axis)) if axis != x.ndim - 1 else hot
    return _coerced(ctx, fn)


def _moved_back(rank: int, axis: int) -> tuple[int, ...]:
    """The permutation taking a new last axis back to `axis`."""
    order = list(range(rank - 1))
    order.insert(axis, rank - 1)
    return tuple(order)


@converter("CumSum")
def cumsum(ctx: NodeCtx):
    x = ctx.tensor(0)
    axis = ctx.axis(int(ctx.ints(1, "axis")[0]), x.ndim)
    n = x.shape[axis]
    if n is None:
        raise Unsupported("CumSum along a free dim")
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    exclusive, reverse = ctx.attr("exclusive", 0), ctx.attr("reverse", 0)
    keep = (i > j if exclusive else i >= j) if reverse else (i < j if exclusive else i <= j)
    tri = keep.astype(x.dtype if x.dtype != "bool" else "int64")
    order = [a for a in range(x.ndim) if a != axis] + [axis]
    moved = G.transpose(x, order) if axis != x.ndim - 1 else x
    out = G.matmul(moved, tri)
    return G.transpose(out, _moved_back(x.ndim, axis)) if axis != x.ndim - 1 else out
