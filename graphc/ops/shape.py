"""Ops that move or repeat elements without computing: reshape, transpose, broadcast, concat.

Shapes may hold `None` (a placeholder's free dim). Ops whose result shape must
follow another tensor's free dims (the gradient of a broadcast, say) take that
tensor as a *shape donor* input whose values are never read.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..ir import Constant, Tensor
from ..ir.dtypes import promote
from ..ir.errors import ShapeError
from ..ir.node import Op
from . import args
from .operands import as_tensors, desc


def _known(shape) -> bool:
    return all(d is not None for d in shape)


class Reshape(Op):
    name = "reshape"
    fields = ("shape",)

    def infer(self, x):
        target = list(self.shape)
        if target.count(-1) > 1:
            raise ShapeError(f"reshape: at most one -1 in the new shape {self.shape}",
                             fix="only one dim can be inferred from the size; give the others")
        if not _known(x.shape):
            free = [d for d in x.shape if d is None]
            if len(free) != 1 or -1 not in target:
                raise ShapeError(f"reshape: cannot reshape {desc(x)} (free dims) to {self.shape}",
                                 fix="use -1 for the one dim that follows the free size")
            known = int(np.prod([d for d in x.shape if d is not None]))
            rest = int(np.prod([d for d in target if d != -1]))
            if rest == 0 or known % rest:  # the -1 dim holds known / rest elements per free index
                raise ShapeError(f"reshape: {desc(x)} cannot become {self.shape}: the fixed dims hold "
                                 f"{known} elements per free index, which the new shape's {rest} do not divide",
                                 fix="the fixed dims of the new shape must divide those of the input")
            return tuple(None if d == -1 else d for d in target), x.dtype
        size = int(np.prod(x.shape))
        if -1 in target:
            rest = int(np.prod([d for d in target if d != -1]))
            if rest == 0 or size % rest:
                raise ShapeError(f"reshape: cannot reshape {desc(x)} ({size} elements) to {self.shape}",
                                 fix=f"the known dims of the new shape must divide {size}")
            target[target.index(-1)] = size // rest
        if int(np.prod(target)) != size:
            raise ShapeError(f"reshape: cannot reshape {desc(x)} ({size} elements) to {self.shape} "
                             f"({int(np.prod(target))} elements)",
                             fix="the new shape must hold the same number of elements")
        return tuple(target), x.dtype

    def numpy(self, x):
        return x.reshape(self.shape)

    def pullback(self, node, g):
        x = node.inputs[0]
        return [reshape(g, tuple(-1 if d is None else d for d in x.shape))]

    def jvp(self, node, tangents):
        return reshape(tangents[0], self.shape)


class ExpandDims(Op):
    """Insert size-1 axes at the given positions of the result."""

    name = "expand_dims"
    fields = ("axes",)

    def infer(self, x):
        shape = list(x.shape)
        for a in self.axes:
            shape.insert(a, 1)
        return tuple(shape), x.dtype

    def numpy(self, x):
        return np.expand_dims(x, self.axes)

    def pullback(self, node, g):
        return [Tensor.make(Squeeze(self.axes), [g])]

    def jvp(self, node, tangents):
        return Tensor.make(self, [tangents[0]])


class Squeeze(Op):
    """Remove size-1 axes."""

    name = "squeeze"
    fields = ("axes",)

    def infer(self, x):
        bad = [a for a in self.axes if x.shape[a] != 1]
        if bad:
            raise ShapeError(f"squeeze: axes {bad} of {desc(x)} do not have size 1",
                             fix="squeeze only size-1 axes (a free dim is not known to be 1)")
        return tuple(d for i, d in enumerate(x.shape) if i not in self.axes), x.dtype

    def numpy(self, x):
        return np.squeeze(x, self.axes) if self.axes else x

    def pullback(self, node, g):
        return [Tensor.make(ExpandDims(self.axes), [g])]

    def jvp(self, node, tangents):
        return Tensor.make(self, [tangents[0]])


class Transpose(Op):
    name = "transpose"
    fields = ("perm",)

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


class BroadcastTo(Op):
    """Repeat `x` along its size-1 (or missing leading) axes to a fixed shape."""

    name = "broadcast_to"
    fields = ("shape",)

    def infer(self, x):
        lead = len(self.shape) - x.ndim
        ok = lead >= 0 and all(d in (1, t) for d, t in zip(x.shape, self.shape[lead:]))
        if not ok:
            raise ShapeError(f"broadcast_to: cannot broadcast {desc(x)} to {self.shape}",
                             fix="each dim must equal the target's or be 1")
        return self.shape, x.dtype

    def numpy(self, x):
        return np.broadcast_to(x, self.shape)

    def pullback(self, node, g):
        return [unbroadcast(g, node.inputs[0])]

    def jvp(self, node, tangents):
        return Tensor.make(self, [tangents[0]])


class BroadcastLike(Op):
    """Broadcast `x` to the shape of `donor` (for shapes with free dims; donor values unused)."""

    name = "broadcast_like"
    donors = (1,)

    def infer(self, x, donor):
        if x.ndim != donor.ndim or not all(a in (1, b) or b is None for a, b in zip(x.shape, donor.shape)):
            raise ShapeError(f"broadcast_like: cannot broadcast {desc(x)} to the shape of {desc(donor)}")
        return donor.shape, x.dtype

    def numpy(self, x, donor):
        return np.broadcast_to(x, donor.shape)

    def pullback(self, node, g):
        return [unbroadcast(g, node.inputs[0]), None]

    def jvp(self, node, tangents):
        return None if tangents[0] is None else broadcast_like(tangents[0], node.inputs[1])


class Concatenate(Op):
    name = "concatenate"
    fields = ("axis",)

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
        from .index import slice_axis
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

def reshape(x: Any, shape: Any) -> Tensor:
    """`x` with a new shape of the same size (one dim may be -1)."""
    (x,) = as_tensors(x)
    shape = args.dims("reshape", shape, infer=True,
                      free_fix="use -1 for the one dim that follows the input's free size")
    if shape == x.shape:
        return x
    return Tensor.make(Reshape(shape), [x])

def expand_dims(x: Any, axis: Any) -> Tensor:
    """`x` with size-1 axes inserted at `axis` (positions in the result)."""
    (x,) = as_tensors(x)
    norm = args.axes("expand_dims", x, axis, rank=x.ndim + len(args.items(axis)))
    return Tensor.make(ExpandDims(norm), [x]) if norm else x

def squeeze(x: Any, axis: Any = None) -> Tensor:
    """`x` without its size-1 axes (all of them, or those in `axis`)."""
    (x,) = as_tensors(x)
    axes = tuple(i for i, d in enumerate(x.shape) if d == 1) if axis is None else args.axes("squeeze", x, axis)
    return Tensor.make(Squeeze(axes), [x]) if axes else x

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

def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """`x` repeated to `shape` (NumPy rules)."""
    (x,) = as_tensors(x)
    shape = args.dims("broadcast_to", shape, free_fix="broadcast_like(x, donor) follows another tensor's free dims")
    return x if shape == x.shape else Tensor.make(BroadcastTo(shape), [x])

def broadcast_like(x: Tensor, donor: Tensor) -> Tensor:
    """`x` repeated to the shape of `donor` (equal ranks)."""
    if x.shape == donor.shape and None not in x.shape:
        return x
    if x.ndim < donor.ndim:
        x = expand_dims(x, tuple(range(donor.ndim - x.ndim)))
    if _known(donor.shape):
        return broadcast_to(x, donor.shape)
    return Tensor.make(BroadcastLike(), [x, donor])

def unbroadcast(g: Tensor, x: Tensor) -> Tensor:
    """Sum `g` back to the shape of `x` (the gradient of broadcasting `x`)."""
    from .reduce import sum as sum_
    lead = g.ndim - x.ndim
    if lead:
        g = sum_(g, axis=tuple(range(lead)))
    axes = tuple(i for i, (a, b) in enumerate(zip(x.shape, g.shape)) if a == 1 and b != 1)
    return sum_(g, axis=axes, keepdims=True) if axes else g

def concatenate(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    ts = as_tensors(*xs)
    if not ts:
        raise ShapeError("concatenate: needs at least one tensor", fix="pass a non-empty list of tensors")
    from .elementwise import cast
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

def const_value(t: Tensor) -> np.ndarray | None:
    """The value of `t` if it is a constant seen through broadcasts/reshapes (else None): rules that
    depend on a known operand (an exponent, a rewrite's identity element) look through the views here."""
    while isinstance(t.op, (BroadcastTo, BroadcastLike, ExpandDims, Reshape)):
        t = t.inputs[0]
    return t.op.value if isinstance(t.op, Constant) else None


def scalar_const(t: Tensor) -> float | None:
    """The single value of a uniform constant (None if not constant or not uniform)."""
    v = const_value(t)
    if v is None or v.size == 0:
        return None
    first = v.reshape(-1)[0]
    return first.item() if np.all(v == first) else None


def zeros_like(x: Tensor) -> Tensor:
    """Zeros of the shape and dtype of `x` (a broadcast constant: no memory of its own)."""
    from ..ir import constant
    return broadcast_like(constant(np.zeros((1,) * x.ndim, x.dtype)), x)

def ones_like(x: Tensor) -> Tensor:
    """Ones of x's shape and dtype (a broadcast of one constant: free dims stay free)."""
    from ..ir import constant
    return broadcast_like(constant(np.ones((1,) * x.ndim, x.dtype)), x)

def flatten(x: Any, start_axis: int = 1) -> Tensor:
    """Merge the axes from `start_axis` on into one (the batch axis stays)."""
    (x,) = as_tensors(x)
    start_axis = args.axis("flatten", x, start_axis)
    head = tuple(-1 if d is None else d for d in x.shape[:start_axis])
    tail = x.shape[start_axis:]
    return reshape(x, head + (-1 if None in tail else int(np.prod(tail)),))
