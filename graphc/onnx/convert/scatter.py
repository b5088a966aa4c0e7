"""Index-addressed reads and writes: GatherElements, GatherND, ScatterElements/Scatter, ScatterND.

Each flattens the addressed axes and turns the ONNX index tuples into one row index computed in the
graph (the indices may be inputs), then reads with graphc's `take` or writes with its scatter-add
(`ScatterAdd`, the transpose of `take`): a plain write is a select between the data and the scattered
updates where an index hit."""
from __future__ import annotations

import numpy as np

from ... import ops as G
from ...ir import Tensor
from ...ops.index import ScatterAdd
from ..errors import Unsupported
from ..registry import NodeCtx, converter


def _known(ctx: NodeCtx, *xs):
    for x in xs:
        if None in x.shape:
            raise Unsupported(f"{ctx.op_type} of a tensor with free dims {x.type_str()}")


def _nonneg(idx, sizes):
    """Indices with negative ones counted from the end of their axis (`sizes` broadcasts against idx)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    idx = G.cast(idx, "int64")
    return G.where(G.less(idx, np.int64(0)), G.add(idx, sizes), idx)


def _element_rows(ctx: NodeCtx, data, idx, axis: int):
    """For the Elements ops: each index's position in data flattened."""
    strides = np.cumprod((data.shape[1:] + (1,))[::-1])[::-1].astype(np.int64)
    rows = G.multiply(_nonneg(idx, data.shape[axis]), np.int64(strides[axis]))
    grid = np.indices(idx.shape)
    offset = sum(grid[a] * strides[a] for a in range(data.ndim) if a != axis)
    return G.reshape(G.add(rows, np.asarray(offset, np.int64)), (-1,))


def _nd_rows(ctx: NodeCtx, data, idx):
    """For the ND ops: each index tuple (the last axis of idx) as a row of data viewed (rows, rest)."""
    if ctx.attr("batch_dims", 0):
        raise Unsupported(f"{ctx.op_type} with batch_dims")
    k = idx.shape[-1]
    strides = np.cumprod((data.shape[1:k] + (1,))[::-1])[::-1].astype(np.int64)
    rows = G.sum(G.multiply(_nonneg(idx, data.shape[:k]), strides), -1)
    return G.reshape(rows, (-1,)), k


def _scatter(ctx: NodeCtx, flat, rows, updates, shape):
    reduction = ctx.attr("reduction", "none")
    added = Tensor.make(ScatterAdd(0), [updates, rows, flat])
    if reduction == "add":
        return G.reshape(G.add(flat, added), shape)
    if reduction != "none":
        raise Unsupported(f"{ctx.op_type} with reduction={reduction!r} (graphc scatters by adding)")
    hits = Tensor.make(ScatterAdd(0), [G.ones_like(updates), rows, flat])
    return G.reshape(G.where(G.greater(hits, np.zeros((), flat.dtype)), added, flat), shape)


@converter("GatherElements")
def gather_elements(ctx: NodeCtx):
    x, idx = ctx.tensor(0), ctx.tensor(1)
    _known(ctx, x, idx)
    rows = _element_rows(ctx, x, idx, ctx.axis(ctx.attr("axis", 0), x.ndim))
    return G.reshape(G.take(G.reshape(x, (-1,)), rows), idx.shape)


@converter("GatherND")
def gather_nd(ctx: NodeCtx):
    x, idx = ctx.tensor(0), ctx.tensor(1)
    _known(ctx, x, idx)
    rows, k = _nd_rows(ctx, x, idx)
    table = G.reshape(x, (int(np.prod(x.shape[:k], dtype=np.int64)),) + x.shape[k:])
    return G.reshape(G.take(table, rows), idx.shape[:-1] + x.shape[k:])


@converter("ScatterElements", "Scatter")
def scatter_elements(ctx: NodeCtx):
    x, idx, updates = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2)
    _known(ctx, x, idx, updates)
    rows = _element_rows(ctx, x, idx, ctx.axis(ctx.attr("axis", 0), x.ndim))
    return _scatter(ctx, G.reshape(x, (-1,)), rows, G.reshape(updates, (-1,)), x.shape)


@converter("ScatterND")
def scatter_nd(ctx: NodeCtx):
    x, idx, updates = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2)
    _known(ctx, x, idx, updates)
    rows, k = _nd_rows(ctx, x, idx)
    rest = x.shape[k:]
    table = G.reshape(x, (int(np.prod(x.shape[:k], dtype=np.int64)),) + rest)
    return _scatter(ctx, table, rows, G.reshape(updates, (-1,) + rest), x.shape)
