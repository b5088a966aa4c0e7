"""Shape ops: Shape/Size (known at import time), Reshape, Flatten, Transpose, Squeeze/Unsqueeze, Concat,
Split, Slice, Expand, Tile, Pad, DepthToSpace/SpaceToDepth."""
from __future__ import annotations

import numpy as np

from ... import ops as G
from ..errors import Unsupported
from ..registry import NodeCtx, converter


def _known(ctx: NodeCtx, x, what: str) -> tuple[int, ...]:
    if None in x.shape:
        raise Unsupported(f"{what} of a tensor with free dims {x.type_str()}; fix the input shapes with "
                          "load(..., input_shapes=...)")
    return x.shape


@converter("Shape")
def shape(ctx: NodeCtx):
    x = ctx.tensor(0)
    dims = np.array(_known(ctx, x, "Shape"), dtype=np.int64)
    start, end = ctx.attr("start", 0), ctx.attr("end", None)
    return dims[slice(start, end)]


@converter("Size")
def size(ctx: NodeCtx):
    return np.array(int(np.prod(_known(ctx, ctx.tensor(0), "Size"), dtype=np.int64)), dtype=np.int64)


@converter("Reshape")
def reshape(ctx: NodeCtx):
    x = ctx.tensor(0)
    target = ctx.ints(1, "shape") if ctx.version >= 5 else list(ctx.attr("shape"))
    if not ctx.attr("allowzero", 0):
        target = [x.shape[i] if d == 0 else d for i, d in enumerate(target)]
    if None in target:
        if target.count(None) != 1 or -1 in target:
            raise Unsupported(f"Reshape of {x.type_str()} to {target}: more than one size follows the free dims")
        target = [-1 if d is None else d for d in target]
    return G.reshape(x, tuple(target))


@converter("Flatten")
def flatten(ctx: NodeCtx):
    x = ctx.tensor(0)
    axis = ctx.attr("axis", 1)
    axis = axis + x.ndim if axis < 0 else axis
    dims = _known(ctx, x, "Flatten")
    rows = int(np.prod(dims[:axis], dtype=np.int64))
    return G.reshape(x, (rows, int(np.prod(dims[axis:], dtype=np.int64))))


@converter("Transpose")
def transpose(ctx: NodeCtx):
    x = ctx.tensor(0)
    perm = ctx.attr("perm")
    return G.transpose(x, None if perm is None else tuple(perm))


def _axes_arg(ctx: NodeCtx, since: int) -> list[int] | None:
    if ctx.version >= since:
        return ctx.ints(1, "axes") if ctx.has(1) else None
    axes = ctx.attr("axes")
    return None if axes is None else list(axes)


@converter("Squeeze")
def squeeze(ctx: NodeCtx):
    x = ctx.tensor(0)
    axes = _axes_arg(ctx, 13)
    if axes is None:
        return G.squeeze(x)
    return G.squeeze(x, tuple(ctx.axis(a, x.ndim) for a in axes))


@converter("Unsqueeze")
def unsqueeze(ctx: NodeCtx):
    x = ctx.tensor(0)
    axes = _axes_arg(ctx, 13) or []
    rank = x.ndim + len(axes)
    return G.expand_dims(x, tuple(sorted(ctx.axis(a, rank) for a in axes)))


@converter("Concat")
def concat(ctx: NodeCtx):
    xs = ctx.tensors()
    return G.concatenate(xs, ctx.axis(ctx.attr("axis", 1), xs[0].ndim))  # the default is Concat-1's


