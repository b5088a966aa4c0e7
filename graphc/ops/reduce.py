"""Reductions over axes, and the normalizations built on them (softmax family).

`logsumexp`, `softmax` and `log_softmax` are first-class ops: their NumPy
implementations subtract the maximum, and their reverse rules reuse the output,
so they stay finite where the composed formulas overflow.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from ..ir import Tensor, constant
from ..ir.dtypes import is_float, is_half
from ..ir.errors import DTypeError, ShapeError
from ..ir.node import Op
from . import elementwise as ew
from . import args
from .axes import Monoid as Monoid  # the reduction contract, importable from here too
from .axes import Reduce as Reduce
from .axes import Sum as Sum
from .axes import broadcast_like, expand_dims, reshape
from .operands import as_tensors, desc

#: the user-facing functions of this family: what graphc.ops (and gc) export
__all__ = ["argmax", "argmin", "log_softmax", "logsumexp", "max", "mean", "min", "prod", "softmax",
           "softmax_cross_entropy", "std", "sum", "var"]


class Prod(Monoid):
    """The product; float32 products accumulate in float64, as sums do."""

    name = "prod"
    numpy_fn = np.prod
    float_accumulator = "float64"

    @classmethod
    def identity(cls, dtype):
        return 1

    @classmethod
    def combine(cls, a, b):
        return a * b

    def pullback(self, node, g):
        # d prod / d x_i = product of the others: exact with zeros (no division by x_i = 0).
        x = node.inputs[0]
        nonzero = ew.not_equal(x, 0.0)
        zeros = Tensor.make(Sum(self.axes, True), [ew.cast(ew.logical_not(nonzero), x.dtype)])
        p = Tensor.make(Prod(self.axes, True), [ew.where(nonzero, x, 1.0)])
        gk = broadcast_like(self.kept(node, g), x)
        at_nonzero = ew.where(ew.equal(zeros, 0.0), ew.divide(p, ew.where(nonzero, x, 1.0)), 0.0)
        at_zero = ew.where(ew.equal(zeros, 1.0), p, 0.0)
        return [ew.mul(gk, ew.where(nonzero, at_nonzero, at_zero))]


class Extremum(Monoid):
    """max/min: the gradient is shared equally by the elements that attain it. A NaN wins, as in
    np.max (SymPy's Max and Min print as NaN-propagating code: llvm.maximum, not maxnum)."""

    empty_ok = False

    def pullback(self, node, g):
        x = node.inputs[0]
        hit = ew.cast(ew.equal(x, broadcast_like(self.kept(node, node), x)), x.dtype)
        count = Tensor.make(Sum(self.axes, True), [hit])
        return [ew.mul(hit, broadcast_like(ew.divide(self.kept(node, g), count), x))]


class Max(Extremum):
    name = "max"
    numpy_fn = np.max

    @classmethod
    def identity(cls, dtype):
        """The least value of `dtype`: -inf, the most negative integer, False."""
        if is_float(dtype):
            return -np.inf
        return False if dtype == "bool" else int(np.iinfo(dtype).min)

    @classmethod
    def combine(cls, a, b):
        return sp.Max(a, b)


class Min(Extremum):
    name = "min"
    numpy_fn = np.min

    @classmethod
    def identity(cls, dtype):
        """The greatest value of `dtype`: inf, the most positive integer, True."""
        if is_float(dtype):
            return np.inf
        return True if dtype == "bool" else int(np.iinfo(dtype).max)

    @classmethod
    def combine(cls, a, b):
        return sp.Min(a, b)


class ArgExtremum(Reduce):
    """Index of the first max/min along one axis (int64; no gradient); a NaN counts as the extremum,
    so the first NaN wins, as in NumPy. Its search starts from `extremum`'s identity."""

    differentiable = False
    empty_ok = False
    kernel_kind = "reduce"
    extremum: type[Extremum]

    def out_dtype(self, x):
        return "int64"

    def numpy(self, x):
        (axis,) = self.axes
        return type(self).numpy_fn(x, axis=axis, keepdims=self.keepdims)

    def pullback(self, node, g):
        return [None]


class ArgMax(ArgExtremum):
    name = "argmax"
    numpy_fn = np.argmax
    extremum = Max


class ArgMin(ArgExtremum):
    name = "argmin"
    numpy_fn = np.argmin
    extremum = Min


def _wide(x: np.ndarray) -> np.ndarray:
    """16-bit floats as float32: the softmax family computes in float32 and rounds its results once
    (as compiled kernels and PyTorch's CPU kernels do)."""
    return x.astype(np.float32) if is_half(x.dtype.name) else x


class LogSumExp(Reduce):
    name = "logsumexp"
    kernel_kind = "softmax"

    def out_dtype(self, x):
        return _needs_float(self.name, x)

    def numpy(self, x):
        x = _wide(x)
        m = np.max(x, axis=self.axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0).astype(x.dtype)
        s = np.log(np.sum(np.exp(x - m), axis=self.axes, keepdims=True)) + m
        return s if self.keepdims else np.squeeze(s, self.axes)

    def pullback(self, node, g):
        x = node.inputs[0]
        weights = ew.exp(ew.subtract(x, broadcast_like(self.kept(node, node), x)))
        return [ew.mul(broadcast_like(self.kept(node, g), x), weights)]


class Softmax(Op):
    """exp(x) / sum(exp(x)) along one axis, computed without overflow."""

    name = "softmax"
    fields = ("axis",)
    kernel_kind = "softmax"

    def infer(self, x):
        return x.shape, _needs_float(self.name, x)

    def numpy(self, x):
        x = _wide(x)
        e = np.exp(x - np.max(x, axis=self.axis, keepdims=True, initial=-np.inf))  # an empty axis: empty result
        return e / np.sum(e, axis=self.axis, keepdims=True)

    def pullback(self, node, g):
        inner = sum(ew.mul(g, node), axis=self.axis, keepdims=True)
        return [ew.mul(node, ew.subtract(g, inner))]


class LogSoftmax(Softmax):
    """x - logsumexp(x) along one axis."""

    name = "log_softmax"

    def numpy(self, x):
        x = _wide(x)
        z = x - np.max(x, axis=self.axis, keepdims=True, initial=-np.inf)
        return z - np.log(np.sum(np.exp(z), axis=self.axis, keepdims=True))

    def pullback(self, node, g):
        total = sum(g, axis=self.axis, keepdims=True)
        return [ew.subtract(g, ew.mul(ew.exp(node), total))]


class Count(Op):
    """How many elements `x` has along `axes`, as a scalar of `dtype` (for free dims)."""

    name = "count"
    fields = ("axes", "dtype")
    differentiable = False

    def infer(self, x):
        return (), self.dtype

    def numpy(self, x):
        return np.asarray(int(np.prod([x.shape[a] for a in self.axes])), dtype=self.dtype)

    def pullback(self, node, g):
        return [None]

def _needs_float(name: str, x: Tensor) -> str:
    if not is_float(x.dtype):
        raise DTypeError(f"{name}: needs a float operand, got {desc(x)}", fix="cast with gc.cast(x, 'float32')")
    return x.dtype

def _reduce(cls, x, axis, keepdims) -> Tensor:
    (x,) = as_tensors(x)
    axes = args.axes(cls.name, x, axis)
    if not axes:
        return x
    return Tensor.make(cls(axes, bool(keepdims)), [x])

def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001 - the NumPy name
    """Sum over `axis` (all axes when None); bools count as int64."""
    (x,) = as_tensors(x)
    if x.dtype == "bool":
        x = ew.cast(x, "int64")
    return _reduce(Sum, x, axis, keepdims)

def prod(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The product over `axis` (an int, a tuple, or None for all), as np.prod."""
    return _reduce(Prod, x, axis, keepdims)

def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """The largest element over `axis` (None: all), as np.max; the elements that attain it share the
    gradient equally."""
    return _reduce(Max, x, axis, keepdims)

def min(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """The smallest element over `axis` (None: all), as np.min; the elements that attain it share the
    gradient equally."""
    return _reduce(Min, x, axis, keepdims)

def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over `axis`, stable for large |x|."""
    return _reduce(LogSumExp, x, axis, keepdims)

def _arg(cls, x, axis, keepdims) -> Tensor:
    (x,) = as_tensors(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    if not args.is_index(axis):
        raise ShapeError(f"{cls.name}: axis must be one int or None, got {axis!r} for {desc(x)}",
                         fix="an index along several axes is ambiguous: reshape them into one first")
    return Tensor.make(cls((args.axis(cls.name, x, axis),), bool(keepdims)), [x])

def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the largest element along `axis` (of the flattened tensor when None)."""
    return _arg(ArgMax, x, axis, keepdims)

def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """The int64 index of the first smallest element along `axis` (None: of the flattened tensor), as np.argmin."""
    return _arg(ArgMin, x, axis, keepdims)

def count(x: Tensor, axes: tuple, dtype: str) -> Tensor:
    """Number of elements along `axes`: a constant when the sizes are known."""
    sizes = [x.shape[a] for a in axes]
    if None in sizes:
        return Tensor.make(Count(tuple(axes), dtype), [x])
    return constant(np.asarray(int(np.prod(sizes)), dtype=dtype))

def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over `axis` (ints give float32)."""
    (x,) = as_tensors(x)
    if not is_float(x.dtype):
        x = ew.cast(x, "float32")
    axes = args.axes("mean", x, axis)
    return ew.divide(sum(x, axes, keepdims), count(x, axes, x.dtype))

def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over `axis` (population variance by default, as NumPy)."""
    return _variance("var", x, axis, keepdims, ddof)

def std(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Standard deviation over `axis` (the square root of `var`)."""
    return ew.sqrt(_variance("std", x, axis, keepdims, ddof))

def _variance(op: str, x: Any, axis: Any, keepdims: bool, ddof: Any) -> Tensor:
    (x,) = as_tensors(x)
    axes = args.axes(op, x, axis)
    centered = ew.subtract(x, mean(x, axes, keepdims=True))
    total = sum(ew.square(centered), axes, keepdims)
    return ew.divide(total, _dof(op, x, axes, ddof, centered.dtype))

def _dof(op: str, x: Tensor, axes: tuple, ddof: Any, dtype: str) -> Tensor:
    """n - ddof, the divisor of a variance. Known sizes that leave no degree of freedom are an error
    (the result would be inf or nan, or negative past n); over free dims it stops at 0, as in NumPy."""
    ddof = args.number(op, "ddof", ddof, low=0, fix="ddof=0 for the population variance, 1 for the sample one")
    sizes = [x.shape[a] for a in axes]
    if not ddof or None in sizes:
        n = count(x, axes, dtype)
        return ew.maximum(ew.subtract(n, ddof), 0.0) if ddof else n
    n = int(np.prod(sizes))
    if ddof >= n:
        raise ShapeError(f"{op}: ddof={ddof:g} leaves no degrees of freedom: axes {axes} of {desc(x)} hold "
                         f"{n} element(s), and the variance divides by n - ddof",
                         fix="use a ddof smaller than the number of elements reduced (ddof=1 needs at least 2)")
    return constant(np.asarray(n - ddof, dtype=dtype))

def softmax(x: Any, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis`."""
    (x,) = as_tensors(x)
    a = args.axis("softmax", x, axis)
    return Tensor.make(Softmax(a), [x])

def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along `axis`."""
    (x,) = as_tensors(x)
    a = args.axis("log_softmax", x, axis)
    return Tensor.make(LogSoftmax(a), [x])


class SoftmaxCrossEntropy(Op):
    """-sum(t * log_softmax(z)) along one axis, in one stable op.

    Its gradient with respect to the logits is `softmax(z) * sum(t) - t`
    (softmax - onehot for one-hot targets): no division, no overflow.
    """

    name = "softmax_cross_entropy"
    fields = ("axis",)
    kernel_kind = "softmax"

    def infer(self, z, t):
        if z.shape != t.shape or z.dtype != t.dtype:
            raise ShapeError(f"softmax_cross_entropy: logits and targets need one shape and dtype, got {desc(z, t)}",
                             fix="one-hot encode integer labels with gc.one_hot(labels, classes)")
        return tuple(d for i, d in enumerate(z.shape) if i != self.axis), _needs_float(self.name, z)

    def numpy(self, z, t):
        return -np.sum(_wide(t) * LogSoftmax(self.axis).numpy(z), axis=self.axis)

    def pullback(self, node, g):
        z, t = node.inputs
        gk = expand_dims(g, self.axis)
        total = sum(t, axis=self.axis, keepdims=True)
        dz = ew.mul(gk, ew.subtract(ew.mul(softmax(z, self.axis), total), t))
        dt = ew.negative(ew.mul(gk, log_softmax(z, self.axis)))
        return [dz, dt]

def softmax_cross_entropy(logits: Any, targets: Any, axis: int = -1) -> Tensor:
    """Cross-entropy of `targets` (probabilities, e.g. one-hot) against softmax(`logits`)."""
    z, t = as_tensors(logits, targets)
    a = args.axis("softmax_cross_entropy", z, axis)
    return Tensor.make(SoftmaxCrossEntropy(a), [z, ew.cast(t, z.dtype)])
