"""JIT compilation (MCJIT, new pass manager at speed 3 for the host CPU) and the executable.

One `run` call per step through ctypes, which releases the GIL. The arena,
scratch and staging areas are allocated once per executable; inputs, parameter
arrays and fresh output arrays are put in the slot table on every call, after
checking that each parameter array still has its compiled shape and dtype.
Compiled machine code is cached in memory by the hash of the IR.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import threading
from functools import lru_cache
from typing import Sequence

import llvmlite
import llvmlite.binding as llvm
import numpy as np

from graphc.ir import GraphcError
from graphc.ir.errors import BackendError
from graphc.schedule import KernelProgram

from ..numpy.program import ProgramExecutor
from . import blas
from .lowering import ALIGN, Lowered, lower_program

CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int32)
RUN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, CALLBACK)
#: C library functions generated code may call (libm for exp/log/..., memset/memcpy from loop idioms)
LIBC = ("expf", "exp", "logf", "log", "sinf", "sin", "cosf", "cos", "tanhf", "tanh", "powf", "pow", "erff", "erf",
        "log1pf", "log1p", "expm1f", "expm1", "exp2f", "exp2", "memset", "memcpy", "memmove")


@lru_cache(maxsize=1)
def target_machine() -> llvm.TargetMachine:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    _bind_symbols()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                                        opt=3, jit=True)


def _bind_symbols() -> None:
    process = ctypes.CDLL(None)
    libm = ctypes.CDLL("libm.so.6") if os.path.exists("/lib/x86_64-linux-gnu/libm.so.6") else process
    for name in LIBC:
        for lib in (process, libm):
            fn = getattr(lib, name, None)
            if fn is not None:
                llvm.add_symbol(name, ctypes.cast(fn, ctypes.c_void_p).value)
                break
    for symbol, address in blas.gemm_pointers().items():
        llvm.add_symbol(symbol, address)


class Machine:
    """Optimized, JIT-compiled code for one IR text (shared by executables with equal programs)."""

    def __init__(self, text: str):
        tm = target_machine()
        self.module = llvm.parse_assembly(text)
        self.module.triple = tm.triple
        self.module.data_layout = str(tm.target_data)
        self.module.verify()
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(self.module, pb)
        self.engine = llvm.create_mcjit_compiler(self.module, tm)
        self.engine.finalize_object()
        self.run = RUN(self.engine.get_function_address("run"))
        self.optimized_ir = str(self.module)
        self.asm = tm.emit_assembly(self.module)


_MACHINES: dict[str, Machine] = {}
_LOCK = threading.Lock()


def machine(text: str) -> Machine:
    key = hashlib.sha256("\n".join([text, llvmlite.__version__, llvm.get_host_cpu_name(),
                                    llvm.get_host_cpu_features().flatten()]).encode()).hexdigest()
    with _LOCK:
        if key not in _MACHINES:
            _MACHINES[key] = Machine(text)
            _dump(key[:16], text, _MACHINES[key])
        return _MACHINES[key]


def _dump(name: str, text: str, m: Machine) -> None:
    """GRAPHC_DUMP_IR=dir writes every compiled module: .ll (as generated), .opt.ll and .s."""
    folder = os.environ.get("GRAPHC_DUMP_IR")
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    for suffix, content in ((".ll", text), (".opt.ll", m.optimized_ir), (".s", m.asm)):
        with open(os.path.join(folder, name + suffix), "w") as f:
            f.write(content)


class Executable:
    """Called with the validated input arrays; returns the outputs after applying the updates."""

    def __init__(self, program: KernelProgram):
        self.program = program
        self.lowered: Lowered = lower_program(program, blas=bool(blas.gemm_pointers()))
        self.machine = machine(self.lowered.ir)
        low, plan = self.lowered, program.plan
        scratch_at = _aligned(plan.arena_bytes)
        staging_at = scratch_at + _aligned(low.scratch_bytes)
        self._memory = np.zeros(staging_at + low.staging_bytes + ALIGN, np.uint8)
        base = self._memory.ctypes.data
        self._skip = (-base) % ALIGN  # the arena starts on a cache line
        self._slots = (ctypes.c_void_p * low.n_slots)()
        self._flat: list[np.ndarray | None] = [None] * low.n_buffers
        for b in program.buffers:
            if b.role == "const":
                self._slots[b.id] = b.data.ctypes.data
                self._flat[b.id] = b.data.reshape(-1)
            elif b.id in plan.offsets:
                start = self._skip + plan.offsets[b.id]
                self._slots[b.id] = base + start
                n = int(np.prod(b.shape, dtype=np.int64))
                self._flat[b.id] = self._memory[start:start + b.nbytes].view(b.dtype)[:n]
        self._slots[low.scratch_slot] = base + self._skip + scratch_at
        self._slots[low.staging_slot] = base + self._skip + staging_at
        self._params = [b for b in program.buffers if b.role == "param"]
        self._callback = CALLBACK(self._fallback)
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def llvm_ir(self, optimized: bool = False) -> str:
        return self.machine.optimized_ir if optimized else self.lowered.ir

    def asm(self) -> str:
        return self.machine.asm

    def __call__(self, args: Sequence[np.ndarray]) -> list[np.ndarray]:
        prog = self.program
        outs = [np.empty(v.shape, prog.buffers[v.buffer].dtype) for v in prog.outputs]
        with self._lock:
            for b, a in zip(prog.inputs, args):
                self._slots[b] = a.ctypes.data
                self._flat[b] = a.reshape(-1)
            for b in self._params:
                a = b.data.array
                if a.shape != b.shape or a.dtype.name != b.dtype or not a.flags.c_contiguous or not a.flags.writeable:
                    raise BackendError(f"parameter {b.name or b.id} changed to {a.dtype}{list(a.shape)} since it was "
                                       f"compiled as {b.dtype}{list(b.shape)}", fix="recompile the function")
                self._slots[b.id] = a.ctypes.data
                self._flat[b.id] = a.reshape(-1)
            for b, t in self.program.plan.in_place.items():
                self._flat[b] = self._flat[t]
            for j, o in enumerate(outs):
                self._slots[self.lowered.n_buffers + j] = o.ctypes.data
            rc = self.machine.run(ctypes.addressof(self._slots), self._callback)
            if rc:
                self._raise(rc - 1)
        return outs

    def _fallback(self, i: int) -> int:
        """Runs kernel i with its op's NumPy rule (called from native code, with the GIL)."""
        k = self.program.kernels[i]
        try:
            ins = [ProgramExecutor._read(self._flat, v) for v in k.inputs]
            with np.errstate(all="ignore"):
                value = k.node.op.numpy(*ins)
            self._flat[k.output].reshape(self.program.buffers[k.output].shape)[...] = value
        except Exception as e:  # noqa: BLE001 - reported by __call__ once native code has returned
            self._error = e
            return 1
        return 0

    def _raise(self, i: int) -> None:
        error, self._error = self._error, None
        if i >= len(self.program.kernels):
            raise BackendError(f"llvm: the generated code failed after the kernels (status {i + 1})")
        k = self.program.kernels[i]
        if error is not None:
            raise GraphcError(f"{k.name} failed at run time: {error}", loc=k.node.loc) from error
        raise GraphcError(f"{k.name} failed at run time: an index is out of range", loc=k.node.loc,
                          fix="indices must lie in [-n, n) for an axis of size n")


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN
