"""Which BLAS the LLVM backend calls (backends/llvm/blas.py), and products through each integer width."""
import subprocess
import sys
import textwrap

import pytest

from graphc.backends.llvm import blas

#: products through the BLAS the setup lines leave: prints the integer width, the library, whether the
#: IR calls gemm, and the largest error against NumPy
PRODUCT = """
import numpy as np
import graphc as gc
a, b = gc.placeholder((70, 300), "float32"), gc.placeholder((300, 90), "float64")
f = gc.function([a, b], [a @ gc.transpose(a), gc.cast(a, "float64") @ b], backend="llvm")
rng = np.random.default_rng(0)
av, bv = rng.standard_normal((70, 300)).astype(np.float32), rng.standard_normal((300, 90))
s, d = f(av, bv)
err = max(np.abs(s - av @ av.T).max() / 300, np.abs(d - av.astype(np.float64) @ bv).max() / 300)
found = blas.library()
print(blas.int_bits(), found.source if found else "none", "graphc_sgemm" in f.llvm_ir(), err)
"""


def _run(setup: str) -> tuple[int, str, bool, float]:
    script = "from graphc.backends.llvm import blas\n" + textwrap.dedent(setup) + PRODUCT
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    bits, source, calls, err = done.stdout.split()
    return int(bits), source, calls == "True", float(err)


def test_numpy_s_bundled_openblas_comes_first():
    """NumPy's wheels bundle an ILP64 OpenBLAS: the calls pass 64-bit sizes (32-bit ones would be
    read with garbage in their high halves)."""
    found = blas.library()
    if found is None or not found.source.startswith(("libscipy_openblas64_", "libopenblas64_")):
        pytest.skip("this NumPy bundles no OpenBLAS")
    bits, source, calls, err = _run("")
    assert (bits, source, calls) == (64, found.source, True) and err < 1e-5


def test_scipy_s_openblas_is_called_with_32_bit_sizes():
    """Without NumPy's library (hidden here), SciPy's LP64 OpenBLAS takes the products."""
    pytest.importorskip("scipy")
    bits, source, calls, err = _run("blas.BUNDLED = tuple(c for c in blas.BUNDLED if c[0] != 'numpy')")
    assert bits == 32 and source.startswith("libscipy_openblas-") and calls and err < 1e-5


def test_without_a_blas_products_run_as_loop_kernels():
    bits, source, calls, err = _run("blas.BUNDLED = ()\nblas._cython_blas = lambda: None")
    assert (bits, source, calls) == (0, "none", False) and err < 1e-5
