"""Constants, casts, gathers and index arithmetic: Constant, ConstantOfShape, Cast, CastLike, Dropout,
Gather, GatherElements, OneHot, EyeLike, Trilu, Range, Einsum."""
from __future__ import annotations

import string

import numpy as np
from onnx import numpy_helper

from ... import ops as G
from ...ir.dtypes import is_int
from ..errors import Unsupported
from ..registry import NodeCtx, converter, onnx_dtype


@converter("Constant")
def constant(ctx: NodeCtx):
    for name, dtype in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                        ("value_ints", np.int64)):
        if ctx.has_attr(name):
            return np.asarray(ctx.attr(name), dtype=dtype)
    if ctx.has_attr("value"):
        t = ctx.proto.attribute[0].t if ctx.proto.attribute[0].name == "value" else \
            next(a.t for a in ctx.proto.attribute if a.name == "value")
        onnx_dtype(t.data_type, "the constant")
        return numpy_helper.to_array(t)
    raise Unsupported("Constant with a sparse or string value")


@converter("ConstantOfShape")
def constant_of_shape(ctx: NodeCtx):
    dims = ctx.ints(0, "shape")
    value = next((a.t for a in ctx.proto.attribute if a.name == "value"), None)
    fill = np.zeros(1, np.float32) if value is None else numpy_helper.to_array(value)
    if value is not None:
        onnx_dtype(value.data_type, "the fill value")
    return np.full(dims, fill.reshape(-1)[0], dtype=fill.dtype)


@converter("Cast")
def cast(ctx: NodeCtx):
    dtype = onnx_dtype(ctx.attr("to"), "the Cast target")
    x = ctx.tensor(0)
    return G.not_equal(x, np.zeros((), x.dtype)) if dtype == "bool" and x.dtype != "bool" else G.cast(x, dtype)


@converter("CastLike")
def cast_like(ctx: NodeCtx):
    x, like = ctx.tensor(0), ctx.tensor(1)
    return G.not_equal(x, np.zeros((), x.dtype)) if like.dtype == "bool" and x.dtype != "bool" else \
        G.cast(x, like.dtype)


@converter("Dropout")
def dropout(ctx: NodeCtx):
    """Inference-mode Dropout (the identity, and an all-true mask); training with a ratio > 0 draws
    random numbers, which graphc's import does not (yet) map to its explicit-key RNG."""
    x = ctx.tensor(0)
    training = bool(ctx.static(2, "training_mode").reshape(-1)[0]) if ctx.version >= 12 and ctx.has(2) else \
        (ctx.version < 7 and not ctx.attr("is_test", 0))
    ratio = float(ctx.static(1, "ratio").reshape(-1)[0]) if ctx.version >= 12 and ctx.has(1) else \
        ctx.attr("ratio", 0.5)
    if training and ratio > 0:
        raise Unsupported("Dropout in training mode (random masks)")
    outs = [x]
    if ctx.n_outputs > 1:
        if None in x.shape:
            raise Unsupported("Dropout's mask output for a tensor with free dims")
        outs.append(np.ones(x.shape, dtype=bool))
    return outs


@converter("Gather")
def gather(ctx: NodeCtx):
    x, idx = ctx.tensor(0), ctx.tensor(1)
    return G.take(x, idx, axis=ctx.axis(ctx.attr("axis", 0), x.ndim))


def _nonneg(idx, n: int):
    """Indices with negative ones counted from the end (ONNX allows [-n, n))."""
    return G.where(G.less(idx, np.zeros((), idx.dtype)), G.add(idx, np.asarray(n, idx.dtype)), idx)


@converter("GatherElements")
def gather_elements(ctx: NodeCtx):
    x, idx = ctx.tensor(0), ctx.tensor(1)
    axis = ctx.axis(ctx.attr("axis", 0), x.ndim)
    if None in x.shape or None in idx.shape:
        raise Unsupported("GatherElements with free dims")
    strides = np.cumprod((x.shape[1:] + (1,))[::-1])[::-1]
    flat = G.multiply(G.cast(_nonneg(idx, x.shape[axis]), "int64"), np.int64(strides[axis]))
    grid = np.indices(idx.shape)
    offset = sum(grid[a] * strides[a] for a in range(x.ndim) if a != axis)
    return G.take(G.reshape(x, (-1,)), G.add(flat, np.asarray(offset, np.int64)))


