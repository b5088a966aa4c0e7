"""The ONNX form of graphc's elementwise, integer, reduction, shape and indexing ops.

Standard ONNX ops of the default domain only. Where ONNX has the op (Softmax, Gather, ...) the
converter names it; where it has not, the converter writes graphc's own definition in ONNX ops:
log1p and expm1 with the rounding-error corrections that keep them accurate near 0
(export_math.py), sigmoid and softplus in graphc's stable forms, the scatters of slices and gathers
as ScatterND, and the integer ops with NumPy's results where ONNX leaves them undefined.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir import Tensor
from ..ir.dtypes import is_float, is_int
from ..ops import index, integer, linalg, reduce, shape
from ..ops import elementwise as ew
from ..ops.axes import BroadcastLike, BroadcastTo, ExpandDims, Reshape, Squeeze, Sum
from . import export_math
from .emitter import INT64_MAX, INT64_MIN, Emitter, ExportError, np_dtype, onnx_dtype
from .export_math import expm1, log1p
from .export_registry import converts


# -- elementwise --------------------------------------------------------------------------------

#: op class -> the ONNX op of the same meaning (operands and result as graphc's)
SAME = {
    ew.Add: "Add", ew.Subtract: "Sub", ew.Multiply: "Mul", ew.Divide: "Div", ew.Power: "Pow", ew.Negative: "Neg",
    ew.Exp: "Exp", ew.Log: "Log", ew.Sqrt: "Sqrt", ew.Abs: "Abs", ew.Sign: "Sign", ew.Sin: "Sin", ew.Cos: "Cos",
    ew.Tan: "Tan", ew.Asin: "Asin", ew.Acos: "Acos", ew.Atan: "Atan", ew.Sinh: "Sinh", ew.Cosh: "Cosh",
    ew.Asinh: "Asinh", ew.Acosh: "Acosh", ew.Atanh: "Atanh", ew.Erf: "Erf", ew.Tanh: "Tanh", ew.Floor: "Floor",
    ew.Ceil: "Ceil", ew.Round: "Round", ew.Reciprocal: "Reciprocal",
    ew.Isnan: "IsNaN", ew.Isinf: "IsInf", ew.Maximum: "Max", ew.Minimum: "Min", ew.Equal: "Equal",
    ew.LogicalAnd: "And", ew.LogicalOr: "Or", ew.LogicalNot: "Not", linalg.MatMul: "MatMul",
}
#: comparisons: ONNX orders numbers only, so bool operands are compared as int32
ORDERS = {ew.Less: "Less", ew.LessEqual: "LessOrEqual", ew.Greater: "Greater", ew.GreaterEqual: "GreaterOrEqual"}


@converts(*SAME)
def _same(e: Emitter, node: Tensor, ins: list) -> str:
    if node.dtype == "float64" and type(node.op) in export_math.FORMS:  # onnxruntime lacks float64 kernels
        return export_math.FORMS[type(node.op)](e, ins[0])
    return e.op(SAME[type(node.op)], ins, hint=node.op.name)


@converts(ew.Where)
def _where(e: Emitter, node: Tensor, ins: list) -> str:
    return e.where(*ins, node.dtype, hint="where")


@converts(*ORDERS)
def _order(e: Emitter, node: Tensor, ins: list) -> str:
    if node.inputs[0].dtype == "bool":
        ins = [e.op("Cast", [x], to=onnx_dtype("int32")) for x in ins]
    return e.op(ORDERS[type(node.op)], ins, hint=node.op.name)


@converts(ew.NotEqual)
def _not_equal(e: Emitter, node: Tensor, ins: list) -> str:
    return e.op("Not", [e.op("Equal", ins)], hint="not_equal")


@converts(ew.Square)
def _square(e: Emitter, node: Tensor, ins: list) -> str:
    return e.op("Mul", [ins[0], ins[0]], hint="square")


@converts(ew.Relu)
def _relu(e: Emitter, node: Tensor, ins: list) -> str:
    if is_float(node.dtype):
        return e.op("Relu", ins)
    return e.op("Max", [ins[0], e.scalar(0, node)], hint="relu")


@converts(ew.Cast)
def _cast(e: Emitter, node: Tensor, ins: list) -> str:
    """Cast; float to int as graphc casts: truncated, out-of-range values saturated, NaN to 0 (ONNX leaves
    out-of-range conversions undefined)."""
    src, dst = node.inputs[0].dtype, node.dtype
    if not (is_float(src) and is_int(dst)):
        return e.op("Cast", ins, to=onnx_dtype(dst))
    info = np.iinfo(dst)
    lo, hi = float(info.min), float(info.max) + 1.0  # powers of two: exact in every float dtype
    x = ins[0]
    x = e.op("Where", [e.op("IsNaN", [x]), e.scalar(0, src), x])
    x = e.op("Max", [x, e.scalar(lo, src)])
    over = e.op("GreaterOrEqual", [x, e.scalar(hi, src)])
    y = e.op("Cast", [e.op("Where", [over, e.scalar(0, src), x])], to=onnx_dtype(dst))
    return e.where(over, e.scalar(info.max, dst), y, dst, hint="cast")


@converts(ew.Trunc)
def _trunc(e: Emitter, node: Tensor, ins: list) -> str:
    x = ins[0]
    negative = e.op("Less", [x, e.scalar(0, node)])
    return e.op("Where", [negative, e.op("Ceil", [x]), e.op("Floor", [x])], hint="trunc")


@converts(ew.Sigmoid)
def _sigmoid(e: Emitter, node: Tensor, ins: list) -> str:
    """1 / (1 + exp(-x)), graphc's form: onnxruntime's Sigmoid loses relative accuracy for x << 0."""
    return e.op("Reciprocal", [e.op("Add", [e.scalar(1, node), e.op("Exp", [e.op("Neg", ins)])])], hint="sigmoid")


@converts(ew.Softplus)
def _softplus(e: Emitter, node: Tensor, ins: list) -> str:
    """max(x, 0) + log1p(exp(-|x|)), graphc's form: onnxruntime's Softplus underflows for x << 0 and
    overflows for x >> 0."""
    x = ins[0]
    tail = log1p(e, e.op("Exp", [e.op("Neg", [e.op("Abs", [x])])]), node.dtype)
    return e.op("Add", [e.op("Max", [x, e.scalar(0, node)]), tail], hint="softplus")


@converts(ew.Log1p)
def _log1p(e: Emitter, node: Tensor, ins: list) -> str:
    return log1p(e, ins[0], node.dtype)


@converts(ew.Expm1)
def _expm1(e: Emitter, node: Tensor, ins: list) -> str:
    return expm1(e, ins[0], node.dtype)


@converts(ew.Atan2)
def _atan2(e: Emitter, node: Tensor, ins: list) -> str:
    """np.arctan2 from atan(y / x): +-pi (by y's sign bit) added where x < 0 or x is -0; +-pi/2 where x is
    +-0 and y is not 0; y / x read as y where y is +-0 and as +-1 where both are infinite."""
    y, x = ins
    dt = node.dtype
    zero = e.scalar(0, dt)

    def sign_bit(v: str) -> str:  # v < 0, or v is -0 (1 / -0 = -inf)
        return e.op("Or", [e.op("Less", [v, zero]), e.op("Less", [e.op("Div", [e.scalar(1, dt), v]), zero])])
    ratio = e.op("Div", [y, x])
    ratio = e.op("Where", [e.op("Equal", [y, zero]), y, ratio])
    both_inf = e.op("And", [e.op("IsInf", [y]), e.op("IsInf", [x])])
    ratio = e.op("Where", [both_inf, e.op("Mul", [e.op("Sign", [y]), e.op("Sign", [x])]), ratio])
    base = export_math.atan(e, ratio) if dt == "float64" else e.op("Atan", [ratio])
    pi = e.op("Where", [sign_bit(y), e.scalar(-math.pi, dt), e.scalar(math.pi, dt)])
    out = e.op("Where", [sign_bit(x), e.op("Add", [base, pi]), base])
    half_pi = e.op("Mul", [e.op("Sign", [y]), e.scalar(math.pi / 2, dt)])
    x_zero = e.op("And", [e.op("Equal", [x, zero]), e.op("Not", [e.op("Equal", [y, zero])])])
    out = e.op("Where", [x_zero, half_pi, out])
    nan = e.op("Or", [e.op("IsNaN", [x]), e.op("IsNaN", [y])])
    return e.op("Where", [nan, e.op("Add", [x, y]), out], hint="atan2")


@converts(ew.BinaryCrossEntropy)
def _bce(e: Emitter, node: Tensor, ins: list) -> str:
    """-(y max(log p, -100) + (1 - y) max(log1p(-p), -100)), as graphc's kernel computes it."""
    p, y = ins
    dt = node.dtype
    floor = e.scalar(-100, dt)
    log_p = e.op("Max", [e.op("Log", [p]), floor])
    log_q = e.op("Max", [log1p(e, e.op("Neg", [p]), dt), floor])
    total = e.op("Add", [e.op("Mul", [y, log_p]), e.op("Mul", [e.op("Sub", [e.scalar(1, dt), y]), log_q])])
    return e.op("Neg", [total], hint="binary_cross_entropy")


# -- integer arithmetic ------------------------------------------------------------------------

BITWISE = {integer.BitwiseAnd: "BitwiseAnd", integer.BitwiseOr: "BitwiseOr", integer.BitwiseXor: "BitwiseXor",
           integer.BitwiseNot: "BitwiseNot"}


@converts(*BITWISE)
def _bitwise(e: Emitter, node: Tensor, ins: list) -> str:
    return e.op(BITWISE[type(node.op)], ins, hint=node.op.name)


def _safe_divisor(e: Emitter, node: Tensor, y: str) -> tuple[str, str | None]:
    """(y with integer zeros replaced by 1, where y was 0): ONNX's integer Mod by 0 is undefined, graphc's is 0."""
    if is_float(node.dtype):
        return y, None
    zero = e.op("Equal", [y, e.scalar(0, node)])
    return e.where(zero, e.scalar(1, node), y, node.dtype), zero


@converts(integer.Fmod)
def _fmod(e: Emitter, node: Tensor, ins: list) -> str:
    x, y = ins
    y, zero = _safe_divisor(e, node, y)
    r = e.op("Mod", [x, y], fmod=1)
    return r if zero is None else e.where(zero, e.scalar(0, node), r, node.dtype, hint="fmod")


@converts(integer.Mod)
def _mod(e: Emitter, node: Tensor, ins: list) -> str:
    """The remainder with the divisor's sign: ONNX's Mod for integers; for floats (where ONNX's Mod must be
    fmod) the fmod moved by y where it is nonzero and its sign differs from y's."""
    x, y = ins
    y, zero = _safe_divisor(e, node, y)
    if zero is not None:
        return e.where(zero, e.scalar(0, node), e.op("Mod", [x, y], fmod=0), node.dtype, hint="mod")
    r = e.op("Mod", [x, y], fmod=1)
    z = e.scalar(0, node)
    moved = e.op("And", [e.op("Not", [e.op("Equal", [r, z])]),
                         e.op("Xor", [e.op("Less", [r, z]), e.op("Less", [y, z])])])
    return e.op("Where", [moved, e.op("Add", [r, y]), r], hint="mod")


@converts(integer.FloorDivide)
def _floor_divide(e: Emitter, node: Tensor, ins: list) -> str:
    """NumPy's floor_divide. Integers: (x - mod(x, y)) / y, an exact quotient, so ONNX's truncating Div is
    right; 0 where y is 0. Floats: NumPy's divmod step by step -- (x - fmod(x, y)) / y, one less where the
    remainder's sign differs from y's, then rounded to the nearest whole number (the quotient of an exact
    difference is within half an ulp of one); x / y where y is 0, and a zero quotient keeps the sign of x / y."""
    x, y = ins
    if not is_float(node.dtype):
        safe, zero = _safe_divisor(e, node, y)
        exact = e.op("Sub", [x, e.op("Mod", [x, safe], fmod=0)])
        return e.where(zero, e.scalar(0, node), e.op("Div", [exact, safe]), node.dtype, hint="floor_divide")
    z, one = e.scalar(0, node), e.scalar(1, node)
    r = e.op("Mod", [x, y], fmod=1)
    div = e.op("Div", [e.op("Sub", [x, r]), y])
    moved = e.op("And", [e.op("Not", [e.op("Equal", [r, z])]),
                         e.op("Xor", [e.op("Less", [r, z]), e.op("Less", [y, z])])])
    div = e.op("Where", [moved, e.op("Sub", [div, one]), div])
    low = e.op("Floor", [div])
    up = e.op("Greater", [e.op("Sub", [div, low]), e.scalar(0.5, node)])
    rounded = e.op("Where", [up, e.op("Add", [low, one]), low])
    ratio = e.op("Div", [x, y])
    signed_zero = e.op("Mul", [ratio, z])
    rounded = e.op("Where", [e.op("Equal", [div, z]), signed_zero, rounded])
    return e.op("Where", [e.op("Equal", [y, z]), ratio, rounded], hint="floor_divide")


@converts(integer.LeftShift, integer.RightShift)
def _shift(e: Emitter, node: Tensor, ins: list) -> str:
    """NumPy's shifts with ONNX's BitShift, which takes unsigned integers only: signed values shift as their
    unsigned bit patterns, an arithmetic right shift of a negative x as ~(~x >> n); shifts by a negative
    amount or by the width or more give 0 (-1 for a negative x shifted right)."""
    x, n = ins
    dtype = node.dtype
    width = np.iinfo(dtype).bits
    unsigned = dtype if dtype.startswith("uint") else f"uint{width}"
    right = isinstance(node.op, integer.RightShift)
    signed = dtype != unsigned
    too_far = e.op("GreaterOrEqual", [n, e.scalar(width, node)])
    out_of_range = e.op("Or", [e.op("Less", [n, e.scalar(0, node)]), too_far])
    amount = e.op("Cast", [e.where(out_of_range, e.scalar(0, node), n, dtype)], to=onnx_dtype(unsigned))
    negative = e.op("Less", [x, e.scalar(0, node)]) if signed else None
    bits = e.op("BitwiseNot", [x]) if right and signed else x
    bits = e.op("Cast", [bits], to=onnx_dtype(unsigned)) if signed else bits
    shifted = e.op("BitShift", [bits, amount], direction="RIGHT" if right else "LEFT")
    shifted = e.op("Cast", [shifted], to=onnx_dtype(dtype)) if signed else shifted
    if right and signed:  # ~(~x >> n) for negative x, x >> n (logical = arithmetic) otherwise
        plain = e.op("Cast", [e.op("BitShift", [e.op("Cast", [x], to=onnx_dtype(unsigned)), amount],
                                   direction="RIGHT")], to=onnx_dtype(dtype))
        shifted = e.where(negative, e.op("BitwiseNot", [shifted]), plain, dtype)
    fill = e.scalar(0, node)
    if right and signed:
        fill = e.where(negative, e.scalar(-1, node), fill, dtype)
    return e.where(out_of_range, fill, shifted, dtype, hint=node.op.name)


# -- reductions ---------------------------------------------------------------------------------

REDUCES = {Sum: "ReduceSum", reduce.Prod: "ReduceProd", reduce.Max: "ReduceMax", reduce.Min: "ReduceMin"}


@converts(*REDUCES)
def _reduce(e: Emitter, node: Tensor, ins: list) -> str:
    x, op = ins[0], node.op
    bool_in = node.inputs[0].dtype == "bool"  # ReduceMax/Min take bool from opset 20 only
    if bool_in:
        x = e.op("Cast", [x], to=onnx_dtype("int32"))
    y = e.op(REDUCES[type(op)], [x, e.ints(op.axes)], hint=op.name, keepdims=int(op.keepdims))
    return e.op("Cast", [y], to=onnx_dtype("bool")) if bool_in else y


@converts(reduce.ArgMax, reduce.ArgMin)
def _arg(e: Emitter, node: Tensor, ins: list) -> str:
    op_type = "ArgMax" if isinstance(node.op, reduce.ArgMax) else "ArgMin"
    return e.op(op_type, ins, hint=node.op.name, axis=node.op.axes[0], keepdims=int(node.op.keepdims))


@converts(reduce.LogSumExp)
def _logsumexp(e: Emitter, node: Tensor, ins: list) -> str:
    """log(sum(exp(x - m))) + m with m the finite max (as graphc's NumPy rule)."""
    x, op = ins[0], node.op
    axes = e.ints(op.axes)
    m = e.op("ReduceMax", [x, axes], keepdims=1)
    m = e.op("Where", [e.op("IsInf", [m]), e.scalar(0, node), m])
    total = e.op("ReduceSum", [e.op("Exp", [e.op("Sub", [x, m])]), axes], keepdims=1)
    y = e.op("Add", [e.op("Log", [total]), m])
    return y if op.keepdims else e.op("Squeeze", [y, axes], hint="logsumexp")


@converts(reduce.Softmax)
def _softmax(e: Emitter, node: Tensor, ins: list) -> str:
    return e.op("Softmax", ins, axis=node.op.axis)


@converts(reduce.LogSoftmax)
def _log_softmax(e: Emitter, node: Tensor, ins: list) -> str:
    return e.op("LogSoftmax", ins, axis=node.op.axis)


@converts(reduce.SoftmaxCrossEntropy)
def _softmax_cross_entropy(e: Emitter, node: Tensor, ins: list) -> str:
    z, t = ins
    axis = node.op.axis
    picked = e.op("Mul", [t, e.op("LogSoftmax", [z], axis=axis)])
    return e.op("Neg", [e.op("ReduceSum", [picked, e.ints([axis])], keepdims=0)], hint="softmax_cross_entropy")


@converts(reduce.Count)
def _count(e: Emitter, node: Tensor, ins: list) -> str:
    """The number of elements over `axes` of x's runtime shape (free dims), as a scalar of `dtype`."""
    dims = e.op("Gather", [e.shape_of(ins[0]), e.ints(node.op.axes)])
    return e.op("Cast", [e.op("ReduceProd", [dims], keepdims=0)], hint="count", to=onnx_dtype(node.dtype))


# -- shapes -------------------------------------------------------------------------------------

@converts(Reshape)
def _reshape(e: Emitter, node: Tensor, ins: list) -> str:
    target = list(node.op.shape)
    return e.op("Reshape", [ins[0], e.ints(target)], hint="reshape", allowzero=int(0 in target) or None)


@converts(ExpandDims)
def _expand_dims(e: Emitter, node: Tensor, ins: list) -> str:
    return e.op("Unsqueeze", [ins[0], e.ints(node.op.axes)], hint="expand_dims")


@converts(Squeeze)
def _squeeze(e: Emitter, node: Tensor, ins: list) -> str:
    if not node.op.axes:
        return e.op("Identity", ins, hint="squeeze")
    return e.op("Squeeze", [ins[0], e.ints(node.op.axes)], hint="squeeze")


@converts(BroadcastTo)
def _broadcast_to(e: Emitter, node: Tensor, ins: list) -> str:
    return e.op("Expand", [ins[0], e.ints(node.op.shape)], hint="broadcast_to")


@converts(BroadcastLike)
def _broadcast_like(e: Emitter, node: Tensor, ins: list) -> str:
    return e.op("Expand", [ins[0], e.shape_of(ins[1])], hint="broadcast_like")


@converts(shape.Transpose)
def _transpose(e: Emitter, node: Tensor, ins: list) -> str:
    return e.op("Transpose", ins, perm=list(node.op.perm))


@converts(shape.Concatenate)
def _concatenate(e: Emitter, node: Tensor, ins: list) -> str:
    return e.op("Concat", ins, hint="concatenate", axis=node.op.axis)


def _zeros(e: Emitter, shape_name: str, dtype: str) -> str:
    from onnx import numpy_helper
    return e.op("ConstantOfShape", [shape_name], hint="zeros",
                value=numpy_helper.from_array(np.zeros(1, np_dtype(dtype)), "value"))


def _inverse(perm: list[int]) -> list[int]:
    return [int(i) for i in np.argsort(perm)]


# -- indexing -----------------------------------------------------------------------------------

def slice_key(e: Emitter, x: str, key: tuple, new_axes: bool = True) -> str:
    """x[key] for a normalized static key: one Slice (ints as one-element ranges), Squeeze, Unsqueeze."""
    starts, ends, axes, steps, drop, new = [], [], [], [], [], []
    axis = out = 0
    for k in key:
        if k[0] == "new":
            new.append(out)
            out += 1
            continue
        if k[0] == "int":  # the one-element range [i, i + 1), its axis squeezed
            i = k[1]
            range_ = (i, i + 1 if i != -1 else INT64_MAX, 1)
            drop.append(axis)
        else:
            out += 1
            start, stop, step = k[1], k[2], k[3] or 1
            range_ = (start if start is not None else (0 if step > 0 else INT64_MAX),
                      stop if stop is not None else (INT64_MAX if step > 0 else INT64_MIN), step)
        if range_ != (0, INT64_MAX, 1):
            for acc, v in zip((starts, ends, steps, axes), range_ + (axis,)):
                acc.append(v)
        axis += 1
    y = x
    if axes:
        y = e.op("Slice", [y, e.ints(starts), e.ints(ends), e.ints(axes), e.ints(steps)], hint="slice")
    if drop:
        y = e.op("Squeeze", [y, e.ints(drop)], hint="slice")
    if new and new_axes:
        y = e.op("Unsqueeze", [y, e.ints(new)], hint="slice")
    return y if y != x else e.op("Identity", [x], hint="slice")


@converts(index.Slice)
def _slice(e: Emitter, node: Tensor, ins: list) -> str:
    return slice_key(e, ins[0], node.op.key)


@converts(index.ScatterSlice)
def _scatter_slice(e: Emitter, node: Tensor, ins: list) -> str:
    """Zeros shaped like the donor with g written at the slice: the sliced axes (static sizes) moved to
    the front and their positions listed for one ScatterND; the other axes ride along whole."""
    g, donor = ins
    key = node.op.key
    dshape = node.inputs[1].shape
    items = [k for k in key if k[0] != "new"]  # one per donor axis
    new = [i for i, k in enumerate(k for k in key if k[0] != "int") if k[0] == "new"]
    if new:  # g's size-1 axes where the key inserts axes
        g = e.op("Squeeze", [g, e.ints(new)], hint="scatter_slice")
    g = e.op("Expand", [g, e.shape_of(slice_key(e, donor, tuple(items)))], hint="scatter_slice")
    picked = [a for a, k in enumerate(items) if k[0] == "int" or k[1:] not in ((None, None, None), (None, None, 1))]
    if not picked:
        return e.op("Identity", [g], hint="scatter_slice")
    free = [a for a in picked if dshape[a] is None]
    if free:
        raise ExportError(f"export: scatter_slice of a slice along the free axes {free} of {node.inputs[1].type_str()}",
                          fix="give those placeholder dims fixed sizes")
    rest = [a for a in range(len(items)) if a not in picked]
    ranges = [np.arange(dshape[a])[k[1]] if k[0] == "int" else np.arange(dshape[a])[slice(*k[1:])]
              for a, k in ((a, items[a]) for a in picked)]
    grids = np.meshgrid(*[np.atleast_1d(r) for r in ranges], indexing="ij")
    kept = tuple(len(r) for r in ranges if np.ndim(r))
    indices = np.stack([grid.reshape(kept) for grid in grids], axis=-1).astype(np.int64)
    g_axis = {a: i for i, a in enumerate(a for a, k in enumerate(items) if k[0] != "int")}
    g = e.op("Transpose", [g], perm=[g_axis[a] for a in picked if a in g_axis] + [g_axis[a] for a in rest])
    perm = picked + rest
    data = _zeros(e, e.op("Gather", [e.shape_of(donor), e.ints(perm)]), node.dtype)
    out = e.op("ScatterND", [data, e.const(indices, hint="positions"), g], hint="scatter_slice")
    return e.op("Transpose", [out], perm=_inverse(perm), hint="scatter_slice")


@converts(index.Take)
def _take(e: Emitter, node: Tensor, ins: list) -> str:
    return e.op("Gather", ins, hint="take", axis=node.op.axis)


@converts(index.ScatterAdd)
def _scatter_add(e: Emitter, node: Tensor, ins: list) -> str:
    """Zeros shaped like the donor, g added at the indices along `axis`: ScatterND with reduction add on
    the donor with that axis first (negative indices counted from the end first)."""
    g, idx, donor = ins
    a, k = node.op.axis, node.inputs[1].ndim
    nd = node.ndim
    idx = e.op("Cast", [idx], to=onnx_dtype("int64"))
    n = e.op("Gather", [e.shape_of(donor), e.const(np.int64(a))])
    idx = e.op("Where", [e.op("Less", [idx, e.const(np.int64(0))]), e.op("Add", [idx, n]), idx])
    perm = [a] + [i for i in range(nd) if i != a]
    data = _zeros(e, e.op("Gather", [e.shape_of(donor), e.ints(perm)]), node.dtype)
    g_perm = list(range(a, a + k)) + list(range(a)) + list(range(a + k, node.inputs[0].ndim))
    g = e.op("Transpose", [g], perm=g_perm)
    out = e.op("ScatterND", [data, e.op("Unsqueeze", [idx, e.ints([-1])]), g], hint="scatter_add", reduction="add")
    return e.op("Transpose", [out], perm=_inverse(perm), hint="scatter_add")
