"""Where a compiled step spends its time: cycle counters around every kernel call in `run`.

A profiling build (`lower_program(..., profile=True)`) reads the CPU's cycle
counter (`llvm.readcyclecounter`, the TSC on x86) before and after each kernel
and adds the difference to a module global, one counter per kernel; it also
exports `cycles()` so the runtime can convert cycles to seconds against
`time.perf_counter`. It is a separate build, so normal steps carry no timers.
"""
from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from llvmlite import ir

from .codegen import I32, I64, intrinsic

GLOBAL = "graphc_profile"


class CycleCounters:
    """Emits the timers into `run` (builder `b`) for `n` kernels."""

    def __init__(self, module: ir.Module, b: ir.IRBuilder, n: int):
        self.b = b
        self.array = ir.ArrayType(I64, max(n, 1))
        self.counters = ir.GlobalVariable(module, self.array, GLOBAL)
        self.counters.initializer = ir.Constant(self.array, None)
        self.read = intrinsic(module, "llvm.readcyclecounter", I64, [])
        cycles = ir.Function(module, ir.FunctionType(I64, []), "cycles")
        fb = ir.IRBuilder(cycles.append_basic_block("entry"))
        fb.ret(fb.call(self.read, []))
        self.t0: ir.Value | None = None

    def start(self) -> None:
        self.t0 = self.b.call(self.read, [])

    def stop(self, i: int) -> None:
        b = self.b
        spent = b.sub(b.call(self.read, []), self.t0)
        slot = b.gep(self.counters, [ir.Constant(I32, 0), ir.Constant(I32, i)], inbounds=True)
        b.store(b.add(b.load(slot, typ=I64), spent), slot)


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

    def __str__(self) -> str:
        total = sum(k.seconds for k in self.kernels)
        lines = [f"{len(self.kernels)} kernels: {1e6 * total:.1f} us of {1e6 * self.step_seconds:.1f} us per call "
                 f"(mean of {self.calls}); slowest first:"]
        lines += [f"  {k}  {100 * k.seconds / total if total else 0:5.1f}%" for k in self.top(len(self.kernels))]
        return "\n".join(lines)


def measure(executable, args: Sequence[np.ndarray], calls: int) -> Profile:
    """Run a profiling build of `executable`'s program `calls` times (after one warm-up call).

    The calls update the parameters like normal steps do."""
    from .runtime import Executable  # the profiling build is an executable of its own
    from .lowering import lower_program
    from . import blas
    program = executable.program
    exe = Executable(program, lowered=lower_program(program, blas.int_bits(), profile=True))
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
