"""SciPy's BLAS: the OpenBLAS its wheels bundle, loaded directly, else the function pointers
`scipy.linalg.cython_blas` exports.

Generated code calls the external symbols `graphc_sgemm` / `graphc_dgemm`;
the runtime binds them to these addresses before the JIT links, so the IR has
no process-specific constants. OpenBLAS picks its kernels when it loads: on
AMD Zen it chooses the AVX2 (Haswell) ones unless `OPENBLAS_CORETYPE` is set,
so we set `SkylakeX` (AVX-512) first, unless the user chose a core type, and
only when the host has AVX-512.
"""
from __future__ import annotations

import ctypes
import glob
import importlib.util
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
    bundled = _bundled_openblas()
    if bundled:
        return bundled
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


def _bundled_openblas() -> dict[str, int]:
    """SciPy's wheels bundle OpenBLAS as scipy.libs/libscipy_openblas*.so, exporting `scipy_sgemm_` and
    `scipy_dgemm_` (the functions cython_blas wraps, same Fortran ABI). Loading that library directly
    skips importing scipy.linalg (0.2-0.3 s), which dominated a warm start from the disk cache."""
    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.origin:
        return {}
    folder = os.path.join(os.path.dirname(os.path.dirname(spec.origin)), "scipy.libs")
    for path in sorted(glob.glob(os.path.join(folder, "libscipy_openblas*.so*"))):
        if "openblas64" in os.path.basename(path):
            continue  # 64-bit integer interface: the generated calls pass int32
        try:
            lib = ctypes.CDLL(path)
            return {symbol: ctypes.cast(getattr(lib, f"scipy_{name}_"), ctypes.c_void_p).value
                    for symbol, name in GEMM.values()}
        except (OSError, AttributeError):
            continue
    return {}
