"""The BLAS the LLVM backend calls: the OpenBLAS NumPy's wheels bundle, else the one SciPy's wheels
bundle, else the function pointers `scipy.linalg.cython_blas` exports (else none: loop kernels).

NumPy's comes first. NumPy is a core dependency, so products run at BLAS speed without SciPy; it is
the library NumPy itself has loaded, so the process keeps one OpenBLAS and one thread pool; and on
this machine its OpenBLAS (0.3.31, NumPy 2.4) ran W5's weight-gradient products 10-25% faster than
SciPy's (0.3.30). It is built with 64-bit integers (ILP64): the generated calls then pass int64
sizes, so the integer width (`Library.int_bits`) is what `lower_program` takes as `blas` and part of
every IR key. Generated code calls the external symbols `graphc_sgemm` / `graphc_dgemm`; the runtime
binds them to these addresses before the JIT links, so the IR has no process-specific constants.

OpenBLAS picks its kernels when it loads. NumPy's is loaded with NumPy (it picks AVX-512 kernels on
this Zen 5 by itself); SciPy's picks the AVX2 (Haswell) ones on AMD Zen unless `OPENBLAS_CORETYPE` is
set, so before loading it we set `SkylakeX` (AVX-512), unless the user chose a core type, and only
when the host has AVX-512.
"""
from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache

#: graphc dtype -> (symbol used in the IR, BLAS routine)
GEMM = {"float32": ("graphc_sgemm", "sgemm"), "float64": ("graphc_dgemm", "dgemm")}

#: bundled OpenBLAS builds: (package, file pattern in <package>.libs, exported name of a routine, integer bits)
BUNDLED = (("numpy", "libscipy_openblas64_*.so*", "scipy_{}_64_", 64),  # NumPy >= 2.0 wheels
           ("numpy", "libopenblas64_*.so*", "{}_64_", 64),  # NumPy 1.2x wheels
           ("scipy", "libscipy_openblas-*.so*", "scipy_{}_", 32))


@dataclass(frozen=True)
class Library:
    source: str  # where the routines come from (shown by the benchmark report)
    pointers: dict[str, int]  # IR symbol -> address
    int_bits: int  # the width of every integer argument: 32, or 64 for ILP64 builds


@lru_cache(maxsize=1)
def library() -> Library | None:
    """The BLAS to call, or None (the loop kernels then compute every product)."""
    for package, pattern, template, bits in BUNDLED:
        found = _bundled(package, pattern, template, bits)
        if found is not None:
            return found
    return _cython_blas()


def int_bits() -> int:
    """The BLAS's integer width in bits, 0 without a BLAS (`lower_program`'s `blas` argument)."""
    found = library()
    return found.int_bits if found is not None else 0


def _bundled(package: str, pattern: str, template: str, bits: int) -> Library | None:
    """A package's bundled OpenBLAS, loaded directly: the SciPy one without importing scipy.linalg
    (0.2-0.3 s, which dominated a warm start from the disk cache)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        return None
    if package == "scipy":
        _prefer_avx512()
    folder = os.path.join(os.path.dirname(os.path.dirname(spec.origin)), f"{package}.libs")
    for path in sorted(glob.glob(os.path.join(folder, pattern))):
        try:
            lib = ctypes.CDLL(path)
            pointers = {symbol: ctypes.cast(getattr(lib, template.format(name)), ctypes.c_void_p).value
                        for symbol, name in GEMM.values()}
        except (OSError, AttributeError):
            continue
        return Library(os.path.basename(path), pointers, bits)
    return None


def _cython_blas() -> Library | None:
    """The pointers `scipy.linalg.cython_blas` exports (SciPy built against another BLAS)."""
    try:
        from scipy.linalg import cython_blas
    except ImportError:
        return None
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    pointers = {}
    for symbol, name in GEMM.values():
        capsule = cython_blas.__pyx_capi__[name]
        pointers[symbol] = get(capsule, ctypes.pythonapi.PyCapsule_GetName(capsule))
    return Library("scipy.linalg.cython_blas", pointers, 32)


def _prefer_avx512() -> None:
    import llvmlite.binding as llvm
    if "+avx512f" in llvm.get_host_cpu_features().flatten().split(","):
        os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")


def _capsule_name_signature() -> None:
    ctypes.pythonapi.PyCapsule_GetName.restype = ctypes.c_char_p
    ctypes.pythonapi.PyCapsule_GetName.argtypes = [ctypes.py_object]


_capsule_name_signature()
