"""JIT compilation (MCJIT, new pass manager at speed 3 for the host CPU) and the executable.

One `run` call per step through ctypes, which releases the GIL. The arena,
scratch and staging areas are allocated once per executable; the addresses of the
inputs and fresh output arrays are read into the slot table on every call (an array
can move: `resize`), and parameters are read and written in their private buffers
(ParamState), which nothing outside the runtime can move or reshape.
Compiled machine code is cached on disk (cache.py) by the hash of the IR and the host, and in
memory while an executable uses it: a machine is freed with the last executable that runs it.
"""
from __future__ import annotations

import ctypes
import os
import threading
import weakref
from functools import cached_property, lru_cache
from typing import Sequence

import llvmlite.binding as llvm
import numpy as np
from llvmlite.binding.newpassmanagers import NewPassManager

from graphc.ir import GraphcError
from graphc.ir.errors import BackendError
from graphc.schedule import Kernel, KernelProgram

from ..numpy.program import ProgramExecutor
from . import blas, cache, validate
from .checked import FAULT, fault_cell, fault_error
from .codegen import ALIGN
from .ircache import lower_cached
from .lowering import Lowered, lower_program
from .timing import Profile, measure

CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int32)
RUN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, CALLBACK)
#: C library functions compiled code may call: sin/cos/pow intrinsics become libm calls, and LLVM's
#: optimizer may turn pow(c, x) into exp/exp2 or recognize memset/memcpy loops (exp/log/tanh/erf of
#: graphc's own bodies are inline, vmath.py)
LIBC = ("expf", "exp", "logf", "log", "sinf", "sin", "cosf", "cos", "tanhf", "tanh", "powf", "pow", "erff", "erf",
        "log1pf", "log1p", "expm1f", "expm1", "exp2f", "exp2", "memset", "memcpy", "memmove",
        "tanf", "tan", "asinf", "asin", "acosf", "acos", "atanf", "atan", "atan2f", "atan2", "sinhf", "sinh",
        "coshf", "cosh", "asinhf", "asinh", "acoshf", "acosh", "atanhf", "atanh", "ceilf", "ceil", "truncf", "trunc",
        "roundevenf", "roundeven", "floorf", "floor")


@lru_cache(maxsize=1)
def target_machine() -> llvm.TargetMachine:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    _bind_symbols()
    return host_target_machine()


def host_target_machine(reloc: str = "default", codemodel: str = "jitdefault", jit: bool = True) -> llvm.TargetMachine:
    """A new target machine for the host CPU: an execution engine owns (and frees) the one it is given."""
    target = llvm.Target.from_default_triple()
    cpu, features = cache.host()
    return target.create_target_machine(cpu=cpu, features=features, opt=3, reloc=reloc, codemodel=codemodel, jit=jit)


def _bind_symbols() -> None:
    process = ctypes.CDLL(None)
    libm = ctypes.CDLL("libm.so.6") if os.path.exists("/lib/x86_64-linux-gnu/libm.so.6") else process
    for name in LIBC:
        for lib in (process, libm):
            fn = getattr(lib, name, None)
            if fn is not None:
                llvm.add_symbol(name, ctypes.cast(fn, ctypes.c_void_p).value)
                break
    found = blas.library()
    for symbol, address in (found.pointers if found is not None else {}).items():
        llvm.add_symbol(symbol, address)


#: the optimization the cached code went through (a key component: changing it must miss)
PIPELINE = "new pass manager, speed 3, loop and SLP vectorization"


def optimized_module(text: str, tm: llvm.TargetMachine) -> llvm.ModuleRef:
    """Parse and verify the IR, then run the O3 pipeline for `tm` (the JIT and exported libraries share it)."""
    module = llvm.parse_assembly(text)
    module.triple = tm.triple
    module.data_layout = str(tm.target_data)
    module.verify()
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    run_pipeline(module, tm, pto)
    return module


def run_pipeline(module: llvm.ModuleRef, tm: llvm.TargetMachine, pto: llvm.PipelineTuningOptions) -> None:
    """The new pass manager's module pipeline for `pto`, run on `module` and then freed."""
    pb = llvm.create_pass_builder(tm, pto)
    passes = pb.getModulePassManager()
    try:
        passes.run(module, pb)
    finally:  # llvmlite 0.50's ModulePassManager never frees its pipeline (its _dispose is ObjectRef's
        NewPassManager._dispose(passes)  # no-op, first in the MRO): ~80 KB lost per compile without this
        passes.detach()


