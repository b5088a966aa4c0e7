"""Turning user operands into tensors, and describing them in error messages."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..ir import Tensor, constant
from ..ir.dtypes import canonical, promote, weak_scalar_dtype
from ..ir.errors import ShapeError

_SCALARS = (bool, int, float, np.bool_, np.integer, np.floating)


def desc(*tensors: Tensor) -> str:
    """'float32[3, 4] and int64[?]': the operand types of an op, for error messages."""
    return " and ".join(t.type_str() for t in tensors)


def as_tensors(*values: Any, who: str = "operand") -> list[Tensor]:
    """Tensors for a mix of tensors, arrays and Python scalars (scalars are weakly typed; `who`, the op,
    names a Python int that does not fit its integer partner)."""
    strong = [v.dtype for v in values if isinstance(v, Tensor)]
    strong += [canonical(v.dtype, "operand") for v in values if isinstance(v, np.ndarray)]
    partner = promote(*strong) if strong else None
    out = []
    for v in values:
        if isinstance(v, Tensor):
            out.append(v)
        elif isinstance(v, _SCALARS) and partner is not None:
            out.append(constant(v, dtype=weak_scalar_dtype(v, partner, who)))
        else:
            out.append(constant(v))
    return out


def broadcast_dims(op_name: str, shapes: Sequence[tuple], tensors: Sequence[Tensor]) -> tuple:
    """The NumPy broadcast of equal-rank shapes; a `None` dim is taken to be other than 1."""
    out = []
    for axis, dims in enumerate(zip(*shapes)):
        sizes = {d for d in dims if d != 1}
        known = {d for d in sizes if d is not None}
        if len(known) > 1:
            raise ShapeError(
                f"{op_name}: shapes {' and '.join(str(t.shape) for t in tensors)} do not broadcast "
                f"(axis {axis - len(shapes[0])} has sizes {sorted(known)}); operands {desc(*tensors)}",
                fix="make the sizes equal, or 1 where a value should repeat (reshape or expand_dims)")
        if known:
            out.append(known.pop())
        elif None in sizes:
            out.append(None)
        else:
            out.append(1)
    return tuple(out)

