"""Executing a kernel program with NumPy: tests scheduling and memory plans without LLVM.

Temporaries live in one byte arena at the planned offsets and kernels read
through the planned strided views, so a wrong plan (two live buffers sharing
bytes, a bad view) shows up as wrong numbers against the graph interpreter.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from graphc.backend import Backend
from graphc.ir import GraphcError
from graphc.schedule import KernelProgram, View


class ProgramBackend(Backend):
    name = "numpy-kernels"
    consumes = "program"

    def available(self) -> str | None:
        return None

    def compile(self, program: KernelProgram) -> "ProgramExecutor":
        return ProgramExecutor(program)


class ProgramExecutor:
    def __init__(self, program: KernelProgram):
        self.program = program

    def _storage(self, args: Sequence[np.ndarray]) -> list[np.ndarray]:
        """A flat array per buffer: inputs, parameter and constant arrays, or arena slices."""
        prog, plan = self.program, self.program.plan
        arena = np.empty(plan.arena_bytes, np.uint8)
        flat: list[np.ndarray | None] = [None] * len(prog.buffers)
        for b, a in zip(prog.inputs, args):
            flat[b] = a.reshape(-1)
        for b in prog.buffers:
            if b.role == "param":
                flat[b.id] = b.data.array.reshape(-1)
            elif b.role == "const":
                flat[b.id] = b.data.reshape(-1)
        for b in prog.buffers:
            if b.id in plan.in_place:
                flat[b.id] = flat[plan.in_place[b.id]]
            elif b.id in plan.offsets:
                n = int(np.prod(b.shape, dtype=np.int64))
                start = plan.offsets[b.id]
                flat[b.id] = arena[start:start + b.nbytes].view(b.dtype)[:n]
        return flat

    @staticmethod
    def _read(flat: list[np.ndarray], v: View) -> np.ndarray:
        base = flat[v.buffer]
        if not v.shape or 0 not in v.shape:
            base = base[v.offset:]
        item = base.itemsize
        return as_strided(base, v.shape, tuple(s * item for s in v.strides), writeable=False)

    def __call__(self, args: Sequence[np.ndarray]) -> list[np.ndarray]:
        prog = self.program
        flat = self._storage(args)
        with np.errstate(all="ignore"):
            for k in prog.kernels:
                ins = [self._read(flat, v) for v in k.inputs]
                try:
                    value = k.node.op.numpy(*ins)
                except GraphcError as e:  # the op's own run-time check (an index out of range)
                    raise e.located(k.node.loc) from None
                except (ValueError, IndexError, TypeError) as e:
                    raise GraphcError(f"{k.name} failed at run time: {e}", loc=k.node.loc) from None
                out = flat[k.output].reshape(prog.buffers[k.output].shape)
                out[...] = value
        outs = [self._read(flat, v).copy() for v in prog.outputs]
        news = [None if v.buffer in prog.plan.in_place else self._read(flat, v).copy() for _, v in prog.updates]
        for (param, _), new in zip(prog.updates, news):
            if new is not None:
                prog.buffers[param].data.array[...] = new
        return outs
