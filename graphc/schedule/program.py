"""The kernel program: what the native backends compile, independent of any target.

Every tensor of the optimized graph is a `View` of a buffer (shape, element
strides, offset): reshapes, transposes, broadcasts and basic slices are views,
not kernels. Every other node is one `Kernel` writing one contiguous temporary
buffer. The memory plan places temporaries in one arena by liveness and lets an
elementwise kernel write a parameter's new value straight into its buffer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from ..ir import Tensor


@dataclass(frozen=True)
class Buffer:
    id: int
    shape: tuple[int, ...]
    dtype: str
    role: str  # "input" | "param" | "const" | "temp"
    name: str = ""
    data: Any = field(default=None, compare=False, repr=False)  # the array of a const or param state

    @cached_property
    def nbytes(self) -> int:
        """Its size in bytes (asked for per kernel argument and placement: computed once)."""
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize


@dataclass(frozen=True)
class View:
    """How a kernel sees a buffer: element strides (0 repeats a value) from an element offset."""

    buffer: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    offset: int = 0

    @staticmethod
    def contiguous(buffer: int, shape: tuple[int, ...]) -> "View":
        strides, step = [], 1
        for d in reversed(shape):
            strides.append(step)
            step *= max(d, 1)
        return View(buffer, tuple(shape), tuple(reversed(strides)))

    def is_dense(self) -> bool:
        """Row-major and gap-free from its offset (strides of size-1 dims do not matter)."""
        ref = View.contiguous(self.buffer, self.shape)
        return all(s == r or d == 1 for s, r, d in zip(self.strides, ref.strides, self.shape))


@dataclass(frozen=True)
class Kernel:
    """One loop nest: reads views, writes its output buffer contiguously."""

    kind: str  # elementwise | reduce | matmul | gather | scatter | copy | softmax | rng | conv | loop | generic
    node: Tensor  # the optimized-graph node it computes (op, attributes, source line)
    inputs: tuple[View, ...]
    output: int
    body: sp.Expr | None = None  # the scalar body of elementwise, reduce and epilogue kernels
    lets: tuple = ()  # (symbol, value) bindings the body uses, in order

    @property
    def name(self) -> str:
        return self.node.op.name

    @property
    def domain(self) -> tuple[int, ...]:
        """The iteration space: the output's shape, or for a reduction the shape it reduces over."""
        if self.kind != "reduce" or not self.inputs:
            return tuple(self.node.shape)
        declared = getattr(self.node.op, "domain", None)  # a fused reduction carries its own
        if declared is not None:
            return tuple(declared)
        return tuple(np.broadcast_shapes(*(v.shape for v in self.inputs)))


@dataclass
class MemoryPlan:
    offsets: dict[int, int]  # temporary buffer id -> byte offset in the arena
    arena_bytes: int
    unplanned_bytes: int  # what the temporaries would take without reuse
    in_place: dict[int, int]  # temporary buffer id -> parameter buffer id it is written into

    @property
    def saved_bytes(self) -> int:
        return self.unplanned_bytes - self.arena_bytes


@dataclass
class KernelProgram:
    buffers: list[Buffer]
    kernels: list[Kernel]
    inputs: list[int]
    outputs: list[View]
    updates: list[tuple[int, View]]  # (parameter buffer, view of its new value)
    plan: MemoryPlan

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for k in self.kernels:
            out[k.kind] = out.get(k.kind, 0) + 1
        return out

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.counts().items()))
        return (f"{len(self.kernels)} kernels ({kinds}); temporaries {self.plan.unplanned_bytes} B "
                f"-> arena {self.plan.arena_bytes} B; {len(self.plan.in_place)} in-place update(s)")

    def __str__(self) -> str:
        lines = [self.summary()]
        for i, k in enumerate(self.kernels):
            lets = "".join(f"{sym} = {val}; " for sym, val in k.lets)
            body = f"  body: {lets}{k.body}" if k.body is not None else ""
            ins = ", ".join(f"b{v.buffer}" for v in k.inputs)
            lines.append(f"  k{i:<3} {k.kind:<11} b{k.output} = {k.name}({ins}){body}")
        return "\n".join(lines)
