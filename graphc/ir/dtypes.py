"""The thirteen dtypes graphc knows and how they combine.

Dtypes: bool; the signed ints int8, int16, int32, int64; the unsigned ints uint8, uint16, uint32,
uint64; the floats float16, bfloat16, float32, float64.

Promotion is JAX's type lattice (a join, so the n-ary result does not depend on operand order):

    bool -> uint8 -> uint16 -> uint32 -> uint64 -> f*
    bool -> int8 -> int16 -> int32 -> int64 -> f*
    uint8 -> int16, uint16 -> int32, uint32 -> int64
    f* -> float16 -> float32 -> float64,   f* -> bfloat16 -> float32

so an int combined with a float takes the float's dtype (int64 with float32 is float32, int8 with
float16 is float16, as in JAX; NumPy widens more), signed with unsigned takes the smallest signed
type holding both (uint8 with int8 is int16), float16 with bfloat16 is float32, and int64 with
uint64 -- whose join is JAX's weak float f* -- is float64 (NumPy's answer, and JAX's under x64).

Python scalars are *weak*: `x * 2.0` keeps the dtype of `x` when `x` is float (float16 included),
an int tensor combined with a Python float becomes float32, and a Python int keeps the dtype of an
int tensor (a bool tensor makes it int64). A Python int that the partner's int dtype cannot hold
(`uint8_tensor + 300`, `uint8_tensor - 1` written as `+ (-1)`) is a DTypeError, as NumPy 2 and JAX
refuse it.

bfloat16 arrays are `ml_dtypes.bfloat16` arrays (NumPy has no bfloat16; onnx and jax use
ml_dtypes). graphc imports ml_dtypes only when bfloat16 is named, and says how to install it when
it is missing.
"""
from __future__ import annotations

import numpy as np

from .errors import DTypeError

FLOATS = ("float16", "bfloat16", "float32", "float64")
#: the 16-bit floats: stored in 16 bits, computed in float32, each op's result rounded once
HALVES = ("float16", "bfloat16")
SIGNED = ("int8", "int16", "int32", "int64")
UNSIGNED = ("uint8", "uint16", "uint32", "uint64")
INTS = SIGNED + UNSIGNED
DTYPES = ("bool",) + INTS + FLOATS

#: the lattice's edges (dtype -> the dtypes directly above it); "f*" is JAX's weak float
_ABOVE = {
    "bool": ("uint8", "int8"),
    "uint8": ("uint16", "int16"), "uint16": ("uint32", "int32"), "uint32": ("uint64", "int64"), "uint64": ("f*",),
    "int8": ("int16",), "int16": ("int32",), "int32": ("int64",), "int64": ("f*",),
    "f*": ("float16", "bfloat16"), "float16": ("float32",), "bfloat16": ("float32",), "float32": ("float64",),
    "float64": (),
}


def _upper(dtype: str) -> frozenset:
    """dtype and every dtype above it in the lattice."""
    seen, todo = {dtype}, [dtype]
    while todo:
        for up in _ABOVE[todo.pop()]:
            if up not in seen:
                seen.add(up)
                todo.append(up)
    return frozenset(seen)


_UPPER = {d: _upper(d) for d in _ABOVE}


def canonical(dtype, where: str = "dtype") -> str:
    """The graphc name of a dtype given as a string, NumPy dtype or Python type.

    Every entry point that takes a dtype or an array comes here, so an unsupported one is the same
    `DTypeError` everywhere; `where` names the entry point (and argument) in the message.
    """
    if dtype is float:
        return "float32"
    if dtype is int:
        return "int64"
    if dtype is bool:
        return "bool"
    if isinstance(dtype, str) and dtype == "bfloat16":
        bfloat16(where)
        return "bfloat16"
    try:
        known: np.dtype | None = np.dtype(dtype)
    except TypeError:
        known = None
    name = known.name if known is not None else None
    if name not in DTYPES:
        shown = name or repr(dtype)
        nearest = _nearest(known)
        raise DTypeError(f"{where}: unsupported dtype {shown}; graphc supports {', '.join(DTYPES)}",
                         fix=f"use one of those: convert arrays with .astype(np.{nearest}), declare or "
                             f"cast tensors as {nearest!r}")
    return name


def bfloat16(where: str = "bfloat16"):
    """The NumPy scalar type of bfloat16 arrays, `ml_dtypes.bfloat16` (imported on first use)."""
    try:
        import ml_dtypes
    except ImportError:
        raise DTypeError(f"{where}: bfloat16 arrays are ml_dtypes.bfloat16 arrays, and ml_dtypes is not "
                         "installed", fix="pip install ml_dtypes (jax and onnx install it too)") from None
    return ml_dtypes.bfloat16


def _nearest(dtype: np.dtype | None) -> str:
    """The supported dtype an unsupported NumPy one converts to without losing values (float64 else)."""
    if dtype is None:
        return "float32"
    if dtype.kind == "b":
        return "bool"
    return "int64" if dtype.kind in "iu" else "float64" if dtype.kind in "fc" else "float32"


def is_float(dtype: str) -> bool:
    return dtype in FLOATS


def is_half(dtype: str) -> bool:
    """A 16-bit float (see `HALVES`)."""
    return dtype in HALVES


def is_int(dtype: str) -> bool:
    return dtype in INTS


def is_unsigned(dtype: str) -> bool:
    return dtype in UNSIGNED


def bits(dtype: str) -> int:
    """The width of one element in bits (bool: 8, as stored)."""
    return 8 if dtype == "bool" else int(dtype.lstrip("abcdefghijklmnopqrstuvwxyz"))


def promote(*dtypes: str) -> str:
    """The dtype that all of `dtypes` combine to: their join in the lattice (see the module docstring)."""
    common = frozenset.intersection(*(_UPPER[d] for d in dtypes))
    least = [d for d in common if not any(d != o and d in _UPPER[o] for o in common)]
    (join,) = least
    return "float64" if join == "f*" else join


def weak_scalar_dtype(value, partner: str, who: str = "operand") -> str:
    """The dtype a Python scalar takes next to a tensor of dtype `partner` (`who`: the op, for errors)."""
    if isinstance(value, (bool, np.bool_)):
        return partner
    if isinstance(value, (int, np.integer)):
        if partner == "bool":
            return "int64"
        if is_int(partner):
            info = np.iinfo(partner)
            if not info.min <= int(value) <= info.max:
                raise DTypeError(f"{who}: the Python int {value} does not fit the {partner} operand it meets "
                                 f"(range {info.min}..{info.max})",
                                 fix="cast the tensor to a wider dtype first, or use a value in range")
        return partner
    if isinstance(value, (float, np.floating)):
        return partner if is_float(partner) else "float32"
    raise TypeError(f"cannot use {type(value).__name__} {value!r} as a tensor")


def to_numpy(dtype: str) -> np.dtype:
    """The NumPy dtype of graphc's `dtype` (bfloat16: ml_dtypes')."""
    return np.dtype(bfloat16() if dtype == "bfloat16" else dtype)
