"""The LLVM CPU backend: a kernel program compiled to one native `run` call per step.

See docs/backends.md: kernels become loop nests printed from their SymPy
bodies, matmuls call SciPy's BLAS, kernels without a native emitter (conv,
random, scan, ...) run their op's NumPy rule through a callback from the same
native call, and `GRAPHC_DUMP_IR=dir` dumps the IR of every compile.
"""
from __future__ import annotations

from graphc.schedule import KernelProgram

from .runtime import Executable


class LLVMBackend:
    name = "llvm"
    consumes = "program"

    def available(self) -> str | None:
        try:
            from .runtime import target_machine
            target_machine()
        except Exception as e:  # noqa: BLE001 - any failure to set up the JIT is the reason
            return f"llvmlite cannot JIT for this host: {e}"
        return None

    def compile(self, program: KernelProgram) -> Executable:
        return Executable(program)


BACKEND = LLVMBackend()

__all__ = ["BACKEND", "LLVMBackend", "Executable"]
