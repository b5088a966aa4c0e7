"""Axis bookkeeping, the bottom of graphc.ops: reshape, expand/squeeze, broadcasting, and summation.

Broadcasting and summation are each other's pullback (the gradient of repeating
`x` along an axis sums it back; the gradient of a sum repeats it), and every
elementwise op's rules use both, so they sit below every other op module, with
the reduction contract (`Reduce`, `Monoid`) Sum is the first instance of. Nothing
here imports another op module: graphc.ops imports downward, without cycles.

Shapes may hold `None` (a placeholder's free dim). Ops whose result shape must
follow another tensor's free dims (the gradient of a broadcast, say) take that
tensor as a *shape donor* input whose values are never read.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import sympy as sp

from ..ir import Constant, Tensor, constant
from ..ir.dtypes import is_float, is_half
from ..ir.errors import ShapeError
from ..ir.node import Op
from . import args
from .operands import as_tensors, desc


def _known(shape) -> bool:
    return all(d is not None for d in shape)


class Reshape(Op):
    """The elements in row-major order under a new shape: a view where the strides allow, else a copy."""

    name = "reshape"
    fields = ("shape",)
    kernel_kind = "copy"
    cost = 0

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
    cost = 0
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
    cost = 0
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


class BroadcastTo(Op):
    """Repeat `x` along its size-1 (or missing leading) axes to a fixed shape."""

    name = "broadcast_to"
    cost = 0
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
    cost = 0
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


class Reduce(Op):
    """Reduce `x` over `axes` (sorted, non-negative), keeping them as size 1 if `keepdims`.

    A reduction whose identity is no value the user could have meant (max, min, argmax, argmin:
    NumPy's "has no identity") refuses an empty axis when declared, so no backend has an answer to
    invent.
    """

    fields = ("axes", "keepdims")
    numpy_fn: Any = None
    #: whether a reduction over an empty axis has a value (its identity)
    empty_ok = True

    def infer(self, x):
        empty = [a for a in self.axes if x.shape[a] == 0]
        if empty and not self.empty_ok:
            raise ShapeError(f"{self.name}: axis {empty[0]} of {desc(x)} is empty, and the {self.name} of "
                             "no elements has no value (NumPy: a zero-size reduction with no identity)",
                             fix="reduce over a non-empty axis, or concatenate the value an empty slice "
                                 "should give (e.g. -inf for max) before reducing")
        if self.keepdims:
            shape = tuple(1 if i in self.axes else d for i, d in enumerate(x.shape))
        else:
            shape = tuple(d for i, d in enumerate(x.shape) if i not in self.axes)
        return shape, self.out_dtype(x)

    def out_dtype(self, x: Tensor) -> str:
        return x.dtype

    def numpy(self, x):
        return type(self).numpy_fn(x, axis=self.axes, keepdims=self.keepdims)

    def kept(self, node: Tensor, t: Tensor) -> Tensor:
        """`t` (shaped like the output) with the reduced axes restored as size 1."""
        return t if self.keepdims else expand_dims(t, self.axes)


class Monoid(Reduce):
    """A reduction that folds the elements with an associative `combine`, starting from `identity`.

    These class methods are everything a backend knows about the reduction: the LLVM and CUDA kernels
    (one accumulator per output, a row of them, or a block's warp shuffles) start from `identity`,
    fold each element in with `combine` printed as scalar code, and hold partial results in the
    `accumulator` dtype, and fusion folds an elementwise producer into the same kernel. A subclass
    also gives `name`, `numpy_fn` (the reference, e.g. np.sum) and, if differentiable, `pullback`.
    """

    kernel_kind = "reduce"
    #: the dtype float partial results are held in (None: the output's own)
    float_accumulator: str | None = None

    @classmethod
    def identity(cls, dtype: str) -> int | float | bool:
        """Where a fold over elements of `dtype` starts: the value with combine(identity, x) = x."""
        raise NotImplementedError(cls.name)

    @classmethod
    def combine(cls, a: sp.Expr, b: sp.Expr) -> sp.Expr:
        """Two partial results combined, as a SymPy expression (e.g. a + b): associative and commutative,
        since kernels fold in any order."""
        raise NotImplementedError(cls.name)

    @classmethod
    def accumulator(cls, dtype: str) -> str:
        """The dtype partial results of a reduction to `dtype` are held in (16-bit floats: at least
        float32, which is where they compute)."""
        if cls.float_accumulator and is_float(dtype):
            return cls.float_accumulator
        return "float32" if is_half(dtype) else dtype

    def kernel_body(self, x: sp.Expr) -> sp.Expr:
        """The value each element enters the fold as: itself."""
        return x

    def numpy(self, x):
        """16-bit floats fold in the accumulator's dtype and round once at the end, as compiled kernels
        (and PyTorch's CPU sums) do; NumPy's own float16 sum pairs in float32, ml_dtypes' bfloat16 sum
        rounds every partial sum to bfloat16."""
        if is_half(x.dtype.name):
            x = x.astype(self.accumulator(x.dtype.name))
        return super().numpy(x)


class Sum(Monoid):
    """The sum; float32 sums accumulate in float64 (backends may reassociate them, and the wider
    partial sums stay at least as accurate as NumPy's pairwise float32 ones); integers wrap."""

    name = "sum"
    numpy_fn = np.sum
    float_accumulator = "float64"

    @classmethod
    def identity(cls, dtype):
        return 0

    @classmethod
    def combine(cls, a, b):
        return a + b

    def pullback(self, node, g):
        x = node.inputs[0]
        return [broadcast_like(self.kept(node, g), x)]

    def jvp(self, node, tangents):
        return Tensor.make(self, [tangents[0]])


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
    lead = g.ndim - x.ndim
    if lead:
        g = Tensor.make(Sum(tuple(range(lead)), False), [g])
    axes = tuple(i for i, (a, b) in enumerate(zip(x.shape, g.shape)) if a == 1 and b != 1)
    return Tensor.make(Sum(axes, True), [g]) if axes else g

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
    return broadcast_like(constant(np.zeros((1,) * x.ndim, x.dtype)), x)

def ones_like(x: Tensor) -> Tensor:
    """Ones of x's shape and dtype (a broadcast of one constant: free dims stay free)."""
    return broadcast_like(constant(np.ones((1,) * x.ndim, x.dtype)), x)

