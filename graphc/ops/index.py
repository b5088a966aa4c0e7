"""Indexing: static slices (`x[1:, ::2]`), gathers by integer tensors, and one-hot codes.

Each reading op has a writing twin that is its gradient: slicing scatters back
into zeros, gathering adds back at the indices. The twins take the original
tensor as a shape donor, so free dims are fine.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import Constant, Tensor, constant
from ..ir.dtypes import canonical, is_int
from ..ir.errors import DTypeError, GraphcError, IndexRangeError, ShapeError
from ..ir.node import Op
from . import elementwise as ew
from . import args
from .operands import as_tensors, desc
from .axes import expand_dims

#: the user-facing functions of this family: what graphc.ops (and gc) export
__all__ = ["getitem", "one_hot", "slice_axis", "take"]

# A key is a tuple of ("int", i) | ("slice", start, stop, step) | ("new",), one per
# result-affecting item, covering every input axis (hashable, unlike `slice` on 3.10).


def _normalize_key(x: Tensor, key: Any) -> tuple:
    items = key if isinstance(key, tuple) else (key,)
    n_axes = sum(1 for k in items if k is not None and k is not Ellipsis)
    if sum(1 for k in items if k is Ellipsis) > 1:
        raise ShapeError("indexing: at most one ... in an index", fix="keep one ... and spell out the other axes")
    if n_axes > x.ndim:
        raise ShapeError(f"indexing: {n_axes} indices for a tensor of rank {x.ndim} ({desc(x)})",
                         fix=f"index at most {x.ndim} axes (None and ... do not count)")
    out: list[tuple] = []
    for k in items:
        if k is Ellipsis:
            out += [("slice", None, None, None)] * (x.ndim - n_axes)
        elif k is None:
            out.append(("new",))
        elif isinstance(k, slice):
            parts = [k.start, k.stop, k.step]
            if any(p is not None and not isinstance(p, (int, np.integer)) for p in parts):
                raise ShapeError(f"indexing: slice bounds must be Python ints, got {k}",
                                 fix="graphc shapes are static; use gc.take for indices computed in the graph")
            if k.step == 0:
                raise ShapeError("indexing: slice step cannot be zero",
                                 fix="use a positive step, or a negative one to go backwards")
            out.append(("slice",) + tuple(None if p is None else int(p) for p in parts))
        elif isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            out.append(("int", int(k)))
        else:
            raise ShapeError(f"indexing: unsupported index {k!r} for {desc(x)}",
                             fix="use ints, slices, None, ... or one integer tensor (gc.take); "
                                 "boolean masks give data-dependent shapes: use gc.where instead")
    consumed = sum(1 for k in out if k[0] != "new")
    out += [("slice", None, None, None)] * (x.ndim - consumed)
    return tuple(out)


def _numpy_key(key: tuple) -> tuple:
    return tuple(k[1] if k[0] == "int" else None if k[0] == "new" else slice(*k[1:]) for k in key)


def key_text(key: tuple) -> str:
    """A normalized key as NumPy index text, `[:, 0, 1:3]`; trailing whole-axis slices are left out."""
    parts = [str(k[1]) if k[0] == "int" else "None" if k[0] == "new" else
             ":".join("" if p is None else str(p) for p in k[1:3]) + ("" if k[3] is None else f":{k[3]}")
             for k in key]
    while len(parts) > 1 and parts[-1] == ":":
        parts.pop()
    return f"[{', '.join(parts)}]"


class _Keyed(Op):
    """An op parameterized by a normalized static index key."""

    fields = ("key",)

    def describe_attrs(self):
        return {"key": key_text(self.key)}


class Slice(_Keyed):
    """Basic (view) indexing with a static key."""

    name = "slice"
    cost = 0

    def infer(self, x):
        shape, axis = [], 0
        for k in self.key:
            if k[0] == "new":
                shape.append(1)
                continue
            d = x.shape[axis]
            if k[0] == "int":
                if d is not None and not -d <= k[1] < d:
                    raise ShapeError(f"indexing: index {k[1]} is out of bounds for axis {axis} of {desc(x)}",
                                     fix=f"use an index in [{-d}, {d - 1}]")
            else:
                shape.append(None if d is None else len(range(*slice(*k[1:]).indices(d))))
            axis += 1
        return tuple(shape), x.dtype

    def numpy(self, x):
        return x[_numpy_key(self.key)]

    def pullback(self, node, g):
        return [Tensor.make(ScatterSlice(self.key), [g, node.inputs[0]])]

    def jvp(self, node, tangents):
        return Tensor.make(self, [tangents[0]])

    def format(self, args):
        return f"{args[0]}{key_text(self.key)}"


class ScatterSlice(_Keyed):
    """Zeros shaped like the donor, with `g` written (broadcast, as NumPy assigns) where `Slice(key)` reads."""

    name = "scatter_slice"
    kernel_kind = "scatter"
    donors = (1,)

    def infer(self, g, donor):
        sliced, _ = Slice(self.key).infer(donor)
        fits = all(a in (None, 1) or b is None or a == b for a, b in zip(g.shape, sliced))
        if not fits or len(g.shape) != len(sliced):
            raise ShapeError(f"scatter_slice: the gradient {desc(g)} does not fit the slice {list(sliced)} "
                             f"of {desc(donor)}"
                             " (free dims that broadcast against each other at the call, where the gradient was "
                             "built for equal sizes)", fix="declare the dims that broadcast as 1, or expand them")
        return donor.shape, g.dtype

    def numpy(self, g, donor):
        out = np.zeros(donor.shape, g.dtype)
        out[_numpy_key(self.key)] = g
        return out

    def pullback(self, node, g):
        return [Tensor.make(Slice(self.key), [g]), None]

    def jvp(self, node, tangents):
        return None if tangents[0] is None else Tensor.make(self, [tangents[0], node.inputs[1]])


class Take(Op):
    """`np.take(x, indices, axis)`: the gather behind embeddings and `x[int_tensor]`.

    Indices lie in [-n, n) for an axis of size n, negatives counting from the end as in NumPy. With
    `labels_of` (the name of a loss) they are class labels, which lie in [0, n): a negative label is
    a bug in the data, not a request for the last class. Every backend checks at run time.
    """

    name = "take"
    kernel_kind = "gather"
    fields = ("axis", "labels_of")

    def __init__(self, axis: int, labels_of: str | None = None):
        super().__init__(axis, labels_of)

    def infer(self, x, idx):
        if not is_int(idx.dtype):
            raise DTypeError(f"take: indices must be int32 or int64, got {desc(x, idx)}",
                             fix="cast with gc.cast(i, 'int64')")
        return x.shape[: self.axis] + idx.shape + x.shape[self.axis + 1:], x.dtype

    def numpy(self, x, idx):
        self.check(x.shape[self.axis], idx, x)
        return np.take(x, idx, axis=self.axis)

    def check(self, n: int, idx: np.ndarray, x: np.ndarray) -> None:
        """Raise IndexRangeError naming the first index outside the valid range (the backends' message)."""
        if not self.labels_of:
            check_range(self.name, self.axis, idx, x)
            return
        bad = np.flatnonzero((idx < 0) | (idx >= n))
        if bad.size:
            raise IndexRangeError(f"{self.labels_of}: label {int(idx.reshape(-1)[bad[0]])} {_position(idx, bad[0])} "
                                  f"labels is out of range [0, {n}) for {n} classes", locate=False,
                                  fix=f"labels are class indices 0..{n - 1}; drop or remap the rows with others")

    def pullback(self, node, g):
        x, idx = node.inputs
        return [Tensor.make(ScatterAdd(self.axis), [g, idx, x]), None]

    def jvp(self, node, tangents):
        t = tangents[0]
        return None if t is None else Tensor.make(self, [t, node.inputs[1]])


class ScatterAdd(Op):
    """Zeros shaped like the donor, with `g` added at `indices` along `axis` (repeats add up)."""

    name = "scatter_add"
    kernel_kind = "scatter"
    fields = ("axis",)
    donors = (2,)

    def infer(self, g, idx, donor):
        return donor.shape, g.dtype

    def numpy(self, g, idx, donor):
        check_range(self.name, self.axis, idx, donor)
        out = np.zeros(donor.shape, g.dtype)
        np.add.at(out, (slice(None),) * self.axis + (idx,), g)
        return out

    def pullback(self, node, g):
        return [Tensor.make(Take(self.axis), [g, node.inputs[1]]), None, None]

    def jvp(self, node, tangents):
        t = tangents[0]
        return None if t is None else Tensor.make(self, [t, node.inputs[1], node.inputs[2]])

def _position(idx: np.ndarray, flat: int) -> str:
    return f"at position {list(map(int, np.unravel_index(flat, idx.shape)))} of the {idx.dtype}{list(idx.shape)}"


def check_range(op: str, axis: int, idx: np.ndarray, x: np.ndarray) -> None:
    """Raise IndexRangeError naming the first of `idx` outside [-n, n) for axis `axis` of `x` (the message
    every backend gives for take and its gradient, scatter_add)."""
    n = x.shape[axis]
    bad = np.flatnonzero((idx < -n) | (idx >= n))
    if bad.size:
        raise IndexRangeError(f"{op}: index {int(idx.reshape(-1)[bad[0]])} {_position(idx, bad[0])} indices is out "
                              f"of range [{-n}, {n}) for axis {axis} of {x.dtype}{list(x.shape)}", locate=False,
                              fix=f"indices must lie in [-n, n) for an axis of size n (here n = {n})")


def getitem(x: Tensor, key: Any) -> Tensor:
    """`x[key]`: static ints/slices/None/..., or one integer tensor on one axis."""
    items = key if isinstance(key, tuple) else (key,)
    tensors = [i for i, k in enumerate(items) if isinstance(k, (Tensor, np.ndarray, list))]
    if tensors:
        rest = [k for i, k in enumerate(items) if i not in tensors]
        if len(tensors) != 1 or Ellipsis in rest or None in rest or \
                any(not (isinstance(k, slice) and k == slice(None)) for k in rest):
            raise ShapeError(f"indexing: {desc(x)} with {key!r} is not supported",
                             fix="index with one integer tensor and full slices (x[:, idx]), or use gc.take")
        return take(x, items[tensors[0]], axis=tensors[0])
    nkey = _normalize_key(x, key)
    if all(k == ("slice", None, None, None) for k in nkey):
        return x
    return Tensor.make(Slice(nkey), [x])

def slice_axis(x: Tensor, axis: int, start: int, stop: int, step: int = 1) -> Tensor:
    """`x[..., start:stop:step, ...]` on one axis."""
    key = [slice(None)] * x.ndim
    key[args.axis("slice_axis", x, axis)] = slice(start, stop, step)
    return getitem(x, tuple(key))

def take(x: Any, indices: Any, axis: int = 0) -> Tensor:
    """Elements of `x` at integer `indices` along `axis` (as `np.take`)."""
    x, = as_tensors(x)
    idx = indices if isinstance(indices, Tensor) else constant(np.asarray(indices))
    if not is_int(idx.dtype):
        raise DTypeError(f"take: indices must be integers, got {desc(idx)}",
                         fix="cast with gc.cast(i, 'int64')")
    ax = args.axis("take", x, axis)
    return _gather(Take(ax), x, idx)


def _gather(op: Take, x: Tensor, idx: Tensor) -> Tensor:
    """The gather; constant indices are checked as it is declared, so the error leads with its line."""
    node = Tensor.make(op, [x, idx])
    n = x.shape[op.axis]
    if isinstance(idx.op, Constant) and n is not None:
        try:
            op.check(n, idx.op.value, x)
        except GraphcError as e:
            raise e.located(node.loc) from None
    return node

def labels(indices: Any, classes: int, of: str) -> Tensor:
    """Integer class labels, unchanged, each checked at run time to lie in [0, classes) (`of` names the
    loss in the error): a gather from arange(classes), so every backend checks it as it checks `take`."""
    (idx,) = as_tensors(indices)
    if not is_int(idx.dtype):
        raise DTypeError(f"{of}: labels must be integers, got {desc(idx)}", fix="cast with gc.cast(y, 'int64')")
    return _gather(Take(0, of), constant(np.arange(int(classes), dtype=idx.dtype)), idx)


def one_hot(indices: Any, depth: int, dtype: str = "float32") -> Tensor:
    """`indices` (ints) as one-hot rows of length `depth` (out-of-range rows are all zero)."""
    (idx,) = as_tensors(indices)
    if not is_int(idx.dtype):
        raise DTypeError(f"one_hot: indices must be integers, got {desc(idx)}", fix="cast with gc.cast(i, 'int64')")
    depth = args.size("one_hot", "depth (the number of classes)", depth)
    dtype = canonical(dtype, "one_hot")
    classes = constant(np.arange(depth, dtype=idx.dtype))
    return ew.cast(ew.equal(expand_dims(idx, -1), classes), dtype)