@converter("Split")
def split(ctx: NodeCtx):
    x = ctx.tensor(0)
    axis = ctx.axis(ctx.attr("axis", 0), x.ndim)
    n = x.shape[axis]
    if n is None:
        raise Unsupported("Split along a free dim")
    if ctx.version >= 13 and ctx.has(1):
        sizes = ctx.ints(1, "split")
    elif ctx.version < 13 and ctx.attr("split"):
        sizes = list(ctx.attr("split"))
    else:
        parts = ctx.attr("num_outputs", ctx.n_outputs)
        step = -(-n // parts)
        sizes = [min(step, n - k * step) for k in range(parts)]
    if sum(sizes) != n:
        raise Unsupported(f"Split sizes {sizes} do not add up to {n}")
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return [G.slice_axis(x, axis, int(a), int(b)) for a, b in zip(starts[:-1], starts[1:])]


@converter("Slice")
def slice_(ctx: NodeCtx):
    x = ctx.tensor(0)
    if ctx.version < 10:
        starts, ends = list(ctx.attr("starts")), list(ctx.attr("ends"))
        axes = list(ctx.attr("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = ctx.ints(1, "starts"), ctx.ints(2, "ends")
        axes = ctx.ints(3, "axes") if ctx.has(3) else list(range(len(starts)))
        steps = ctx.ints(4, "steps") if ctx.has(4) else [1] * len(starts)
    key = [slice(None)] * x.ndim
    for a, s, e, st in zip(axes, starts, ends, steps):
        key[ctx.axis(a, x.ndim)] = slice(s, e, st)
    return G.getitem(x, tuple(key))


def _aligned(x, rank: int):
    """`x` with leading unit axes up to `rank` (NumPy's broadcast alignment)."""
    return G.reshape(x, (1,) * (rank - x.ndim) + x.shape) if rank > x.ndim else x


@converter("Expand")
def expand(ctx: NodeCtx):
    x = ctx.tensor(0)
    target = ctx.ints(1, "shape")
    dims = _known(ctx, x, "Expand")
    try:
        out = np.broadcast_shapes(dims, tuple(target))
    except ValueError:
        raise Unsupported(f"Expand of {x.type_str()} to {target}: the shapes do not broadcast") from None
    return G.broadcast_to(_aligned(x, len(out)), out)


@converter("Tile")
def tile(ctx: NodeCtx):
    x = ctx.tensor(0)
    reps = ctx.ints(1, "repeats")
    dims = _known(ctx, x, "Tile")
    # x[None, a, None, b, ...] broadcast to (r0, a, r1, b, ...) then merged: each axis repeated whole
    inter = G.expand_dims(x, tuple(2 * i for i in range(x.ndim)))
    big = tuple(v for r, d in zip(reps, dims) for v in (r, d))
    return G.reshape(G.broadcast_to(inter, big), tuple(r * d for r, d in zip(reps, dims)))


def _pad_index(mode: str, n: int, before: int, after: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Indices into an axis of size n that make its padded version, and (constant mode) which are real."""
    idx = np.arange(-before, n + after)
    if mode == "constant":
        valid = (idx >= 0) & (idx < n)
        return np.clip(idx, 0, max(n - 1, 0)), valid
    if mode == "edge":
        return np.clip(idx, 0, n - 1), None
    if mode == "wrap":
        return np.mod(idx, n), None
    if n == 1:
        return np.zeros_like(idx), None
    period = 2 * (n - 1)
    j = np.mod(np.abs(idx), period)
    return np.where(j >= n, period - j, j), None


@converter("Pad")
def pad(ctx: NodeCtx):
    x = ctx.tensor(0)
    mode = ctx.attr("mode", "constant")
    if mode not in ("constant", "reflect", "edge", "wrap"):
        raise Unsupported(f"Pad mode {mode!r}")
    if ctx.version < 11:
        pads, value, axes = list(ctx.attr("pads" if ctx.version >= 2 else "paddings")), ctx.attr("value", 0.0), None
    else:
        pads = ctx.ints(1, "pads")
        value = ctx.tensor(2) if ctx.has(2) else None
        axes = ctx.ints(3, "axes") if ctx.has(3) else None
    dims = _known(ctx, x, "Pad")
    axes = list(range(x.ndim)) if axes is None else [ctx.axis(a, x.ndim) for a in axes]
    k = len(axes)
    mask = None
    for i, a in enumerate(axes):
        before, after = pads[i], pads[i + k]
        if before == 0 and after == 0:
            continue
        if mode != "constant" and dims[a] == 0:
            raise Unsupported(f"Pad mode {mode!r} of an empty axis")
        idx, valid = _pad_index(mode, dims[a], before, after)
        x = G.take(x, idx.astype(np.int64), axis=a)
        if valid is not None and not valid.all():
            shape = [1] * x.ndim
            shape[a] = len(valid)
            m = valid.reshape(shape)
            mask = m if mask is None else mask & m
    if mask is None:
        return x
    fill = G.cast(value, x.dtype) if value is not None and not isinstance(value, float) else \
        np.asarray(0 if value is None else value, dtype=x.dtype)
    return G.where(np.broadcast_to(mask, x.shape), x, fill)


@converter("DepthToSpace")
def depth_to_space(ctx: NodeCtx):
    x = ctx.tensor(0)
    b = ctx.attr("blocksize")
    n, c, h, w = _known(ctx, x, "DepthToSpace")
    if ctx.attr("mode", "DCR") == "DCR":
        t = G.transpose(G.reshape(x, (n, b, b, c // (b * b), h, w)), (0, 3, 4, 1, 5, 2))
    else:
        t = G.transpose(G.reshape(x, (n, c // (b * b), b, b, h, w)), (0, 1, 4, 2, 5, 3))
    return G.reshape(t, (n, c // (b * b), h * b, w * b))


@converter("SpaceToDepth")
def space_to_depth(ctx: NodeCtx):
    x = ctx.tensor(0)
    b = ctx.attr("blocksize")
    n, c, h, w = _known(ctx, x, "SpaceToDepth")
    order = (0, 3, 5, 1, 2, 4) if ctx.attr("mode", "DCR") == "DCR" else (0, 1, 3, 5, 2, 4)
    t = G.transpose(G.reshape(x, (n, c, h // b, b, w // b, b)), order)
    return G.reshape(t, (n, c * b * b, h // b, w // b))
