"""The steps a lowered program runs, in order: kernel launches, GEMMs, zero fills and host fallbacks.

Every view in a step names a *storage* (a buffer id after in-place mapping, or
the scratch area, whose raw bytes a step reads as its own dtype).
"""
from __future__ import annotations

from dataclasses import dataclass

from graphc.schedule import View


@dataclass(frozen=True)
class Launch:
    """Run kernel `name` over `items` grid-stride items with these storages (then the status word)."""

    index: int  # the program's kernel index (for error messages)
    name: str
    storages: tuple[int, ...]
    items: int
    per_block: bool = False  # one block (not one thread) per item: a cooperative kernel


@dataclass(frozen=True)
class Zero:
    storage: int


@dataclass(frozen=True)
class Gemm:
    """out = matmul(a, b) with NumPy's rules (batches broadcast, 1-D operands promoted); cuBLAS on a GPU."""

    index: int
    a: View
    b: View
    out: View
    dtype: str


@dataclass(frozen=True)
class Host:
    """The kernel's op runs its NumPy rule on host copies of its inputs."""

    index: int


Step = Launch | Zero | Gemm | Host
