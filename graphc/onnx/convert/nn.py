"""Layers: MatMul, Gemm, Conv and the normalizations (BatchNormalization in inference and training mode,
Instance-, Layer-, Group-, Lp-normalization, LRN)."""
from __future__ import annotations

import numpy as np

from ... import ops as G
from ..errors import Unsupported
from ..registry import NodeCtx, converter
from .window import spatial_args


@converter("MatMul")
def matmul(ctx: NodeCtx):
    return G.matmul(ctx.tensor(0), ctx.tensor(1))


@converter("Gemm")
def gemm(ctx: NodeCtx):
    a, b = ctx.tensor(0), ctx.tensor(1)
    if ctx.attr("transA", 0):
        a = G.transpose(a)
    if ctx.attr("transB", 0):
        b = G.transpose(b)
    y = G.matmul(a, b)
    alpha, beta = ctx.attr("alpha", 1.0), ctx.attr("beta", 1.0)
    if alpha != 1.0:
        y = G.multiply(y, np.asarray(alpha, y.dtype))
    if ctx.has(2):
        c = ctx.tensor(2)
        y = G.add(y, G.multiply(c, np.asarray(beta, c.dtype)) if beta != 1.0 else c)
    return y


def per_channel(v, rank: int):
    """A (C,) vector shaped (C, 1, ..., 1) to broadcast over (N, C, ...) of `rank`."""
    return G.reshape(v, (-1,) + (1,) * (rank - 2))


@converter("Conv")
def conv(ctx: NodeCtx):
    x, w = ctx.tensor(0), ctx.tensor(1)
    if x.ndim not in (3, 4):
        raise Unsupported(f"Conv of rank {x.ndim} ({x.ndim - 2}-D); graphc has 1-D and 2-D convolutions")
    kernel = tuple(ctx.attr("kernel_shape", w.shape[2:]))
    stride, pads, dilation = spatial_args(ctx, x, kernel)
    group = ctx.attr("group", 1)
    if x.ndim == 3:
        y = G.squeeze(G.conv2d(G.expand_dims(x, 2), G.expand_dims(w, 2), (1,) + stride, ((0, 0),) + pads,
                               (1,) + dilation, group), 2)
    else:
        y = G.conv2d(x, w, stride, pads, dilation, group)
    return G.add(y, per_channel(ctx.tensor(2), y.ndim)) if ctx.has(2) else y


def _stats(x, axes):
    mean = G.mean(x, axes, keepdims=True)
    return mean, G.mean(G.square(G.subtract(x, mean)), axes, keepdims=True)


@converter("BatchNormalization")
def batch_norm(ctx: NodeCtx):
    x, scale, bias, mean, var = (ctx.tensor(i) for i in range(5))
    eps = ctx.attr("epsilon", 1e-5)
    if ctx.version < 9 and not ctx.attr("spatial", 1):
        raise Unsupported("BatchNormalization with spatial=0")
    training = bool(ctx.attr("training_mode", 0)) if ctx.version >= 14 else \
        (ctx.version < 7 and not ctx.attr("is_test", 0)) or (7 <= ctx.version < 14 and ctx.n_outputs > 1)
    rank = x.ndim
    if not training:
        inv = G.divide(scale, G.sqrt(G.add(var, np.asarray(eps, var.dtype))))
        return G.add(G.multiply(G.subtract(x, per_channel(mean, rank)), per_channel(inv, rank)),
                     per_channel(bias, rank))
    axes = (0,) + tuple(range(2, rank))
    bmean, bvar = _stats(x, axes)
    y = G.add(G.multiply(G.divide(G.subtract(x, bmean), G.sqrt(G.add(bvar, eps))), per_channel(scale, rank)),
              per_channel(bias, rank))
    momentum = ctx.attr("momentum", 0.9)
    flat_mean, flat_var = G.reshape(bmean, (-1,)), G.reshape(bvar, (-1,))
    running_mean = G.add(G.multiply(mean, momentum), G.multiply(flat_mean, 1 - momentum))
    running_var = G.add(G.multiply(var, momentum), G.multiply(flat_var, 1 - momentum))
    return [y, running_mean, running_var, flat_mean, flat_var][:ctx.n_outputs]


