"""LLVM IR -> PTX through llvmlite's NVPTX target, with libdevice linked for the math functions.

Transcendentals are calls to libdevice's `__nv_*` functions (LLVM's own
`llvm.exp`/`llvm.log`/`llvm.pow` crash the NVPTX back end): the bitcode is
linked in, every `__nv_*` made internal so O3 keeps only what is called, and
the kernels keep the `ptx_kernel` calling convention. PTX ISA 8.0 is emitted:
ptxas 13.0 and driver 580 (CUDA 13.0) accept it, and it covers sm_80 and sm_90.
"""
from __future__ import annotations

import os
import re
import shutil
from functools import lru_cache

import llvmlite.binding as llvm

from graphc.ir.errors import BackendError

from ..llvm.runtime import run_pipeline

TRIPLE = "nvptx64-nvidia-cuda"
#: the PTX ISA every module is emitted for (must stay <= what driver 580 / ptxas 13.0 load: 9.0)
PTX_ISA = "+ptx80"
ARCHS = ("sm_80", "sm_90")
LIBDEVICE_FIX = "install the CUDA toolkit 13.0 and set CUDA_HOME to it, or pip install 'nvidia-cuda-nvcc==13.0.*'"


def toolkit_root() -> str | None:
    """The CUDA toolkit folder: $CUDA_HOME / $CUDA_PATH, else the parent of `nvcc`'s bin folder."""
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(var):
            return os.environ[var]
    nvcc = shutil.which("nvcc")
    if nvcc:
        real = os.path.realpath(nvcc)
        return os.path.dirname(os.path.dirname(real))
    return "/usr/local/cuda" if os.path.isdir("/usr/local/cuda") else None


@lru_cache(maxsize=1)
def libdevice_path() -> str | None:
    """libdevice.10.bc of the toolkit, else of a pip wheel (`nvidia-cuda-nvcc`) found by cuda.pathfinder."""
    root = toolkit_root()
    for r in (root, "/usr/local/cuda") if root else ("/usr/local/cuda",):
        path = os.path.join(r, "nvvm", "libdevice", "libdevice.10.bc")
        if os.path.exists(path):
            return path
    try:
        from cuda.pathfinder import find_bitcode_lib  # installed with CuPy
        return find_bitcode_lib("device")
    except Exception:  # noqa: BLE001 - not installed, or it found nothing: there is no libdevice
        return None


@lru_cache(maxsize=1)
def _libdevice_bitcode() -> bytes:
    path = libdevice_path()
    if path is None:
        raise BackendError("cuda: libdevice.10.bc (the CUDA toolkit's math library) was not found", fix=LIBDEVICE_FIX)
    with open(path, "rb") as f:
        return f.read()


@lru_cache(maxsize=None)
def target_machine(arch: str) -> llvm.TargetMachine:
    if not re.fullmatch(r"sm_\d+", arch):
        raise BackendError(f"cuda: {arch!r} is not a GPU architecture name", fix="use e.g. 'sm_80' or 'sm_90'")
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    try:
        target = llvm.Target.from_triple(TRIPLE)
    except RuntimeError as e:
        raise BackendError(f"cuda: this llvmlite has no NVPTX target ({e})",
                           fix="install an llvmlite wheel from PyPI (they include NVPTX)") from None
    return target.create_target_machine(cpu=arch, features=PTX_ISA, opt=3)


@lru_cache(maxsize=64)
def to_ptx(text: str, arch: str) -> str:
    """PTX for an NVPTX module's IR text: libdevice linked when called, optimized at O3."""
    tm = target_machine(arch)
    mod = llvm.parse_assembly(text)
    mod.triple, mod.data_layout = TRIPLE, str(tm.target_data)
    if "__nv_" in text:
        lib = llvm.parse_bitcode(_libdevice_bitcode())
        lib.triple, lib.data_layout = TRIPLE, mod.data_layout
        mod.link_in(lib)
        for f in mod.functions:
            if f.name.startswith("__nv_") and not f.is_declaration:
                f.linkage = "internal"
    mod.verify()
    run_pipeline(mod, tm, llvm.create_pipeline_tuning_options(speed_level=3))
    return tm.emit_assembly(mod)
