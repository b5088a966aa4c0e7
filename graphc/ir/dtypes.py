"""The five dtypes graphc knows and how they combine.

Promotion follows a simple lattice, bool < int32 < int64 < float32 < float64
(as in JAX: an int64 tensor combined with a float32 tensor stays float32).
Python scalars are *weak*: `x * 2.0` keeps the dtype of `x` when `x` is float, and
an int tensor combined with a Python float becomes float32.
"""
from __future__ import annotations

import numpy as np

from .errors import DTypeError

DTYPES = ("bool", "int32", "int64", "float32", "float64")
_RANK = {name: i for i, name in enumerate(DTYPES)}
FLOATS = ("float32", "float64")
INTS = ("int32", "int64")


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
    try:
        known: np.dtype | None = np.dtype(dtype)
    except TypeError:
        known = None
    name = known.name if known is not None else None
    if name not in _RANK:
        shown = name or repr(dtype)
        nearest = _nearest(known)
        raise DTypeError(f"{where}: unsupported dtype {shown}; graphc supports {', '.join(DTYPES)}",
                         fix=f"use one of those: convert arrays with .astype(np.{nearest}), declare or "
                             f"cast tensors as {nearest!r}")
    return name


def _nearest(dtype: np.dtype | None) -> str:
    """The supported dtype an unsupported NumPy one converts to without losing values (float32 else)."""
    kind = dtype.kind if dtype is not None else "f"
    return {"b": "bool", "i": "int64", "u": "int64"}.get(kind, "float32")


def is_float(dtype: str) -> bool:
    return dtype in FLOATS


def is_int(dtype: str) -> bool:
    return dtype in INTS


def promote(*dtypes: str) -> str:
    """The dtype that all of `dtypes` combine to."""
    return max(dtypes, key=_RANK.__getitem__)


def weak_scalar_dtype(value, partner: str) -> str:
    """The dtype a Python scalar takes next to a tensor of dtype `partner`."""
    if isinstance(value, (bool, np.bool_)):
        return partner if partner != "bool" else "bool"
    if isinstance(value, (int, np.integer)):
        return partner if partner != "bool" else "int64"
    if isinstance(value, (float, np.floating)):
        return partner if is_float(partner) else "float32"
    raise TypeError(f"cannot use {type(value).__name__} {value!r} as a tensor")


def to_numpy(dtype: str) -> np.dtype:
    return np.dtype(dtype)
