"""Per-kernel times of a running profiling build (profile.py emits its cycle counters).

The counters count cycles; one timed batch of calls converts them to seconds
against `time.perf_counter`, through the build's exported `cycles()`.
"""
from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .profile import GLOBAL


@dataclass(frozen=True)
class KernelTime:
    index: int
    kind: str
    name: str
    shape: tuple[int, ...]
    native: bool  # False: the kernel ran through the NumPy callback
    seconds: float  # per call (a loop running several kernels: all of its time on the first)
    group: int | None = None  # the first kernel of the loop this kernel runs in (groups.py), if not itself

    def __str__(self) -> str:
        where = "" if self.native else " (NumPy callback)"
        where += "" if self.group is None else f" (in k{self.group}'s loop)"
        return f"k{self.index:<4} {self.kind:<11} {self.name:<22} {str(list(self.shape)):<18} " \
               f"{1e6 * self.seconds:10.1f} us{where}"


@dataclass(frozen=True)
class Profile:
    """Per-kernel times of one step (median-free: the mean over `calls` steps) and the whole call."""

    kernels: list[KernelTime]
    step_seconds: float
    calls: int

    def top(self, n: int = 10) -> list[KernelTime]:
        return sorted(self.kernels, key=lambda k: -k.seconds)[:n]

    def by_kind(self) -> dict[str, float]:
        """Seconds per call by kernel kind (matmul, elementwise, loop, ...), largest first: where a step's
        time goes at a glance (kernels sharing one loop count under its first kernel's kind; a scan is "loop")."""
        totals: dict[str, float] = {}
        for k in self.kernels:
            totals[k.kind] = totals.get(k.kind, 0.0) + k.seconds
        return dict(sorted(totals.items(), key=lambda kv: -kv[1]))

    def __str__(self) -> str:
        total = sum(k.seconds for k in self.kernels)
        lines = [f"{len(self.kernels)} kernels: {1e6 * total:.1f} us of {1e6 * self.step_seconds:.1f} us per call "
                 f"(mean of {self.calls}); slowest first:"]
        lines += [f"  {k}  {100 * k.seconds / total if total else 0:5.1f}%" for k in self.top(len(self.kernels))]
        return "\n".join(lines)


def measure(exe: Any, args: Sequence[np.ndarray], calls: int) -> Profile:
    """Run `exe`, an executable of a profiling build (runtime.Executable.profile makes one), `calls`
    times after one warm-up call, and read its counters. The calls update the parameters like normal
    steps do."""
    program = exe.program
    engine = exe.machine.engine
    counters = (ctypes.c_int64 * max(len(program.kernels), 1)).from_address(engine.get_global_value_address(GLOBAL))
    cycles = ctypes.CFUNCTYPE(ctypes.c_int64)(engine.get_function_address("cycles"))
    exe(args)
    ctypes.memset(counters, 0, ctypes.sizeof(counters))
    c0, t0 = cycles(), time.perf_counter()
    for _ in range(calls):
        exe(args)
    c1, t1 = cycles(), time.perf_counter()
    per_cycle = (t1 - t0) / max(c1 - c0, 1)
    rows = [KernelTime(i, k.kind, k.name, program.buffers[k.output].shape, i not in exe.lowered.fallbacks,
                       counters[i] * per_cycle / calls, exe.lowered.grouped.get(i))
            for i, k in enumerate(program.kernels)]
    return Profile(rows, (t1 - t0) / calls, calls)
