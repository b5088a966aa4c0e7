"""The trigonometric, hyperbolic, inverse, rounding and classification ops (tan, asin, ..., round, isnan).

Values against NumPy over each op's whole domain, edge values included (asin(+-1), acosh(1),
atanh(+-1) = +-inf, overflow of sinh/cosh, halves for round, inf and nan), on every backend, with
the compiled ones running every kernel natively (no NumPy fallback); first and second derivatives
against central differences; the cuda code generator's PTX calls libdevice for them and assembles.
"""
import shutil
import subprocess

import numpy as np
import pytest

import graphc as gc
from conftest import tol
from graphc.backends import cuda
from graphc.backends.cuda import nvptx
from graphc.testing import check_grad

#: name -> (NumPy reference, sampler of the inside of its domain for finite differences)
UNARY = {
    "tan": (np.tan, lambda r, s: r.uniform(-1.3, 1.3, s)),
    "asin": (np.arcsin, lambda r, s: r.uniform(-0.9, 0.9, s)),
    "acos": (np.arccos, lambda r, s: r.uniform(-0.9, 0.9, s)),
    "atan": (np.arctan, lambda r, s: r.uniform(-4, 4, s)),
    "sinh": (np.sinh, lambda r, s: r.uniform(-4, 4, s)),
    "cosh": (np.cosh, lambda r, s: r.uniform(-4, 4, s)),
    "asinh": (np.arcsinh, lambda r, s: r.uniform(-4, 4, s)),
    "acosh": (np.arccosh, lambda r, s: r.uniform(1.2, 5, s)),
    "atanh": (np.arctanh, lambda r, s: r.uniform(-0.9, 0.9, s)),
    "reciprocal": (np.reciprocal, lambda r, s: r.choice([-1, 1], s) * r.uniform(0.3, 3, s)),
}
NONDIFF = {"ceil": np.ceil, "round": np.rint, "trunc": np.trunc, "isnan": np.isnan, "isinf": np.isinf}
EDGES = [-np.inf, -1e30, -100.0, -89.5, -10.0, -2.5, -1.5, -1.0, -0.5, -1e-30, -0.0, 0.0, 1e-7, 0.4999999, 0.5, 1.0,
         1.5, 2.5, 3.5, 10.0, 89.5, 100.0, 1e30, np.inf, np.nan]
BACKENDS = ["numpy", "llvm", "llvm-checked", "cuda-emulate"]


def _all_ops(x):
    return [getattr(gc, n)(x) for n in [*UNARY, *NONDIFF]] + [gc.atan2(x, x[::-1])]


def _references(xv):
    with np.errstate(all="ignore"):
        return [f(xv) for f in [*(u[0] for u in UNARY.values()), *NONDIFF.values()]] + [np.arctan2(xv, xv[::-1])]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_values_match_numpy_over_the_whole_domain_natively(backend, dtype):
    xv = np.array(EDGES + list(np.linspace(-3, 3, 23)), dtype)
    x = gc.placeholder(xv.shape, dtype, name="x")
    f = gc.function([x], _all_ops(x), backend=backend)
    names = [*UNARY, *NONDIFF, "atan2"]
    for name, got, want in zip(names, f(xv), _references(xv)):
        assert got.dtype == want.dtype, name
        if want.dtype == bool:
            np.testing.assert_array_equal(got, want, err_msg=name)
        else:  # libm / libdevice: within an ulp or two of NumPy's, same infinities, zeros' signs and NaNs
            np.testing.assert_allclose(got, want, rtol=2e-6 if dtype == "float32" else 1e-14, atol=0,
                                       err_msg=name)
            np.testing.assert_array_equal(np.signbit(got[want == 0]), np.signbit(want[want == 0]), err_msg=name)
    if backend not in ("numpy",):
        assert f.variant().executable.lowered.fallbacks == {}


def test_round_is_half_to_even_and_int_operands_become_float():
    xv = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, 2 ** 23 + 1.0], np.float32)
    x = gc.placeholder(xv.shape, "float32", name="x")
    np.testing.assert_array_equal(gc.function([x], gc.round(x), backend="llvm")(xv),
                                  [-2, -2, -0.0, 0, 2, 2, 0, 2 ** 23 + 1])
    i = gc.placeholder((3,), "int32", name="i")
    f = gc.function([i], [gc.isnan(i), gc.reciprocal(i)], backend="llvm")
    nan, rec = f(np.array([1, 2, 4], np.int32))
    assert not nan.any() and rec.dtype == np.float32 and list(rec) == [1, 0.5, 0.25]


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_gradients_match_finite_differences(name, backend):
    sample = UNARY[name][1]
    check_grad(lambda x: gc.sum(getattr(gc, name)(x) * np.arange(1.0, 7.0).reshape(2, 3)),
               [sample(np.random.default_rng(3), (2, 3))], order=2, backend=backend)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_atan2_gradient_in_both_arguments(backend):
    r = np.random.default_rng(4)
    check_grad(lambda y, x: gc.sum(gc.atan2(y, x) * 1.5), [r.uniform(-2, 2, (2, 3)), r.uniform(-2, 2, (3,))],
               order=2, backend=backend)


@pytest.mark.parametrize("name", sorted(NONDIFF))
def test_rounding_and_classification_have_no_gradient(name):
    x = gc.placeholder((3,), "float64", name="x")
    g = gc.function([x], gc.grad(gc.sum(gc.cast(getattr(gc, name)(x), "float64") * x), x))
    xv = np.array([0.3, 1.7, -2.2])
    np.testing.assert_allclose(g(xv), NONDIFF[name](xv).astype(np.float64), **tol("numpy"))


def test_ptx_calls_libdevice_and_rounds_with_instructions(tmp_path):
    if nvptx.libdevice_path() is None or shutil.which("ptxas") is None:
        pytest.skip("the CUDA toolkit (libdevice.10.bc, ptxas) is not installed")
    x = gc.placeholder((8,), "float32", name="x")
    program = gc.function([x], _all_ops(x)).kernel_program()
    ptx = cuda.generate_ptx(program, "sm_80")
    assert ".extern .func" not in ptx  # every __nv_* linked in
    for rounding in ("cvt.rpi.f32.f32", "cvt.rni.f32.f32", "cvt.rzi.f32.f32"):  # ceil, round, trunc
        assert rounding in ptx
    path = tmp_path / "k.ptx"
    path.write_text(ptx)
    done = subprocess.run([shutil.which("ptxas"), "-arch=sm_80", str(path), "-o", str(tmp_path / "k.cubin")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