class Machine:
    """JIT-linked code for one IR text (shared by executables with equal programs).

    The object code comes from the disk cache when it has the entry (no optimization
    or code generation then); otherwise it is compiled once and stored there.
    """

    def __init__(self, text: str, parts: dict[str, str], key: str):
        self.text = text
        tm = target_machine()
        off = cache.disabled()
        obj = cache.load(key) if off is None else None
        if obj is not None and validate.object_code(obj) is not None:
            cache.reject(key, ".obj", validate.object_code(obj))
            obj = None
        self._parts, self._key, self._off, self._hit = parts, key, off, obj is not None
        if obj is None:
            obj = tm.emit_object(optimized_module(text, tm))
            if off is None:
                cache.store(key, parts, obj)
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), host_target_machine())
        self.engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self.engine.finalize_object()
        self.run = RUN(self.engine.get_function_address("run"))

    @cached_property
    def cache_status(self) -> str:
        """Hit or miss, and why a miss: looked up when asked, since finding the nearest entry reads
        every entry's key (on each compile, that cost would grow with the cache)."""
        if self._hit:
            return f"hit: loaded {cache.path(self._key)}"
        if self._off is not None:
            return f"miss: the disk cache is off ({self._off})"
        return f"miss: {cache.nearest(self._parts, besides=self._key)}; stored as {cache.path(self._key)}"

    @cached_property
    def module(self) -> llvm.ModuleRef:
        """The optimized module, recomputed on demand (code generation changes the one it compiles)."""
        return optimized_module(self.text, target_machine())

    @cached_property
    def optimized_ir(self) -> str:
        return str(self.module)

    @cached_property
    def asm(self) -> str:
        return target_machine().emit_assembly(self.module)


#: the machines executables hold, by cache key: equal programs share one, and it goes with the last
_MACHINES: weakref.WeakValueDictionary[str, Machine] = weakref.WeakValueDictionary()
_LOCK = threading.Lock()


def machine(text: str) -> Machine:
    parts = cache.components(text, PIPELINE)
    key = cache.key(parts)
    with _LOCK:
        found = _MACHINES.get(key)
        if found is None:
            found = _MACHINES[key] = Machine(text, parts, key)
            _dump(key[:16], text, found)
        return found


def _data_field() -> int:
    """Where an ndarray keeps its data pointer: NumPy's C struct has it right after the object header.
    Reading it through ctypes takes a fifth of the time of `a.ctypes.data`, so every call can afford it."""
    probe = np.empty(3)
    offset = object.__basicsize__
    if ctypes.c_void_p.from_address(id(probe) + offset).value != probe.ctypes.data:
        raise BackendError("llvm: this NumPy does not keep an array's data pointer after the object header",
                           fix="report the NumPy and Python versions")
    return offset


_DATA = _data_field()
_POINTER_AT = ctypes.c_void_p.from_address


def _dump(name: str, text: str, m: Machine) -> None:
    """GRAPHC_DUMP_IR=dir writes every compiled module: .ll (as generated), .opt.ll and .s.

    Each file is written beside its name and renamed over it, so a symlink planted at that
    name is replaced, never followed (a shared folder cannot redirect the write).
    """
    folder = os.environ.get("GRAPHC_DUMP_IR")
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    for suffix, content in ((".ll", text), (".opt.ll", m.optimized_ir), (".s", m.asm)):
        cache.write_atomic(os.path.join(folder, name + suffix), content.encode(), 0o644)


def _callback(fallback: weakref.WeakMethod) -> CALLBACK:
    """The native code's way back into Python; it runs only inside a call, while the executable lives."""
    return CALLBACK(lambda i: fallback()(i))


