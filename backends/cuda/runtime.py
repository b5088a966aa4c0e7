"""The narrow interface to the GPU: CuPy behind allocate / copy / load module / launch / gemm / sync.

CuPy (`pip install 'graphc[cuda]'`) is imported only when the cuda backend is
used, never by `import graphc`. `unavailable()` names the first missing piece:
CuPy, the NVIDIA driver (libcuda) or a GPU (without libdevice, kernels that
need its sin/cos/erf/pow run on the host: kernels.LibdevicePrinter).
`ArrayDevice` holds what CuPy and NumPy share (the emulation's device is the
NumPy one); `CupyDevice` adds loading PTX and launching kernels.
"""
from __future__ import annotations

import ctypes
import importlib
from functools import lru_cache
from typing import Any

import numpy as np

from graphc.ir.errors import BackendError

from . import nvptx
from .lowering import Lowered

#: threads per block of every launch (grid-stride kernels are correct for any shape)
BLOCK = 256
INSTALL = "pip install 'graphc[cuda]' (CuPy for CUDA 13: cupy-cuda13x)"


def _driver_missing() -> str | None:
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return "the NVIDIA driver library libcuda.so.1 cannot be loaded (no driver installed, or not on this machine)"
    return None


def unavailable() -> str | None:
    """Why the GPU cannot be used here (the first missing piece), or None."""
    try:
        importlib.import_module("cupy")
    except ImportError as e:
        return f"CuPy is not installed ({e}); install it with {INSTALL}"
    missing = _driver_missing()
    if missing:
        return missing
    import cupy
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "the NVIDIA driver reports no GPU"
    except Exception as e:  # noqa: BLE001 - CUDARuntimeError and driver load errors all mean "no GPU here"
        return f"no usable GPU: {e}"
    return None


class ArrayDevice:
    """Device memory as flat arrays of an array module (`xp`: NumPy or CuPy) and strided views of them."""

    xp: Any
    host_code = False

    def empty(self, nbytes: int) -> Any:
        return self.xp.zeros(max(nbytes, 1), np.uint8)

    def new(self, dtype: str, n: int) -> Any:
        return self.xp.empty(n, dtype)

    def flat(self, raw: Any, byte_offset: int, dtype: str, n: int) -> Any:
        """n elements of dtype at byte_offset of raw memory."""
        size = n * np.dtype(dtype).itemsize
        return raw[byte_offset:byte_offset + size].view(dtype)

    def strided(self, flat: Any, offset: int, shape: tuple[int, ...], strides: tuple[int, ...]) -> Any:
        """The view (element offset and strides, 0 broadcasts) of a flat array."""
        item = flat.dtype.itemsize
        start = flat[offset:] if offset < flat.size else flat[:0]
        return self.xp.lib.stride_tricks.as_strided(start, shape, tuple(s * item for s in strides))

    def copy_of(self, a: Any) -> Any:
        return a.copy()

    def assign(self, dst: Any, src: Any) -> None:
        dst[...] = src

    def zero(self, a: Any) -> None:
        a.fill(0)

    def matmul(self, a: Any, b: Any, out: Any) -> None:
        self.xp.matmul(a, b, out=out)


class CupyDevice(ArrayDevice):
    """The current CUDA device through CuPy: cuBLAS for GEMMs, PTX loaded by the driver's JIT."""

    def __init__(self) -> None:
        import cupy
        self.xp = cupy
        cc = int(cupy.cuda.Device().compute_capability)  # "90" on an H100
        # PTX for sm_90 is JIT-compiled by the driver for newer GPUs; older than sm_80 gets its own target
        self.arch = f"sm_{min(cc, 90)}"
        sms = cupy.cuda.Device().attributes.get("MultiProcessorCount", 80)
        self.max_blocks = 32 * sms

    def upload(self, a: np.ndarray) -> Any:
        return self.xp.asarray(a)

    def download(self, a: Any) -> np.ndarray:
        return self.xp.asnumpy(a)

    def as_input(self, a: Any) -> Any:
        """NumPy arrays are copied; CuPy, __cuda_array_interface__ and DLPack arrays are used in place."""
        if isinstance(a, np.ndarray):
            return self.xp.asarray(a)
        if hasattr(a, "__cuda_array_interface__"):
            return self.xp.ascontiguousarray(self.xp.asarray(a))
        return self.xp.ascontiguousarray(self.xp.from_dlpack(a))

    def load(self, lowered: Lowered) -> Any:
        from cupy.cuda.function import Module
        ptx = nvptx.to_ptx(lowered.ir, self.arch)
        module = Module()
        module.load(ptx.encode())
        return _Loaded(ptx, module, {name: module.get_function(name) for name in lowered.entries})

    def source(self, loaded: Any) -> str:
        return loaded.ptx

    def launch(self, loaded: Any, name: str, args: list[Any], items: int, per_block: bool) -> None:
        if items:
            grid = min(items if per_block else -(-items // BLOCK), self.max_blocks)
            loaded.functions[name]((grid,), (BLOCK,), tuple(args))

    def sync(self) -> None:
        self.xp.cuda.get_current_stream().synchronize()


class _Loaded:
    def __init__(self, ptx: str, module: Any, functions: dict[str, Any]):
        self.ptx, self.module, self.functions = ptx, module, functions


@lru_cache(maxsize=1)
def device() -> CupyDevice:
    why = unavailable()
    if why is not None:
        raise BackendError(f"cuda: {why}")
    return CupyDevice()
