"""The LLVM CPU backend: a kernel program compiled to one native `run` call per step.

See docs/backends.md: kernels become loop nests printed from their SymPy
bodies, matmuls call SciPy's BLAS, kernels without a native emitter (conv,
random, scan, ...) run their op's NumPy rule through a callback from the same
native call, and `GRAPHC_DUMP_IR=dir` dumps the IR of every compile.
`"llvm-checked"` (or `GRAPHC_LLVM_CHECKED=1`) is the bounds-checked build (checked.py).
"""
from __future__ import annotations

import os

from graphc.schedule import KernelProgram

from .runtime import Executable


class LLVMBackend:
    consumes = "program"

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
        return Executable(program, checked=self.checked or os.environ.get("GRAPHC_LLVM_CHECKED", "0") != "0")


BACKEND = LLVMBackend()
CHECKED = LLVMBackend(checked=True)

__all__ = ["BACKEND", "CHECKED", "LLVMBackend", "Executable"]
