"""Pooling: MaxPool, AveragePool (count_include_pad either way), GlobalAveragePool, GlobalMaxPool.

Pools over 1-D and 2-D windows map to graphc's 2-D pools; dilations, ceil_mode where it changes the
output size, and padding above half the kernel are what graphc's pools lack (listed as unsupported)."""
from __future__ import annotations

import numpy as np

from ... import ops as G
from ...ir.leaves import constant
from ..errors import Unsupported
from ..registry import NodeCtx, converter
from .window import spatial_args


def _window(ctx: NodeCtx, x):
    if x.ndim not in (3, 4):
        raise Unsupported(f"{ctx.op_type} of rank {x.ndim} ({x.ndim - 2}-D); graphc pools 1-D and 2-D windows")
    kernel = tuple(ctx.attr("kernel_shape"))
    stride, pads, dilation = spatial_args(ctx, x, kernel)
    if any(d != 1 for d in dilation):
        raise Unsupported(f"{ctx.op_type} with dilations {list(dilation)}")
    for (b, e), k in zip(pads, kernel):
        if 2 * b > k or 2 * e > k:
            raise Unsupported(f"{ctx.op_type} with pads {[p for pair in pads for p in pair]} above half "
                              f"the kernel {list(kernel)}")
    if ctx.attr("ceil_mode", 0):
        for size, (b, e), k, s in zip(x.shape[2:], pads, kernel, stride):
            if size is None or (size + b + e - k) % s:
                raise Unsupported(f"{ctx.op_type} with ceil_mode=1 where it changes the output size")
    if x.ndim == 3:
        return (1,) + kernel, (1,) + stride, ((0, 0),) + pads
    return kernel, stride, pads


def _pooled(x, fn, kernel, stride, pads):
    if x.ndim == 3:
        return G.squeeze(fn(G.expand_dims(x, 2), kernel, stride, pads), 2)
    return fn(x, kernel, stride, pads)


@converter("MaxPool")
def max_pool(ctx: NodeCtx):
    x = ctx.tensor(0)
    if ctx.n_outputs > 1:
        raise Unsupported("MaxPool's Indices output")
    if x.dtype not in ("float32", "float64"):
        raise Unsupported(f"MaxPool of {x.dtype}")
    return _pooled(x, G.max_pool2d, *_window(ctx, x))


@converter("AveragePool")
def average_pool(ctx: NodeCtx):
    x = ctx.tensor(0)
    kernel, stride, pads = _window(ctx, x)
    y = _pooled(x, G.avg_pool2d, kernel, stride, pads)
    if ctx.attr("count_include_pad", 0) or not any(p for pair in pads for p in pair):
        return y
    if None in x.shape[2:]:
        raise Unsupported("AveragePool without count_include_pad over free spatial dims")
    ones = np.ones((1, 1) + x.shape[2:], dtype=x.dtype)
    return G.divide(y, _pooled(constant(ones), G.avg_pool2d, kernel, stride, pads))


@converter("GlobalAveragePool", "GlobalMaxPool")
def global_pool(ctx: NodeCtx):
    x = ctx.tensor(0)
    axes = tuple(range(2, x.ndim))
    return (G.mean if ctx.op_type == "GlobalAveragePool" else G.max)(x, axes, keepdims=True)
