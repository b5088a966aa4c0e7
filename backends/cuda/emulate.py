"""Host-grid emulation: the cuda backend's kernels compiled for this CPU, the grid looped over in Python.

The same emitters build each kernel with the thread and block ids as its last
four arguments; the launch calls it once per (block, thread) of a small grid
(at most 3 blocks of 32 threads, so the grid-stride loops really stride).
Exact for these one-thread-per-item kernels; only the math library differs
(the host's libm instead of libdevice). Device memory is NumPy arrays, GEMMs
are np.matmul: it checks the lowering and the executable without a GPU.
"""
from __future__ import annotations

import ctypes
from typing import Any

import llvmlite.binding as llvm
import numpy as np

from ..llvm.runtime import run_pipeline, target_machine
from .kernels import SPECIALS
from .lowering import Lowered
from .steps import Launch
from .runtime import ArrayDevice

#: the emulated launch shape: threads per block, most blocks
BLOCK, MAX_BLOCKS = 32, 3


class _Jitted:
    def __init__(self, text: str, names: list[str], n_args: dict[str, int]):
        target_machine()  # initializes the host target and binds libm's symbols for the JIT
        # the engine owns (and frees) its target machine: each gets its own, never the LLVM backend's shared one
        tm = llvm.Target.from_default_triple().create_target_machine(
            cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=2, jit=True)
        self.text = text
        mod = llvm.parse_assembly(text)
        mod.triple, mod.data_layout = tm.triple, str(tm.target_data)
        mod.verify()
        run_pipeline(mod, tm, llvm.create_pipeline_tuning_options(speed_level=2))
        self.engine = llvm.create_mcjit_compiler(mod, tm)
        self.engine.finalize_object()
        self.functions = {}
        for name in names:
            proto = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * n_args[name], *[ctypes.c_int32] * len(SPECIALS))
            self.functions[name] = proto(self.engine.get_function_address(name))


class HostGrid(ArrayDevice):
    """A `Device` (see executable.py) whose memory is NumPy and whose kernels run on the CPU."""

    xp = np
    host_code = True

    def upload(self, a: np.ndarray) -> np.ndarray:
        return np.array(a, copy=True)

    def download(self, a: np.ndarray) -> np.ndarray:
        return np.array(a, copy=True)

    def as_input(self, a: Any) -> np.ndarray:
        return np.array(a, copy=True)

    def load(self, lowered: Lowered) -> _Jitted:
        n_args = {s.name: len(s.storages) + 1 for s in lowered.steps if isinstance(s, Launch)}
        return _Jitted(lowered.ir, lowered.entries, n_args)

    def source(self, loaded: _Jitted) -> str:
        return loaded.text

    def launch(self, loaded: _Jitted, name: str, args: list[np.ndarray], items: int, per_block: bool) -> None:
        assert not per_block, "cooperative kernels are GPU-only: host code never has them"
        fn = loaded.functions[name]
        pointers = [a.ctypes.data for a in args]
        grid = max(1, min(-(-items // BLOCK), MAX_BLOCKS))
        for block in range(grid):
            for thread in range(BLOCK):
                fn(*pointers, thread, block, BLOCK, grid)

    def sync(self) -> None:
        pass
