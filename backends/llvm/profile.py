"""Where a compiled step spends its time: cycle counters around every kernel call in `run`.

A profiling build (`lower_program(..., profile=True)`) reads the CPU's cycle
counter (`llvm.readcyclecounter`, the TSC on x86) before and after each kernel
and adds the difference to a module global, one counter per kernel; it also
exports `cycles()` so the runtime can convert cycles to seconds against
`time.perf_counter`. It is a separate build, so normal steps carry no timers.
This module is the IR half, used by the lowering; timing.py reads the counters
of a running profiling build.
"""
from __future__ import annotations

from llvmlite import ir

from .irtypes import I32, I64, intrinsic

#: the module global holding one cycle counter per kernel
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
