"""The three kinds of leaf: placeholders (inputs), parameters (state), constants."""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .dtypes import canonical
from .errors import DTypeError, ShapeError
from .node import Op, Tensor
from .stategroup import Group, hold

_UIDS = itertools.count()


class Leaf(Op):
    is_leaf = True

    def pullback(self, node, g):
        return ()


class Placeholder(Leaf):
    """A function input; `None` dims are fixed per call (one compiled variant per shape)."""

    name = "placeholder"

    def __init__(self, shape, dtype: str, label: str | None):
        self.shape = shape
        self.dtype = dtype
        self.label = label
        self.uid = next(_UIDS)

    def attrs(self):
        return (self.uid,)

    def infer(self):
        return self.shape, self.dtype

    def describe_attrs(self):
        return {"name": self.label}

    def format(self, args):
        return self.label or f"input{self.uid}"


class ParamState:
    """The buffer behind a parameter: the runtime reads and updates it in place.

    The buffer is private: `param.value` hands out views of it, so no user code can resize,
    reshape or retype the array compiled code writes (its address and layout never change).
    A device backend may hold the current value instead (`owner`, with
    `download() -> ndarray`) so parameters stay on the GPU between calls;
    reading `.array` brings the value back to the host and ends that ownership.
    `group` is the set of states compiled steps use together, whose one lock a step holds while it
    runs (stategroup.py).
    """

    __slots__ = ("_array", "owner", "group")

    def __init__(self, array: np.ndarray):
        self._array = array
        self.owner = None
        self.group = Group()

    @property
    def array(self) -> np.ndarray:
        if self.owner is not None:
            owner, self.owner = self.owner, None
            self._array[...] = owner.download()
        return self._array


class Parameter(Leaf):
    """Trainable state; its buffer is shared by every compiled function that uses it."""

    name = "parameter"

    def __init__(self, value: np.ndarray, label: str | None):
        self.state = ParamState(value)
        self.label = label
        self.uid = next(_UIDS)

    def attrs(self):
        return (self.uid,)

    def infer(self):
        a = self.state.array
        return a.shape, a.dtype.name

    def describe_attrs(self):
        return {"name": self.label}

    def format(self, args):
        return self.label or f"param{self.uid}"


class Constant(Leaf):
    """A fixed array, hash-consed by value so equal constants are one node."""

    name = "constant"

    def __init__(self, value: np.ndarray):
        value = native(value)
        value.flags.writeable = False
        self.value = value
        self._key = (value.dtype.name, value.shape, value.tobytes())

    def attrs(self):
        return self._key

    def infer(self):
        return self.value.shape, self.value.dtype.name

    def describe_attrs(self):
        return {"value": self.value.tolist() if self.value.size <= 8 else f"array{self.value.shape}"}

    def format(self, args):
        """A number, `full(shape, number)` when uniform, the values when few, else `const(shape)`."""
        v = self.value
        if v.size == 1:
            return _number(v.reshape(())[()])
        if v.size and np.all(v == v.flat[0]):
            return f"full({v.shape}, {_number(v.flat[0])})"
        if v.size <= 8:
            return str(v.tolist())
        return f"const{v.shape}"


def _number(x: np.generic) -> str:
    """The shortest text that reads back as `x` in its dtype; whole floats without '.0'."""
    if isinstance(x, np.floating) and np.isfinite(x) and x == int(x) and abs(x) < 1e16:
        return str(int(x))
    return str(x)


_PY_DEFAULTS = {"f": "float32", "i": "int64", "u": "int64", "b": "bool"}


def _check_shape(shape) -> tuple:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise ShapeError(f"placeholder: shape must be a tuple of ints or None, got {shape!r}") from None
    for d in shape:
        if d is not None and (not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 0):
            raise ShapeError(f"placeholder: shape {shape!r} has the bad dimension {d!r}",
                             fix="use non-negative ints, or None for a size fixed at call time")
    return tuple(None if d is None else int(d) for d in shape)


