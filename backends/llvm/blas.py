"""SciPy's BLAS, reached through the function pointers `scipy.linalg.cython_blas` exports.

Generated code calls the external symbols `graphc_sgemm` / `graphc_dgemm`;
the runtime binds them to these addresses before the JIT links, so the IR has
no process-specific constants. OpenBLAS picks its kernels when it loads: on
AMD Zen it chooses the AVX2 (Haswell) ones unless `OPENBLAS_CORETYPE` is set,
so we set `SkylakeX` (AVX-512) first, unless the user chose a core type, and
only when the host has AVX-512.
"""
from __future__ import annotations

import ctypes
import os
from functools import lru_cache

#: graphc dtype -> (symbol used in the IR, name in cython_blas)
GEMM = {"float32": ("graphc_sgemm", "sgemm"), "float64": ("graphc_dgemm", "dgemm")}


def _prefer_avx512() -> None:
    import llvmlite.binding as llvm
    if "+avx512f" in llvm.get_host_cpu_features().flatten().split(","):
        os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")


@lru_cache(maxsize=1)
def gemm_pointers() -> dict[str, int]:
    """symbol -> address of SciPy's ?gemm (empty when SciPy is missing: the generated loop is used)."""
    _prefer_avx512()
    try:
        from scipy.linalg import cython_blas
    except ImportError:
        return {}
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    out = {}
    for symbol, name in GEMM.values():
        capsule = cython_blas.__pyx_capi__[name]
        out[symbol] = get(capsule, ctypes.pythonapi.PyCapsule_GetName(capsule))
    return out


def _capsule_name_signature() -> None:
    ctypes.pythonapi.PyCapsule_GetName.restype = ctypes.c_char_p
    ctypes.pythonapi.PyCapsule_GetName.argtypes = [ctypes.py_object]


_capsule_name_signature()
