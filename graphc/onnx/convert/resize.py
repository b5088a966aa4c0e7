"""Resize (and the older Upsample) as one linear map per resized axis.

Every mode ONNX defines (nearest, linear, cubic, with antialias, any coordinate transformation but
tf_crop_and_resize's extrapolation) resizes axis by axis, each output element a fixed combination of
the input elements along that axis. So the importer asks onnx's reference Resize for that combination:
it resizes the identity matrix along one axis, which gives the (in, out) weight matrix R. Nearest
modes then gather the chosen indices; the others contract the axis with R (a matmul, differentiable)."""
from __future__ import annotations

import numpy as np
from onnx import helper

from ... import ops as G
from ..errors import Unsupported
from ..registry import NodeCtx, converter


def _reference(ctx: NodeCtx, x: np.ndarray, roi, scales, sizes) -> np.ndarray:
    from onnx.reference import ReferenceEvaluator
    names, feeds = ["x"], {"x": x}
    for name, value in (("roi", roi), ("scales", scales), ("sizes", sizes)):
        names.append(name if value is not None else "")
        if value is not None:
            feeds[name] = value
    if ctx.version < 11:
        names = ["x", "scales"]
    attrs = {a.name: helper.get_attribute_value(a) for a in ctx.proto.attribute if a.name != "axes"}
    node = helper.make_node("Resize", names, ["y"], **attrs)
    return ReferenceEvaluator(node, opsets={"": ctx.opset}).run(None, feeds)[0]


def _full(values, axes: list[int], fill: float, rank: int, dtype) -> np.ndarray:
    out = np.full(rank, fill, dtype=dtype)
    out[axes] = values
    return out


@converter("Resize", since=10)
def resize(ctx: NodeCtx):
    x = ctx.tensor(0)
    if None in x.shape:
        raise Unsupported("Resize of a tensor with free dims")
    rank = x.ndim
    if ctx.attr("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize":
        raise Unsupported("Resize with coordinate_transformation_mode='tf_crop_and_resize' (extrapolation)")
    if ctx.attr("keep_aspect_ratio_policy", "stretch") != "stretch":
        raise Unsupported(f"Resize with keep_aspect_ratio_policy={ctx.attr('keep_aspect_ratio_policy')!r}")
    axes = [ctx.axis(a, rank) for a in ctx.attr("axes", range(rank))]
    if ctx.version < 11:
        roi, scales, sizes = None, ctx.static(1, "scales").astype(np.float32), None
    else:
        roi = ctx.static(1, "roi") if ctx.has(1) and ctx.static(1, "roi").size else None
        scales = ctx.static(2, "scales") if ctx.has(2) and ctx.static(2, "scales").size else None
        sizes = ctx.static(3, "sizes") if ctx.has(3) and ctx.static(3, "sizes").size else None
    if scales is not None:
        scales = _full(scales, axes, 1.0, rank, np.float32)
    if sizes is not None:
        sizes = _full(sizes, axes, 0, rank, np.int64)
        sizes[[a for a in range(rank) if a not in axes]] = np.array(x.shape)[[a for a in range(rank) if a not in axes]]
    if roi is not None:
        k = len(axes)
        roi = np.concatenate([_full(roi[:k], axes, 0, rank, roi.dtype), _full(roi[k:], axes, 1, rank, roi.dtype)])
    nearest = ctx.attr("mode", "nearest") == "nearest"
    for a in range(rank):
        n = x.shape[a]
        r = None if roi is None else np.array([0, roi[a], 1, roi[a + rank]], dtype=roi.dtype)
        if (scales is None or scales[a] == 1) and (sizes is None or sizes[a] == n) and r is None:
            continue
        weights = _reference(ctx, np.eye(n, dtype=np.float32), r, _pair(scales, a, 1), _pair(sizes, a, n))
        x = _apply(x, a, weights, nearest)
    return x


def _pair(values, axis: int, other):
    """Per-axis `values` for the 2-D problem (eye, resized along its second axis)."""
    return None if values is None else np.array([other, values[axis]], dtype=values.dtype)


def _apply(x, axis: int, weights: np.ndarray, nearest: bool):
    """x with `axis` mapped through the (in, out) matrix `weights`."""
    if weights.shape[0] == weights.shape[1] and np.array_equal(weights, np.eye(weights.shape[0])):
        return x
    if nearest:
        return G.take(x, weights.argmax(axis=0).astype(np.int64), axis=axis)
    order = [d for d in range(x.ndim) if d != axis] + [axis]
    moved = G.transpose(x, order) if axis != x.ndim - 1 else x
    out = G.matmul(moved, weights.astype(x.dtype))
    if axis == x.ndim - 1:
        return out
    back = list(range(x.ndim - 1))
    back.insert(axis, x.ndim - 1)
    return G.transpose(out, back)


@converter("Upsample", since=9)
def upsample(ctx: NodeCtx):
    x = ctx.tensor(0)
    mode = ctx.attr("mode", "nearest")
    scales = ctx.static(1, "scales").astype(np.float32)
    if None in x.shape:
        raise Unsupported("Upsample of a tensor with free dims")
    for a, s in enumerate(scales):
        n = x.shape[a]
        out = int(np.floor(n * s))
        src = np.arange(out) / s  # Upsample: asymmetric coordinates
        if mode == "nearest":
            x = G.take(x, np.minimum(np.floor(src), n - 1).astype(np.int64), axis=a)
        elif out != n:
            lo = np.minimum(np.floor(src).astype(np.int64), n - 1)
            hi, frac = np.minimum(lo + 1, n - 1), src - np.floor(src)
            w = np.zeros((n, out))
            w[lo, np.arange(out)] += 1 - frac
            w[hi, np.arange(out)] += frac
            x = _apply(x, a, w, False)
    return x