@converter("InstanceNormalization")
def instance_norm(ctx: NodeCtx):
    x, scale, bias = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2)
    mean, var = _stats(x, tuple(range(2, x.ndim)))
    y = G.divide(G.subtract(x, mean), G.sqrt(G.add(var, ctx.attr("epsilon", 1e-5))))
    return G.add(G.multiply(y, per_channel(scale, x.ndim)), per_channel(bias, x.ndim))


@converter("LayerNormalization", since=17)
def layer_norm(ctx: NodeCtx):
    x = ctx.tensor(0)
    axis = ctx.axis(ctx.attr("axis", -1), x.ndim)
    xs = x
    mean, var = _stats(xs, tuple(range(axis, x.ndim)))
    inv = G.divide(1.0, G.sqrt(G.add(var, ctx.attr("epsilon", 1e-5))))
    y = G.multiply(G.subtract(xs, mean), inv)
    y = G.multiply(y, ctx.tensor(1))
    if ctx.has(2):
        y = G.add(y, ctx.tensor(2))
    return [y, mean, inv][:ctx.n_outputs]


@converter("GroupNormalization", since=18)
def group_norm(ctx: NodeCtx):
    x, scale, bias = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2)
    groups = ctx.attr("num_groups")
    if None in x.shape:
        raise Unsupported("GroupNormalization with free dims")
    n, c = x.shape[:2]
    grouped = G.reshape(x, (n, groups, -1))
    mean, var = _stats(grouped, (2,))
    y = G.reshape(G.divide(G.subtract(grouped, mean), G.sqrt(G.add(var, ctx.attr("epsilon", 1e-5)))), x.shape)
    if ctx.version < 21:  # scale and bias per group: each channel takes its group's
        of_group = np.arange(c) // (c // groups)
        scale, bias = G.take(scale, of_group), G.take(bias, of_group)
    return G.add(G.multiply(y, per_channel(scale, x.ndim)), per_channel(bias, x.ndim))


@converter("LpNormalization")
def lp_norm(ctx: NodeCtx):
    x = ctx.tensor(0)
    axis = ctx.axis(ctx.attr("axis", -1), x.ndim)
    p = ctx.attr("p", 2)
    if p == 1:
        norm = G.sum(G.abs(x), axis, keepdims=True)
    elif p == 2:
        norm = G.sqrt(G.sum(G.square(x), axis, keepdims=True))
    else:
        raise Unsupported(f"LpNormalization with p={p} (ONNX allows 1 and 2)")
    return G.where(G.equal(norm, 0.0), np.zeros((), x.dtype), G.divide(x, norm))


@converter("LRN")
def lrn(ctx: NodeCtx):
    """x / (bias + alpha/size * sum of x^2 over the `size` nearest channels)^beta, as AlexNet's."""
    x = ctx.tensor(0)
    size = ctx.attr("size")
    alpha, beta, bias = ctx.attr("alpha", 1e-4), ctx.attr("beta", 0.75), ctx.attr("bias", 1.0)
    c = x.shape[1]
    if c is None:
        raise Unsupported("LRN over a free channel dim")
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    sq = G.square(x)
    idx = np.arange(-lo, c + hi)
    valid = (idx >= 0) & (idx < c)
    padded = G.take(sq, np.clip(idx, 0, c - 1).astype(np.int64), axis=1)
    mask = valid.reshape((1, -1) + (1,) * (x.ndim - 2)).astype(x.dtype)
    padded = G.multiply(padded, mask)
    total = G.slice_axis(padded, 1, 0, c)
    for k in range(1, size):
        total = G.add(total, G.slice_axis(padded, 1, k, k + c))
    return G.divide(x, G.power(G.add(G.multiply(total, alpha / size), bias), beta))
