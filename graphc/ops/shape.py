"""Ops that move elements without computing: transpose and concatenate, and the shape functions
built on them and on the axis bookkeeping of axes.py (reshape, expand_dims, broadcast_to, ...,
importable from here as well).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..ir import Tensor
from ..ir.dtypes import promote
from ..ir.errors import ShapeError
from ..ir.node import Op
from . import args
from .axes import BroadcastLike as BroadcastLike  # the axis bookkeeping's classes, importable from here too
from .axes import BroadcastTo as BroadcastTo
from .axes import ExpandDims as ExpandDims
from .axes import Reshape as Reshape
from .axes import Squeeze as Squeeze
from .axes import const_value as const_value
from .axes import scalar_const as scalar_const
from .axes import unbroadcast as unbroadcast
from .axes import broadcast_like, broadcast_to, expand_dims, ones_like, reshape, squeeze, zeros_like
from .elementwise import cast
from .index import slice_axis
from .operands import as_tensors, desc

#: the user-facing functions of this family: what graphc.ops (and gc) export
__all__ = ["broadcast_like", "broadcast_to", "concatenate", "expand_dims", "flatten", "ones_like", "reshape",
           "squeeze", "stack", "swapaxes", "transpose", "zeros_like"]


class Transpose(Op):
    name = "transpose"
    fields = ("perm",)
    cost = 0

    def infer(self, x):
        if sorted(self.perm) != list(range(x.ndim)):
            raise ShapeError(f"transpose: {self.perm} is not a permutation of the axes of {desc(x)}")
        return tuple(x.shape[p] for p in self.perm), x.dtype

    def numpy(self, x):
        return np.transpose(x, self.perm)

    def pullback(self, node, g):
        return [transpose(g, tuple(np.argsort(self.perm).tolist()))]

    def jvp(self, node, tangents):
        return Tensor.make(self, [tangents[0]])


class Concatenate(Op):
    name = "concatenate"
    fields = ("axis",)
    kernel_kind = "copy"
    cost = 0

    def infer(self, *xs):
        first = xs[0]
        for x in xs[1:]:
            same = x.ndim == first.ndim and all(
                i == self.axis or a == b for i, (a, b) in enumerate(zip(x.shape, first.shape)))
            if not same or x.dtype != first.dtype:
                raise ShapeError(f"concatenate: operands {desc(*xs)} differ outside axis {self.axis}",
                                 fix="all operands need the same dtype and the same sizes off the axis")
        sizes = [x.shape[self.axis] for x in xs]
        shape = list(first.shape)
        shape[self.axis] = None if None in sizes else sum(sizes)
        return tuple(shape), first.dtype

    def numpy(self, *xs):
        return np.concatenate(xs, axis=self.axis)

    def pullback(self, node, g):
        grads, start = [], 0
        for x in node.inputs:
            n = x.shape[self.axis]
            if n is None:
                raise ShapeError("concatenate: the gradient needs the sizes along the axis to be known",
                                 fix="give the concatenated placeholders a fixed size on that axis")
            grads.append(slice_axis(g, self.axis, start, start + n))
            start += n
        return grads

    def jvp(self, node, tangents):
        ts = [zeros_like(x) if t is None else t for x, t in zip(node.inputs, tangents)]
        return Tensor.make(self, ts)

# -- user-facing functions -------------------------------------------------------

def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes of `x` (reverse them when `axes` is None)."""
    (x,) = as_tensors(x)
    if axes is None:
        perm = tuple(reversed(range(x.ndim)))
    else:
        perm = tuple(args.axis("transpose", x, a) for a in args.items(axes))
        if sorted(perm) != list(range(x.ndim)):
            raise ShapeError(f"transpose: {axes!r} is not a permutation of the axes of {desc(x)}",
                             fix=f"name each of the {x.ndim} axes once, in their new order")
    return x if perm == tuple(range(x.ndim)) else Tensor.make(Transpose(perm), [x])

def swapaxes(x: Any, a: int, b: int) -> Tensor:
    """`x` with axes `a` and `b` exchanged."""
    (x,) = as_tensors(x)
    a, b = args.axis("swapaxes", x, a), args.axis("swapaxes", x, b)
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)

def concatenate(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    ts = as_tensors(*xs)
    if not ts:
        raise ShapeError("concatenate: needs at least one tensor", fix="pass a non-empty list of tensors")
    dtype = promote(*(t.dtype for t in ts))
    ts = [cast(t, dtype) for t in ts]
    ax = args.axis("concatenate", ts[0], axis)
    return ts[0] if len(ts) == 1 else Tensor.make(Concatenate(ax), ts)

def stack(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    ts = as_tensors(*xs)
    if not ts:
        raise ShapeError("stack: needs at least one tensor", fix="pass a non-empty list of tensors")
    ax = args.axis("stack", ts[0], axis, rank=ts[0].ndim + 1)
    shapes = {t.shape for t in ts}
    if len(shapes) != 1:
        raise ShapeError(f"stack: all tensors need one shape, got {desc(*ts)}",
                         fix="reshape, pad or slice them to one shape, or concatenate along an existing axis")
    return concatenate([expand_dims(t, ax) for t in ts], axis=ax)

def flatten(x: Any, start_axis: int = 1) -> Tensor:
    """Merge the axes from `start_axis` on into one (the batch axis stays)."""
    (x,) = as_tensors(x)
    start_axis = args.axis("flatten", x, start_axis)
    head = tuple(-1 if d is None else d for d in x.shape[:start_axis])
    tail = x.shape[start_axis:]
    return reshape(x, head + (-1 if None in tail else int(np.prod(tail)),))
