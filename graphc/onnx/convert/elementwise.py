"""Arithmetic, comparisons, logic and math functions: one graphc elementwise op (or a few) each."""
from __future__ import annotations

import numpy as np

from ... import ops as G
from ...ir.dtypes import is_float
from ..errors import Unsupported
from ..registry import NodeCtx, converter

_BINARY = {"Add": G.add, "Sub": G.subtract, "Mul": G.multiply, "Equal": G.equal, "Less": G.less,
           "Greater": G.greater, "LessOrEqual": G.less_equal, "GreaterOrEqual": G.greater_equal,
           "And": G.logical_and, "Or": G.logical_or}
_UNARY = {"Neg": G.negative, "Abs": G.abs, "Exp": G.exp, "Log": G.log, "Sqrt": G.sqrt, "Sin": G.sin,
          "Cos": G.cos, "Tanh": G.tanh, "Sigmoid": G.sigmoid, "Erf": G.erf, "Floor": G.floor, "Sign": G.sign,
          "Relu": G.relu, "Not": G.logical_not, "Identity": lambda x: x}


def _broadcast_attr(ctx: NodeCtx) -> None:
    """Opsets before 7 broadcast only with `broadcast=1` and an `axis`; NumPy rules cover the default."""
    if ctx.attr("broadcast", 0) and ctx.has_attr("axis"):
        a, b = ctx.tensor(0), ctx.tensor(1)
        if ctx.attr("axis") % max(a.ndim, 1) + b.ndim != a.ndim:
            raise Unsupported("legacy broadcast with an axis other than the trailing one")


@converter(*_BINARY)
def binary(ctx: NodeCtx):
    _broadcast_attr(ctx)
    return _BINARY[ctx.op_type](ctx.tensor(0), ctx.tensor(1))


@converter(*_UNARY)
def unary(ctx: NodeCtx):
    return _UNARY[ctx.op_type](ctx.tensor(0))


@converter("Div")
def div(ctx: NodeCtx):
    _broadcast_attr(ctx)
    a, b = ctx.tensor(0), ctx.tensor(1)
    if is_float(a.dtype):
        return G.divide(a, b)
    # integer division truncates toward zero in ONNX (as C); float64 holds the int32 range exactly
    return G.cast(G.divide(G.cast(a, "float64"), G.cast(b, "float64")), a.dtype)


@converter("Pow")
def pow_(ctx: NodeCtx):
    a, b = ctx.tensor(0), ctx.tensor(1)
    if not is_float(a.dtype):
        raise Unsupported(f"Pow of a {a.dtype} base (graphc's power is for floats)")
    return G.power(a, G.cast(b, a.dtype))


@converter("Mod")
def mod(ctx: NodeCtx):
    a, b = ctx.tensor(0), ctx.tensor(1)
    if is_float(a.dtype):
        if not ctx.attr("fmod", 0):
            raise Unsupported("Mod of floats needs fmod=1")
        q = G.divide(a, b)
        return G.subtract(a, G.multiply(G.multiply(G.sign(q), G.floor(G.abs(q))), b))
    fa, fb = G.cast(a, "float64"), G.cast(b, "float64")
    q = G.divide(fa, fb)
    q = G.multiply(G.sign(q), G.floor(G.abs(q))) if ctx.attr("fmod", 0) else G.floor(q)
    return G.cast(G.subtract(fa, G.multiply(q, fb)), a.dtype)


@converter("Xor")
def xor(ctx: NodeCtx):
    return G.not_equal(ctx.tensor(0), ctx.tensor(1))


@converter("Reciprocal")
def reciprocal(ctx: NodeCtx):
    x = ctx.tensor(0)
    return G.divide(np.ones((), x.dtype), x)


@converter("Ceil")
def ceil(ctx: NodeCtx):
    return G.negative(G.floor(G.negative(ctx.tensor(0))))


@converter("Tan")
def tan(ctx: NodeCtx):
    x = ctx.tensor(0)
    return G.divide(G.sin(x), G.cos(x))


@converter("Sinh", "Cosh")
def hyperbolic(ctx: NodeCtx):
    x = ctx.tensor(0)
    a, b = G.exp(x), G.exp(G.negative(x))
    return G.multiply(G.subtract(a, b) if ctx.op_type == "Sinh" else G.add(a, b), 0.5)


@converter("Asinh", "Acosh", "Atanh")
def area(ctx: NodeCtx):
    x = ctx.tensor(0)
    if ctx.op_type == "Atanh":
        return G.multiply(G.subtract(G.log1p(x), G.log1p(G.negative(x))), 0.5)
    root = G.sqrt(G.add(G.square(x), 1.0 if ctx.op_type == "Asinh" else -1.0))
    return G.log(G.add(x, root))


@converter("IsNaN")
def isnan(ctx: NodeCtx):
    x = ctx.tensor(0)
    return G.not_equal(x, x)


@converter("IsInf")
def isinf(ctx: NodeCtx):
    x = ctx.tensor(0)
    pos, neg = G.equal(x, np.inf), G.equal(x, -np.inf)
    detect_pos, detect_neg = ctx.attr("detect_positive", 1), ctx.attr("detect_negative", 1)
    if detect_pos and detect_neg:
        return G.logical_or(pos, neg)
    if detect_pos:
        return pos
    if detect_neg:
        return neg
    return G.logical_and(pos, neg)


@converter("Where")
def where(ctx: NodeCtx):
    return G.where(ctx.tensor(0), ctx.tensor(1), ctx.tensor(2))


@converter("Max", "Min", "Sum", "Mean")
def variadic(ctx: NodeCtx):
    xs = ctx.tensors()
    fold = {"Max": G.maximum, "Min": G.minimum, "Sum": G.add, "Mean": G.add}[ctx.op_type]
    out = xs[0]
    for x in xs[1:]:
        out = fold(out, x)
    if ctx.op_type == "Mean":
        out = G.divide(out, np.asarray(len(xs), out.dtype))
    return out


@converter("Clip")
def clip(ctx: NodeCtx):
    x = ctx.tensor(0)
    if ctx.version < 11:
        lo, hi = ctx.attr("min"), ctx.attr("max")
    else:
        lo = ctx.tensor(1) if ctx.has(1) else None
        hi = ctx.tensor(2) if ctx.has(2) else None
    if lo is not None:
        x = G.maximum(x, G.cast(lo, x.dtype) if not isinstance(lo, float) else lo)
    if hi is not None:
        x = G.minimum(x, G.cast(hi, x.dtype) if not isinstance(hi, float) else hi)
    return x
