"""Checks of the static arguments ops and layers take when declared: axes, sizes, shapes, numbers.

Every op, layer and optimizer passes its axis, size, shape and hyperparameter arguments through
these, so a bad one is the same graphc error everywhere, raised where it is declared: the user's
line, the op, the value given, what is allowed, and how to fix it. Python's bools are ints, but
`True` is never meant as an axis or a size, so none of these accepts one.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ir import Tensor
from ..ir.dtypes import canonical, is_float
from ..ir.errors import ArgumentError, DTypeError, ShapeError
from .operands import desc


def is_index(v: Any) -> bool:
    """A Python or NumPy int that is not a bool: what an axis or a size may be."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _range_fix(rank: int) -> str:
    if rank == 0:
        return "a scalar (rank 0) has no axes: reshape it, or leave the axis out"
    return f"use an int in [{-rank}, {rank - 1}] (negative axes count from the end)"


def _of(x: Tensor, rank: int) -> str:
    if rank == x.ndim:
        return f"a tensor of rank {rank} ({desc(x)})"
    return f"a result of rank {rank} (from {desc(x)})"


def axis(op: str, x: Tensor, a: Any, rank: int | None = None) -> int:
    """One axis of `x` (or of `op`'s result, of rank `rank`), made non-negative."""
    rank = x.ndim if rank is None else rank
    if not is_index(a):
        raise ShapeError(f"{op}: axis must be an int, got {a!r} for {_of(x, rank)}", fix=_range_fix(rank))
    if not -rank <= a < rank:
        raise ShapeError(f"{op}: axis {a} is out of range for {_of(x, rank)}", fix=_range_fix(rank))
    return int(a) % rank


def _is_sequence(v: Any) -> bool:
    return isinstance(v, (Sequence, np.ndarray)) and not isinstance(v, str)


def items(spec: Any) -> tuple:
    """The entries of an axis or shape argument: a sequence's items, or the one value given."""
    return tuple(spec) if _is_sequence(spec) else (spec,)


def axes(op: str, x: Tensor, spec: Any, rank: int | None = None) -> tuple[int, ...]:
    """Sorted, distinct, non-negative axes from `None` (all of them), one int, or a sequence of ints."""
    rank = x.ndim if rank is None else rank
    if spec is None:
        return tuple(range(rank))
    out = [axis(op, x, a, rank) for a in items(spec)]
    if len(set(out)) != len(out):
        twice = next(a for a in out if out.count(a) > 1)
        raise ShapeError(f"{op}: axes {spec!r} name axis {twice} twice (for {_of(x, rank)})",
                         fix="list each axis once")
    return tuple(sorted(out))


def size(op: str, what: str, v: Any, minimum: int = 1, fix: str | None = None) -> int:
    """A whole-number size, depth or count of at least `minimum`."""
    if not is_index(v) or v < minimum:
        raise ShapeError(f"{op}: {what} must be an int >= {minimum}, got {v!r}",
                         fix=fix or f"pass a whole number >= {minimum}")
    return int(v)


def dims(op: str, shape: Any, *, infer: bool = False, free_fix: str) -> tuple[int, ...]:
    """A static shape: non-negative ints, plus (when `infer`) one -1 for the dim the size implies.

    `free_fix` says what to do instead of a `None` (a free dim, which a static shape cannot hold).
    """
    allowed = "non-negative ints" + (" and at most one -1" if infer else "")
    if not is_index(shape) and not _is_sequence(shape):
        raise ShapeError(f"{op}: the shape must be an int or a sequence of ints, got {shape!r}",
                         fix=f"pass a tuple of {allowed}")
    entries = items(shape)
    for d in entries:
        if d is None:
            raise ShapeError(f"{op}: the shape {shape!r} holds None, a free dim", fix=free_fix)
        if not is_index(d) or d < (-1 if infer else 0):
            raise ShapeError(f"{op}: the shape {shape!r} has the bad dim {d!r}", fix=f"use {allowed}")
    if infer and sum(1 for d in entries if d == -1) > 1:
        raise ShapeError(f"{op}: the shape {shape!r} has more than one -1",
                         fix="only one dim can be inferred from the size; give the others")
    return tuple(int(d) for d in entries)


def number(where: str, what: str, v: Any, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, fix: str | None = None) -> float:
    """A finite real number within [low, high] (each end open when asked): a rate, a probability..."""
    lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
    hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
    bounds = " and ".join(p for p in (lo, hi) if p)
    real = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
    x = float(v) if real else math.nan
    ok = math.isfinite(x) and (low is None or (x > low if low_open else x >= low)) \
        and (high is None or (x < high if high_open else x <= high))
    if not ok:
        wanted = f"a finite number {bounds}".rstrip()
        raise ArgumentError(f"{where}: {what} must be {wanted}, got {v!r}", fix=fix or f"pass {wanted}")
    return x


def float_dtype(where: str, dtype: Any) -> str:
    """The float dtype of a layer's parameters (an int or bool weight would never learn)."""
    name = canonical(dtype, where)
    if not is_float(name):
        raise DTypeError(f"{where}: parameters need a float dtype, got {name}", fix="use dtype='float32' or 'float64'")
    return name
