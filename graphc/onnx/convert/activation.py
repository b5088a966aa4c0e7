"""Activation functions, composed of graphc's elementwise ops (each keeps its gradient)."""
from __future__ import annotations

import math

import numpy as np

from ... import ops as G
from ..registry import NodeCtx, converter


def _zero(x):
    return np.zeros((), x.dtype)


@converter("LeakyRelu")
def leaky_relu(ctx: NodeCtx):
    x = ctx.tensor(0)
    return G.where(G.greater_equal(x, 0.0), x, G.multiply(x, ctx.attr("alpha", 0.01)))


def _elu(x, alpha):
    return G.where(G.greater(x, 0.0), x, G.multiply(G.expm1(G.minimum(x, 0.0)), alpha))


@converter("Elu")
def elu(ctx: NodeCtx):
    return _elu(ctx.tensor(0), ctx.attr("alpha", 1.0))


@converter("Selu")
def selu(ctx: NodeCtx):
    gamma = ctx.attr("gamma", 1.05070102214813232421875)
    return G.multiply(_elu(ctx.tensor(0), ctx.attr("alpha", 1.67326319217681884765625)), gamma)


@converter("Celu")
def celu(ctx: NodeCtx):
    x, alpha = ctx.tensor(0), ctx.attr("alpha", 1.0)
    return G.add(G.relu(x), G.minimum(G.multiply(G.expm1(G.divide(G.minimum(x, 0.0), alpha)), alpha), 0.0))


def _hard_sigmoid(x, alpha, beta):
    return G.clip(G.add(G.multiply(x, alpha), beta), 0.0, 1.0)


@converter("HardSigmoid")
def hard_sigmoid(ctx: NodeCtx):
    return _hard_sigmoid(ctx.tensor(0), ctx.attr("alpha", 0.2), ctx.attr("beta", 0.5))


@converter("HardSwish")
def hard_swish(ctx: NodeCtx):
    x = ctx.tensor(0)
    return G.multiply(x, _hard_sigmoid(x, 1 / 6, 0.5))


@converter("Softsign")
def softsign(ctx: NodeCtx):
    x = ctx.tensor(0)
    return G.divide(x, G.add(G.abs(x), 1.0))


@converter("Softplus")
def softplus(ctx: NodeCtx):
    return G.softplus(ctx.tensor(0))


@converter("Gelu")
def gelu(ctx: NodeCtx):
    x = ctx.tensor(0)
    if ctx.attr("approximate", "none") == "tanh":
        inner = G.multiply(G.add(x, G.multiply(G.power(x, 3.0), 0.044715)), math.sqrt(2 / math.pi))
        return G.multiply(G.multiply(x, 0.5), G.add(G.tanh(inner), 1.0))
    return G.multiply(G.multiply(x, 0.5), G.add(G.erf(G.multiply(x, 1 / math.sqrt(2))), 1.0))


@converter("PRelu")
def prelu(ctx: NodeCtx):
    x, slope = ctx.tensor(0), ctx.tensor(1)
    return G.where(G.less(x, 0.0), G.multiply(x, slope), x)


@converter("Mish")
def mish(ctx: NodeCtx):
    x = ctx.tensor(0)
    return G.multiply(x, G.tanh(G.softplus(x)))


@converter("ThresholdedRelu")
def thresholded_relu(ctx: NodeCtx):
    x = ctx.tensor(0)
    return G.where(G.greater(x, ctx.attr("alpha", 1.0)), x, _zero(x))


@converter("Shrink")
def shrink(ctx: NodeCtx):
    x, bias, lambd = ctx.tensor(0), ctx.attr("bias", 0.0), ctx.attr("lambd", 0.5)
    return G.where(G.less(x, -lambd), G.add(x, bias), G.where(G.greater(x, lambd), G.subtract(x, bias), _zero(x)))


@converter("Swish")
def swish(ctx: NodeCtx):
    x = ctx.tensor(0)
    return G.multiply(x, G.sigmoid(G.multiply(x, ctx.attr("alpha", 1.0))))
