"""Arithmetic, comparisons, logic and math functions: one graphc elementwise op (or a few) each."""
from __future__ import annotations

import numpy as np

from ... import ops as G
from ...ir.dtypes import is_float
from ..errors import Unsupported
from ..registry import NodeCtx, converter

_BINARY = {"Add": G.add, "Sub": G.subtract, "Mul": G.multiply, "Equal": G.equal, "Less": G.less,
           "Greater": G.greater, "LessOrEqual": G.less_equal, "GreaterOrEqual": G.greater_equal,
           "And": G.logical_and, "Or": G.logical_or, "Xor": G.not_equal, "BitwiseAnd": G.bitwise_and,
           "BitwiseOr": G.bitwise_or, "BitwiseXor": G.bitwise_xor}
_UNARY = {"Neg": G.negative, "Abs": G.abs, "Exp": G.exp, "Log": G.log, "Sqrt": G.sqrt, "Sin": G.sin,
          "Cos": G.cos, "Tan": G.tan, "Asin": G.asin, "Acos": G.acos, "Atan": G.atan, "Sinh": G.sinh,
          "Cosh": G.cosh, "Asinh": G.asinh, "Acosh": G.acosh, "Atanh": G.atanh, "Tanh": G.tanh,
          "Sigmoid": G.sigmoid, "Erf": G.erf, "Floor": G.floor, "Ceil": G.ceil, "Round": G.round,
          "Sign": G.sign, "Reciprocal": G.reciprocal, "IsNaN": G.isnan, "Relu": G.relu, "Not": G.logical_not,
          "BitwiseNot": G.bitwise_not, "Identity": lambda x: x}


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
    # integer division truncates toward zero in ONNX (as C): exact in every integer width
    return G.floor_divide(G.subtract(a, G.fmod(a, b)), b)


@converter("Pow")
def pow_(ctx: NodeCtx):
    a, b = ctx.tensor(0), ctx.tensor(1)
    if is_float(a.dtype):
        return G.power(a, G.cast(b, a.dtype))
    # an integer base: float64 holds the int32 range exactly; the result takes the base's dtype
    return G.cast(G.power(G.cast(a, "float64"), G.cast(b, "float64")), a.dtype)


@converter("Mod")
def mod(ctx: NodeCtx):
    a, b = ctx.tensor(0), ctx.tensor(1)
    if is_float(a.dtype) and not ctx.attr("fmod", 0):
        raise Unsupported("Mod of floats with fmod=0 (ONNX requires fmod=1 for floats)")
    return (G.fmod if ctx.attr("fmod", 0) else G.mod)(a, b)


@converter("BitShift")
def bit_shift(ctx: NodeCtx):
    shift = G.left_shift if ctx.attr("direction") == "LEFT" else G.right_shift
    return shift(ctx.tensor(0), ctx.tensor(1))









@converter("IsInf")
def isinf(ctx: NodeCtx):
    x = ctx.tensor(0)
    pos, neg = G.equal(x, np.asarray(np.inf, x.dtype)), G.equal(x, np.asarray(-np.inf, x.dtype))
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
