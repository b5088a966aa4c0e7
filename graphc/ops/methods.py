"""Python operators and methods on `Tensor` (`a + b`, `x @ w`, `x.sum()`, `x[1:]`, ...).

The IR defines `Tensor` without knowing any op; this module, which does, gives
it its operators when `graphc.ops` is imported.
"""
from __future__ import annotations

from typing import Any

from ..ir import Tensor
from . import elementwise as ew
from . import index, integer, linalg, reduce, shape


def _swap(fn):
    return lambda self, other: fn(other, self)


def _reshape(self: Tensor, *shape_: Any) -> Tensor:
    """`x.reshape(2, 3)` or `x.reshape((2, 3))`, as NumPy's (one dim may be -1)."""
    return shape.reshape(self, shape_[0] if len(shape_) == 1 and not isinstance(shape_[0], int) else shape_)


def _transpose(self: Tensor, *axes: Any) -> Tensor:
    """`x.transpose()` reverses the axes; `x.transpose(1, 0, 2)` or `x.transpose((1, 0, 2))` permutes them."""
    return shape.transpose(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes or None)


def _flatten(self: Tensor) -> Tensor:
    """The elements as one axis, in row-major order."""
    return shape.reshape(self, (-1,))


_METHODS = {
    "__add__": ew.add, "__radd__": _swap(ew.add),
    "__sub__": ew.subtract, "__rsub__": _swap(ew.subtract),
    "__mul__": ew.mul, "__rmul__": _swap(ew.mul),
    "__truediv__": ew.divide, "__rtruediv__": _swap(ew.divide),
    "__pow__": ew.power, "__rpow__": _swap(ew.power),
    "__matmul__": linalg.matmul, "__rmatmul__": _swap(linalg.matmul),
    "__neg__": ew.negative, "__pos__": lambda self: self, "__abs__": ew.abs,
    "__lt__": ew.less, "__le__": ew.less_equal, "__gt__": ew.greater, "__ge__": ew.greater_equal,
    "__eq__": ew.equal, "__ne__": ew.not_equal,
    "__and__": integer.bitwise_and, "__rand__": _swap(integer.bitwise_and),
    "__or__": integer.bitwise_or, "__ror__": _swap(integer.bitwise_or),
    "__xor__": integer.bitwise_xor, "__rxor__": _swap(integer.bitwise_xor), "__invert__": integer.bitwise_not,
    "__mod__": integer.mod, "__rmod__": _swap(integer.mod),
    "__floordiv__": integer.floor_divide, "__rfloordiv__": _swap(integer.floor_divide),
    "__lshift__": integer.left_shift, "__rlshift__": _swap(integer.left_shift),
    "__rshift__": integer.right_shift, "__rrshift__": _swap(integer.right_shift),
    "__getitem__": index.getitem,
    "sum": reduce.sum, "mean": reduce.mean, "max": reduce.max, "min": reduce.min, "prod": reduce.prod,
    "argmax": reduce.argmax, "argmin": reduce.argmin, "var": reduce.var, "std": reduce.std,
    "reshape": _reshape, "transpose": _transpose, "astype": ew.cast, "flatten": _flatten,
    "exp": ew.exp, "log": ew.log, "sqrt": ew.sqrt, "tanh": ew.tanh, "sigmoid": ew.sigmoid, "relu": ew.relu,
}


def install() -> None:
    for name, fn in _METHODS.items():
        setattr(Tensor, name, fn)
    Tensor.T = property(lambda self: shape.transpose(self), doc="The tensor with its axes reversed.")
