"""The CUDA backend: the kernel program as grid-stride PTX kernels, cuBLAS GEMMs and resident parameters.

See docs/backends.md ("GPU (CUDA)"). `backend="cuda"` needs CuPy
(`pip install 'graphc[cuda]'`), an NVIDIA driver and GPU, and the CUDA
toolkit's libdevice; outputs are CuPy arrays (`to_numpy(x)` or `x.get()`), or
NumPy arrays with `backend="cuda-host"`.
`backend="cuda-emulate"` runs the same kernels compiled for the CPU over an
emulated grid (slow; for checking the backend without a GPU). `generate_ptx`
needs neither a GPU nor CuPy.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from graphc.backend import Backend
from graphc.ir import Tensor
from graphc.ir.errors import BackendError, InputError
from graphc.schedule import KernelProgram

from . import nvptx
from .executable import Executable
from .lowering import lower_program


def generate_ptx(program: KernelProgram, arch: str = "sm_90") -> str:
    """The PTX module the cuda backend loads for a program (one `.entry` per kernel launch)."""
    return nvptx.to_ptx(lower_program(program).ir, arch)


def to_numpy(x: Any) -> np.ndarray:
    """A host copy of an output (CuPy array or anything NumPy can read)."""
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)


#: DLPack's device type of CUDA memory
DLPACK_CUDA = 2


class CudaBackend(Backend):
    """backend="cuda" returns device (CuPy) arrays; "cuda-host" copies the outputs to NumPy arrays."""

    consumes = "program"

    def __init__(self, host_outputs: bool = False):
        self.host_outputs = host_outputs
        self.name = "cuda-host" if host_outputs else "cuda"

    def available(self) -> str | None:
        from .runtime import unavailable
        return unavailable()

    def compile(self, program: KernelProgram) -> Executable:
        if any(b.dtype == "bfloat16" for b in program.buffers):  # before any device work: nothing launched
            raise BackendError(f"{self.name}: bfloat16 tensors have no CuPy array type (CuPy has no bfloat16)",
                               fix="cast them to float16 or float32 for the GPU, or use backend='llvm'; "
                                   "generate_ptx and backend='cuda-emulate' do compile bfloat16 kernels")
        from .runtime import device
        return Executable(program, device(), self.host_outputs)

    def ptx(self, program: KernelProgram, arch: str) -> str:
        """`fn.ptx`: the PTX module of a program (`generate_ptx`)."""
        return generate_ptx(program, arch)

    def device_input(self, v: Any, x: Tensor, label: str) -> Any:
        """A GPU array (CUDA array interface, or DLPack on a CUDA device) checked against input x; None for
        anything else (NumPy arrays and Python data are converted by the function as usual)."""
        dlpack_cuda = hasattr(v, "__dlpack_device__") and not isinstance(v, np.ndarray) and \
            v.__dlpack_device__()[0] == DLPACK_CUDA
        if not (hasattr(v, "__cuda_array_interface__") or dlpack_cuda):
            return None
        from .runtime import device
        a = device().as_input(v)
        if a.dtype.name != x.dtype:
            raise InputError(f"{label} expects {x.type_str()}, got a device array of {a.dtype}",
                             fix=f"convert it on the device with .astype('{x.dtype}')")
        if a.ndim != len(x.shape) or any(s is not None and s != d for d, s in zip(a.shape, x.shape)):
            raise InputError(f"{label} expects shape {x.type_str()}, got a device array of shape {a.shape}",
                             fix="'?' dims may take any size; the others must match")
        return a


class EmulatedBackend(Backend):
    name = "cuda-emulate"
    consumes = "program"

    def available(self) -> str | None:
        from ..llvm import BACKEND as LLVM
        return LLVM.available()

    def compile(self, program: KernelProgram) -> Executable:
        from .emulate import HostGrid
        return Executable(program, HostGrid())


BACKEND = CudaBackend()
HOST_OUTPUTS = CudaBackend(host_outputs=True)
EMULATED = EmulatedBackend()

__all__ = ["BACKEND", "HOST_OUTPUTS", "EMULATED", "CudaBackend", "EmulatedBackend", "Executable", "generate_ptx",
           "to_numpy"]