@converter("OneHot")
def one_hot(ctx: NodeCtx):
    idx, values = ctx.tensor(0), ctx.tensor(2)
    depth = int(ctx.static(1, "depth").reshape(-1)[0])
    rank = idx.ndim + 1
    axis = ctx.axis(ctx.attr("axis", -1), rank)
    if not is_int(idx.dtype):
        idx = G.cast(idx, "int64")
    classes = np.arange(depth, dtype=idx.dtype).reshape([depth if a == axis else 1 for a in range(rank)])
    hot = G.equal(G.expand_dims(_nonneg(idx, depth), axis), classes)
    return G.where(hot, G.getitem(values, 1), G.getitem(values, 0))


@converter("EyeLike")
def eye_like(ctx: NodeCtx):
    x = ctx.tensor(0)
    if None in x.shape:
        raise Unsupported("EyeLike of a tensor with free dims")
    dtype = onnx_dtype(ctx.attr("dtype"), "the EyeLike dtype") if ctx.has_attr("dtype") else x.dtype
    return np.eye(x.shape[0], x.shape[1], k=ctx.attr("k", 0), dtype=dtype)


@converter("Trilu")
def trilu(ctx: NodeCtx):
    x = ctx.tensor(0)
    k = int(ctx.static(1, "k").reshape(-1)[0]) if ctx.has(1) else 0
    if None in x.shape[-2:]:
        raise Unsupported("Trilu with free matrix dims")
    ones = np.ones(x.shape[-2:], dtype=bool)
    keep = np.triu(ones, k) if ctx.attr("upper", 1) else np.tril(ones, k)
    return G.where(keep, x, np.zeros((), x.dtype))


@converter("Range")
def range_(ctx: NodeCtx):
    raise Unsupported("Range with bounds computed from the model's inputs: its length is data-dependent "
                      "(ranges of import-time values are folded)")


@converter("Einsum")
def einsum(ctx: NodeCtx):
    """A product of operands aligned on the union of their indices, summed over those not in the output."""
    xs = ctx.tensors()
    eq = ctx.attr("equation").replace(" ", "")
    lhs, _, rhs = eq.partition("->")
    terms = lhs.split(",")
    if "." in eq:
        free = [c for c in string.ascii_letters if c not in eq]
        wide = max(x.ndim - len(t.replace("...", "")) for t, x in zip(terms, xs) if "..." in t)
        terms = [_ellipsis(t, x.ndim, free[:wide]) for t, x in zip(terms, xs)]
        rhs = rhs.replace("...", "".join(free[:wide]))
    if not _:
        counts = {c: sum(t.count(c) for t in terms) for c in "".join(terms)}
        rhs = "".join(sorted(c for c, n in counts.items() if n == 1))
    letters = sorted(set("".join(terms)))
    if any(len(set(t)) != len(t) for t in terms):
        raise Unsupported(f"Einsum {eq!r} with a repeated index in one operand (a diagonal)")
    prod = None
    for t, x in zip(terms, xs):
        order = sorted(range(len(t)), key=lambda i: letters.index(t[i]))
        aligned = G.transpose(x, order) if order != sorted(order) else x
        present = sorted(t, key=letters.index)
        aligned = G.expand_dims(aligned, tuple(i for i, c in enumerate(letters) if c not in present)) \
            if len(present) < len(letters) else aligned
        prod = aligned if prod is None else G.multiply(prod, aligned)
    summed = tuple(i for i, c in enumerate(letters) if c not in rhs)
    out = G.sum(prod, summed) if summed else prod
    kept = [c for c in letters if c in rhs]
    perm = [kept.index(c) for c in rhs]
    return G.transpose(out, perm) if perm != sorted(perm) else out


def _ellipsis(term: str, rank: int, free: list[str]) -> str:
    if "..." not in term:
        return term
    n = rank - len(term.replace("...", ""))
    return term.replace("...", "".join(free[len(free) - n:]))  # broadcast dims align on the right