def _array(value: Any, dtype: Any, where: str) -> np.ndarray:
    """`value` as an array (of `dtype` if given): what NumPy cannot make one array of (ragged nesting,
    text where numbers belong) is a graphc error naming `where`, not NumPy's. The caller checks the
    array's dtype with `canonical` (complex, strings and objects fail there)."""
    if isinstance(value, Tensor):
        raise DTypeError(f"{where}: the value is a symbolic tensor ({value.type_str()}), not data",
                         fix="pass an array; to start from a computed value, compile it with gc.function first")
    try:
        return np.asarray(value, dtype=None if dtype is None else canonical(dtype, where))
    except ValueError as e:
        if "inhomogeneous" in str(e):
            raise ShapeError(f"{where}: the value is ragged (nested sequences of different lengths)",
                             fix="pad the rows to one length, or make one tensor per row") from None
        raise DTypeError(f"{where}: cannot convert the value to an array: {e}",
                         fix="pass numbers (bool, int or float) or an array of them") from None


def native(a: Any) -> np.ndarray:
    """A C-contiguous copy of `a` in the machine's byte order: compiled code reads raw native bytes."""
    a = np.asarray(a)
    return np.array(a, dtype=a.dtype.newbyteorder("="), order="C", copy=True)


def placeholder(shape=(), dtype: Any = "float32", name: str | None = None) -> Tensor:
    """A symbolic input of the given shape (`None` dims are free) and dtype."""
    dtype = canonical(dtype, f"placeholder {name!r}" if name else "placeholder")
    return Tensor.make(Placeholder(_check_shape(shape), dtype, name))


def parameter(value: Any, name: str | None = None, dtype: Any = None) -> Tensor:
    """Trainable state initialised from `value` (copied); read and set it with `.value`.

    An array keeps its dtype, which must be one graphc supports (like `constant`'s)."""
    where = f"parameter {name!r}" if name else "parameter"
    arr = _array(value, dtype, where)
    canonical(arr.dtype, where)
    return Tensor.make(Parameter(native(arr), name))


def constant(value: Any, dtype: Any = None) -> Tensor:
    """A constant tensor; Python floats become float32 unless `dtype` says otherwise."""
    if isinstance(value, Tensor):
        return value
    arr = _array(value, dtype, "constant")
    if dtype is None and not isinstance(value, (np.ndarray, np.generic)):  # Python data: graphc's defaults
        arr = arr.astype(_PY_DEFAULTS.get(arr.dtype.kind, arr.dtype))
    canonical(arr.dtype, "constant")
    return Tensor.make(Constant(arr))


def _get_value(self: Tensor) -> np.ndarray:
    if not isinstance(self.op, Parameter):
        raise AttributeError(f"only parameters have a .value; this is a {self.op.name} tensor")
    return self.op.state.array[...]  # a view: it sees every update, but cannot move the buffer


def _set_value(self: Tensor, value: Any) -> None:
    if not isinstance(self.op, Parameter):
        raise AttributeError(f"only parameters have a .value; this is a {self.op.name} tensor")
    buf = self.op.state.array
    new = np.asarray(value)
    if new.shape != buf.shape:
        raise ShapeError(f"parameter {self.name or ''}.value: new value has shape {new.shape}, "
                         f"the parameter has shape {buf.shape}",
                         fix="parameters keep their shape; declare a new parameter for a new shape")
    if not np.can_cast(new.dtype, buf.dtype, casting="same_kind"):
        raise DTypeError(f"parameter {self.name or ''}.value: cannot store {new.dtype} into {buf.dtype}")
    lock = hold(self.op.state)  # never half-written while a step reads it
    try:
        buf[...] = new  # in place: compiled functions share this buffer
    finally:
        lock.release()


Tensor.value = property(_get_value, _set_value,
                        doc="The current value of a parameter: a view of the buffer compiled functions share.")
