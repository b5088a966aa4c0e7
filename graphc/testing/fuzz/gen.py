"""The state of one random program being generated: its inputs, its lines, and the interval of each value.

Each value carries an interval [lo, hi] that bounds it for every draw and, while
it is computed exactly (from dyadic inputs by adds, products, comparisons, ...),
its count of fractional bits. The generator uses them to stay in each op's
domain (log of positive numbers, no int overflow, no exp overflow) and to feed
discontinuous ops (floor, sign, comparisons, argmax) only exact values, so a
float32 run and the float64 reference take the same branch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import graphc as gc

from .program import Input

FLOAT_CAP, INT_CAP = 1e3, 2.0 ** 20   # largest magnitude a generated value may reach
FREE_MAX = 3                           # free dims are called with sizes 0 .. FREE_MAX
EXACT_BITS = 20                        # exact while integer bits + fractional bits fit float32 comfortably
#: the same for the 16-bit floats (11 and 8 significant bits)
EXACT_BITS_OF = {"float16": 10, "bfloat16": 7}
#: the ints a program's int inputs take, and how often (the wide ones most)
INT_DTYPES = ("int32", "int64", "int8", "uint8", "int16", "uint16", "uint32", "uint64")
INT_WEIGHTS = (0.3, 0.3, 0.08, 0.08, 0.06, 0.06, 0.06, 0.06)


@dataclass
class Val:
    t: Any                 # the graphc tensor (for its shape and dtype)
    lo: float
    hi: float
    bits: int | None       # fractional bits while exact, None once rounded

    @property
    def mag(self) -> float:
        return max(abs(self.lo), abs(self.hi))

    @property
    def exact(self) -> bool:
        limit = EXACT_BITS_OF.get(self.t.dtype, EXACT_BITS)
        return self.bits is not None and self.bits + math.log2(self.mag + 1) <= limit

    @property
    def is_float(self) -> bool:
        return gc.ir.is_float(self.t.dtype)


Line = tuple[str, float, float, "int | None"]   # (expression, lo, hi, bits)


def hull(*vals: float) -> tuple[float, float]:
    """The interval [lo, hi] holding every one of `vals`."""
    return min(vals), max(vals)


def exact_bits(*vals: Val) -> int | None:
    """The fractional bits of a value computed exactly from `vals` (None when one of them is rounded)."""
    return None if any(not v.exact for v in vals) else max(v.bits for v in vals)


def _fits(a: tuple, b: tuple) -> bool:
    """Broadcast-compatible, treating a free dim as unequal to any size but 1 (and itself)."""
    return all(x == y or x == 1 or y == 1 for x, y in zip(reversed(a), reversed(b)))


def free_size(dims) -> int:
    """Elements of a shape at the largest size a free dim is called with."""
    return int(np.prod([FREE_MAX if d is None else d for d in dims]))


class Gen:
    """The state of one program being generated: its inputs, lines and the interval of each value."""

    def __init__(self, rng: np.random.Generator, exclude: frozenset[str]):
        self.rng, self.exclude = rng, exclude
        self.free = rng.random() < 0.5
        self.fdt = str(rng.choice(["float32", "float64", "float16", "bfloat16"], p=[0.6, 0.22, 0.1, 0.08]))
        self.inputs: list[Input] = []
        self.lines: list[tuple[str, str]] = []
        self.vals: dict[str, Val] = {}
        self.crashed = False
        self.scope: dict[str, Any] = {"gc": gc, "np": np}

    def allows(self, dims: tuple, family: str) -> bool:
        """Whether `family` may take these dims: "<family>-free" and "<family>-empty" in the exclusions
        keep free dims (which can be 0) or size-0 dims away from it."""
        return not ((None in dims and f"{family}-free" in self.exclude)
                    or ((0 in dims or None in dims) and f"{family}-empty" in self.exclude))

    # -- random choices --------------------------------------------------------------------------
    def choice(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def dim(self) -> int | None:
        if self.free and self.chance(0.2):
            return None
        return int(self.rng.choice([1, 2, 3, 0], p=[0.3, 0.35, 0.27, 0.08]))

    def shape(self, rank: int | None = None) -> tuple:
        rank = int(self.rng.choice(4, p=[0.15, 0.35, 0.35, 0.15])) if rank is None else rank
        return tuple(self.dim() for _ in range(rank))

    def dtype(self) -> str:
        r = self.rng.random()
        if r < 0.7:
            return self.fdt if self.chance(0.85) else ("float64" if self.fdt == "float32" else "float32")
        return "bool" if r > 0.92 else str(self.rng.choice(INT_DTYPES, p=INT_WEIGHTS))

    # -- values ----------------------------------------------------------------------------------
    def fresh(self, shape: tuple, dtype: str, low: float = -2.0, high: float = 2.0) -> str:
        """A new placeholder (floats are multiples of 1/4, hence exact with 2 fractional bits)."""
        name = f"x{len(self.inputs)}"
        if dtype.startswith("uint"):
            low, high = max(low, 0.0), max(high, 0.0)
        x = Input(name, tuple(shape), dtype, low, high)
        self.inputs.append(x)
        t = self.scope[name] = gc.placeholder(x.shape, dtype, name=name)
        lo, hi = (0.0, 1.0) if dtype == "bool" else (low, high)
        self.vals[name] = Val(t, lo, hi, 2 if gc.ir.is_float(dtype) else 0)
        return name

    def pick(self, want: Callable[[Val], bool]) -> str | None:
        """An existing value satisfying `want`, usually one of the newest (so expressions nest)."""
        names = [n for n, v in self.vals.items() if want(v)]
        if not names:
            return None
        recent = names[-3:]
        return self.choice(recent if self.chance(0.7) else names)

    def operand(self, want: Callable[[Val], bool] = lambda v: True, dtype: str | None = None,
                shape: tuple | None = None) -> str:
        """An existing value satisfying `want`, or (sometimes, or when there is none) a fresh input."""
        name = None if self.chance(0.15) else self.pick(want)
        if name is None:
            name = self.fresh(self.shape() if shape is None else shape, dtype or self.dtype())
            if not want(self.vals[name]):
                raise _Reject
        return name

    def partner(self, a: str, want: Callable[[Val], bool] = lambda v: True, dtype: str | None = None) -> str:
        """A value that broadcasts with `a`: an existing one, or a fresh input of a compatible shape."""
        sa = self.vals[a].t.shape
        name = None if self.chance(0.3) else self.pick(lambda v: want(v) and _fits(v.t.shape, sa))
        if name is None:
            keep = int(self.rng.integers(len(sa) + 1))
            shape = tuple(1 if self.chance(0.3) else d for d in sa[len(sa) - keep:])
            name = self.fresh(shape, dtype or self.vals[a].t.dtype)
            if not want(self.vals[name]):
                raise _Reject
        return name

    def add(self, line: Line) -> bool:
        """Declare the next line; False (and nothing kept) if graphc rejects it or it could overflow."""
        expr, lo, hi, bits = line
        name = f"v{len(self.lines)}"
        try:
            t = eval(expr, self.scope)
        except gc.GraphcError:
            return False
        except Exception:  # noqa: BLE001 - graphc crashed declaring it: a finding, so the program ends here
            self.lines.append((name, expr))
            self.crashed = True
            return True
        if not (math.isfinite(lo) and math.isfinite(hi)) or not fits(t.dtype, lo, hi):
            return False
        if t.dtype == "bool":
            lo, hi = 0.0, 1.0
        self.lines.append((name, expr))
        self.scope[name] = t
        self.vals[name] = Val(t, float(lo), float(hi), bits)
        return True

    def step(self, family: Callable[["Gen"], Line | None]) -> bool:
        """Try one op of `family`; roll back any inputs it made if it did not work out."""
        inputs, vals = len(self.inputs), dict(self.vals)
        try:
            line = family(self)
        except _Reject:
            line = None
        if line is not None and self.add(line):
            return True
        for x in self.inputs[inputs:]:
            del self.scope[x.name]
        self.inputs[inputs:] = []
        self.vals = vals
        return False


def fits(dtype: str, lo: float, hi: float) -> bool:
    """Whether values in [lo, hi] stay within `dtype` (ints: without wrapping) and the generator's caps."""
    if gc.ir.is_float(dtype):
        return max(abs(lo), abs(hi)) <= FLOAT_CAP
    if dtype == "bool":
        return True
    info = np.iinfo(dtype)
    return max(float(info.min), -INT_CAP) <= lo and hi <= min(float(info.max), INT_CAP)


class _Reject(Exception):
    """The family cannot use the operand it drew; try again."""


def is_float(v: Val) -> bool:
    return v.is_float
