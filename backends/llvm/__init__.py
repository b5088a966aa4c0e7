"""The LLVM CPU backend: a kernel program compiled to one native `run` call per step.

See docs/backends.md: kernels become loop nests printed from their SymPy
bodies, matmuls call BLAS (blas.py), kernels without a native emitter (conv,
random, scan, ...) run their op's NumPy rule through a callback from the same
native call, and `GRAPHC_DUMP_IR=dir` dumps the IR of every compile. Compiled steps are cached
on disk by the graph before the passes (stepcache.py), their parts by what the passes made (cache.py).
`"llvm-checked"` (or `GRAPHC_LLVM_CHECKED=1`) is the bounds-checked build (checked.py).
"""
from __future__ import annotations

import os

from graphc.backend import Backend
from graphc.schedule import KernelProgram

from .codegen import Unsupported
from .runtime import Executable
from .stepcache import StepCache


class LLVMBackend(Backend):
    consumes = "program"
    #: what compile raises for a program it cannot build (a kernel without native code does not: it calls back)
    unsupported = (Unsupported,)

    def __init__(self, checked: bool = False):
        self.name = "llvm-checked" if checked else "llvm"
        self.checked = checked

    def available(self) -> str | None:
        try:
            from .runtime import target_machine
            target_machine()
        except Exception as e:  # noqa: BLE001 - any failure to set up the JIT is the reason
            return f"llvmlite cannot JIT for this host: {e}"
        return None

    def compile(self, program: KernelProgram) -> Executable:
        return Executable(program, checked=self._checked())

    def _checked(self) -> bool:
        return self.checked or os.environ.get("GRAPHC_LLVM_CHECKED", "0") != "0"

    @property
    def step_cache(self) -> StepCache | None:
        """Compiled steps keyed by the graph before the passes (stepcache.py); checked builds always compile."""
        return None if self._checked() else _STEPS

    def export_library(self, program: KernelProgram, library: str, header: str, name: str | None):
        """The program as a shared library with a C header (`gc.export_library`, export.py)."""
        from .export import export_program  # the exporter is imported only when exporting
        return export_program(program, library, header, name)


_STEPS = StepCache()


BACKEND = LLVMBackend()
CHECKED = LLVMBackend(checked=True)

__all__ = ["BACKEND", "CHECKED", "LLVMBackend", "Executable"]