class Executable:
    """Called with the validated input arrays; returns the outputs after applying the updates."""

    def __init__(self, program: KernelProgram, checked: bool = False, lowered: Lowered | None = None):
        self.program = program
        self.lowered: Lowered = lowered or lower_cached(program, blas.int_bits(), checked)
        self.machine = machine(self.lowered.ir)  # the checks are in the IR, so in the cache key
        self._fault = None if self.lowered.sites is None else \
            fault_cell(self.machine.engine.get_global_value_address(FAULT))
        low, plan = self.lowered, program.plan
        scratch_at, staging_at, end = low.areas(plan.arena_bytes)
        self._memory = np.zeros(end + ALIGN, np.uint8)
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
        # each natively run loop calls its body's own executable (arena and slot table: see loop.py)
        self._bodies = [Executable(n.program, checked, n.lowered) for n in low.loops]
        for n, body in zip(low.loops, self._bodies):
            self._slots[n.fn_slot] = ctypes.cast(body.machine.run, ctypes.c_void_p).value
            self._slots[n.table_slot] = body._slots_address
        self._params = [b for b in program.buffers if b.role == "param"]
        for b in self._params:  # a private buffer of the compiled shape and dtype that never moves (ParamState)
            self._slots[b.id] = b.data.array.ctypes.data
        self._states = [b.data for b in self._params]
        self._out_specs = [(v.shape, np.dtype(program.buffers[v.buffer].dtype)) for v in program.outputs]
        # the slots of the inputs, then of the outputs: filled with their arrays' addresses on every call
        self._array_slots = (*program.inputs, *range(low.n_buffers, low.n_buffers + len(program.outputs)))
        self._slots_address = ctypes.addressof(self._slots)
        self._callback = _callback(weakref.WeakMethod(self._fallback))  # weak: no cycle keeps the code alive
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def llvm_ir(self, optimized: bool = False) -> str:
        return self.machine.optimized_ir if optimized else self.lowered.ir

    def asm(self) -> str:
        return self.machine.asm

    def profile(self, args: Sequence[np.ndarray], calls: int) -> Profile:
        """Per-kernel times over `calls` steps, from a profiling build of the same program."""
        lowered = lower_program(self.program, blas.int_bits(), profile=True, lower_body=lower_cached)
        return measure(Executable(self.program, lowered=lowered), args, calls)

    def __call__(self, args: Sequence[np.ndarray]) -> list[np.ndarray]:
        outs = [np.empty(shape, dtype) for shape, dtype in self._out_specs]
        slots = self._slots
        with self._lock:
            for j, a in zip(self._array_slots, (*args, *outs)):  # read afresh: the same array may have moved
                slots[j] = _POINTER_AT(id(a) + _DATA).value
            for state in self._states:
                if state.owner is not None:  # a device holds the value: bring it back into the buffer
                    state.array  # noqa: B018 - reading the property brings the value back
            if self.lowered.fallbacks:  # the NumPy callback reads flat views of every storage
                self._bind_flat(args, outs)
            rc = self.machine.run(self._slots_address, self._callback)
            if rc:
                self._raise(rc - 1, args, outs)
        return outs

    def _bind_flat(self, args: Sequence[np.ndarray], outs: list[np.ndarray]) -> None:
        """Flat views of this call's inputs, parameters and outputs, for NumPy to read kernels' operands."""
        flat = self._flat
        for b, a in zip(self.program.inputs, args):
            flat[b] = a.reshape(-1)
        for b in self._params:
            flat[b.id] = b.data.array.reshape(-1)
        for b, t in self.program.plan.in_place.items():
            flat[b] = flat[t]
        for b, slot in self.lowered.direct.items():
            flat[b] = outs[slot - self.lowered.n_buffers].reshape(-1)

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

    def _fault_error(self, i: int) -> BackendError | None:
        """The checked build's error for a fault recorded by kernel i or by a loop body it ran."""
        if self._fault is None:
            return None
        kernel = i if i < len(self.program.kernels) else None
        fault = fault_error(self._fault, self.lowered.sites, self.program, kernel, self.lowered.n_buffers)
        for body in self._bodies:
            inner = body._fault_error(len(body.program.kernels))
            if inner is not None and fault is None and kernel is not None:
                k = self.program.kernels[kernel]
                fault = BackendError(f"in the body of {k.name}: {inner.what}", loc=k.node.loc, fix=inner.fix)
        return fault

    def _raise(self, i: int, args: Sequence[np.ndarray], outs: list[np.ndarray]) -> None:
        error, self._error = self._error, None
        fault = self._fault_error(i)
        if fault is not None:
            raise fault
        if i >= len(self.program.kernels):
            raise BackendError(f"llvm: the generated code failed after the kernels (status {i + 1})")
        k = self.program.kernels[i]
        if error is None:  # a native gather met an index out of range: its NumPy rule names it
            self._bind_flat(args, outs)
            error = self._index_error(k)
        if isinstance(error, GraphcError):
            raise error.located(k.node.loc) from None
        if error is not None:
            raise GraphcError(f"{k.name} failed at run time: {error}", loc=k.node.loc) from error
        raise GraphcError(f"{k.name} failed at run time: an index is out of range", loc=k.node.loc,
                          fix="indices must lie in [-n, n) for an axis of size n")

    def _index_error(self, k: Kernel) -> BaseException | None:
        """The error kernel k's NumPy rule raises on the operands the native kernel rejected (None if it
        raises none: a later kernel of a grouped loop may have overwritten them)."""
        try:
            with np.errstate(all="ignore"):
                k.node.op.numpy(*[ProgramExecutor._read(self._flat, v) for v in k.inputs])
        except Exception as e:  # noqa: BLE001 - whichever error the rule gives is the diagnosis
            return e
        return None
