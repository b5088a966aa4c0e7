"""Pooling over 1-D to 3-D windows: MaxPool, AveragePool, LpPool (with dilations, ceil_mode, any padding,
count_include_pad either way), GlobalAveragePool, GlobalMaxPool, GlobalLpPool."""
from __future__ import annotations

import numpy as np

from ... import ops as G
from ..errors import Unsupported
from ..registry import NodeCtx, converter
from .window import padding_arg, spatial_args

_MAX = {1: G.max_pool1d, 2: G.max_pool2d, 3: G.max_pool3d}
_AVG = {1: G.avg_pool1d, 2: G.avg_pool2d, 3: G.avg_pool3d}


def _window(ctx: NodeCtx, x):
    kernel = tuple(ctx.attr("kernel_shape"))
    stride, pads, dilation = spatial_args(ctx, x, kernel)
    return dict(kernel_size=kernel, stride=stride, padding=padding_arg(pads), dilation=dilation,
                ceil_mode=bool(ctx.attr("ceil_mode", 0)))


@converter("MaxPool")
def max_pool(ctx: NodeCtx):
    x = ctx.tensor(0)
    if ctx.n_outputs > 1 and ctx.proto.output[1]:
        raise Unsupported("MaxPool's Indices output")
    if ctx.attr("storage_order", 0):
        raise Unsupported("MaxPool with storage_order=1")
    if x.dtype in ("float16", "bfloat16", "float32", "float64"):
        return _MAX[x.ndim - 2](x, **_window(ctx, x))
    # integer images (ONNX allows int8 and uint8): float64 holds them exactly, and a max is exact
    return G.cast(_MAX[x.ndim - 2](G.cast(x, "float64"), **_window(ctx, x)), x.dtype)


@converter("AveragePool")
def average_pool(ctx: NodeCtx):
    x = ctx.tensor(0)
    return _AVG[x.ndim - 2](x, count_include_pad=bool(ctx.attr("count_include_pad", 0)), **_window(ctx, x))


@converter("LpPool")
def lp_pool(ctx: NodeCtx):
    """(sum over the window of |x|^p)^(1/p): a pooled mean of |x|^p, padding counted, times the kernel size."""
    x, p = ctx.tensor(0), float(ctx.attr("p", 2))
    args = _window(ctx, x)
    total = G.multiply(_AVG[x.ndim - 2](G.power(G.abs(x), p), count_include_pad=True, **args),
                       float(np.prod(args["kernel_size"])))
    return G.power(total, 1.0 / p)


@converter("GlobalAveragePool", "GlobalMaxPool")
def global_pool(ctx: NodeCtx):
    x = ctx.tensor(0)
    axes = tuple(range(2, x.ndim))
    return (G.mean if ctx.op_type == "GlobalAveragePool" else G.max)(x, axes, keepdims=True)


@converter("GlobalLpPool")
def global_lp_pool(ctx: NodeCtx):
    x, p = ctx.tensor(0), float(ctx.attr("p", 2))
    return G.power(G.sum(G.power(G.abs(x), p), tuple(range(2, x.ndim)), keepdims=True), 1.0 / p)
