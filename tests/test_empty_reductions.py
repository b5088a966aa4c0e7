"""Reductions over an empty axis, and argmax/argmin, agree on every backend.

sum gives 0 and prod 1 (NumPy's identities); max, min, argmax and argmin of no elements have no value,
so declaring one is a ShapeError naming the op, shape and axis (or, for a free dim, the call that
makes it empty). An empty axis tuple reduces nothing: the identity map.
"""
import numpy as np
import pytest

import graphc as gc
from conftest import BACKENDS

#: the conftest fixture's backends, the unchecked LLVM build users run, the kernel-program interpreter and
#: the CUDA kernels emulated on the host (parametrizing `backend` here overrides the fixture)
EVERY = list(dict.fromkeys([*BACKENDS.values(), "llvm", "numpy-kernels", "cuda-emulate"]))
DTYPES = ["bool", "int32", "int64", "float32", "float64"]


def run(fn, *arrays, backend: str):
    xs = [gc.placeholder(a.shape, a.dtype.name) for a in arrays]
    f = gc.function(xs, fn(*xs), backend=backend)
    out = f(*arrays)
    if backend.startswith("llvm"):
        assert f._last.executable.lowered.fallbacks == {}
    return out


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis", [((2, 0), 1), ((0, 3), 0), ((0,), None), ((2, 0, 3), (0, 1))])
def test_sum_and_prod_of_nothing_are_0_and_1(shape, axis, dtype, backend):
    a = np.zeros(shape, dtype)
    for name, value in (("sum", 0), ("prod", 1)):
        if name == "prod" and dtype == "bool":
            continue  # NumPy's prod of bools is an int; graphc keeps bool: not comparable
        got = run(lambda t: getattr(gc, name)(t, axis=axis), a, backend=backend)  # noqa: B023 - called in this iteration
        want = getattr(np, name)(a, axis=axis)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, np.full(want.shape, value))


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_min_argmax_argmin_of_nothing_are_declaration_errors(name, dtype):
    x = gc.placeholder((2, 0), dtype)
    with pytest.raises(gc.ShapeError) as e:
        getattr(gc, name)(x, axis=1)  # the line the error shows
    msg = str(e.value)
    assert "test_empty_reductions.py" in msg.splitlines()[0] and "getattr(gc, name)(x, axis=1)" in msg
    assert f"{name}: axis 1 of {dtype}[2, 0] is empty" in msg and "fix:" in msg


def test_an_empty_axis_from_a_free_dim_is_an_error_when_the_call_fixes_it():
    x = gc.placeholder((2, None), "float32")
    f = gc.function([x], gc.max(x, axis=1))
    np.testing.assert_array_equal(f(np.ones((2, 3), np.float32)), [1, 1])
    with pytest.raises(gc.InputError, match=r"max: axis 1 of float32\[2, 0\] is empty"):
        f(np.ones((2, 0), np.float32))


@pytest.mark.parametrize("name", ["max", "min"])
def test_reducing_an_empty_but_kept_axis_is_fine(name):
    """Only the reduced axes must be non-empty (as NumPy): max over axis 1 of (0, 3) has no outputs."""
    assert getattr(gc, name)(gc.placeholder((0, 3), "float32"), axis=1).shape == (0,)


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize("name", ["sum", "prod", "max", "min"])
def test_an_empty_axis_tuple_is_the_identity(name, backend):
    a = np.array([[1.5, -2.0], [3.0, 4.0]], np.float32)
    np.testing.assert_array_equal(run(lambda t: getattr(gc, name)(t, axis=()), a, backend=backend), a)


# -- argmax and argmin ---------------------------------------------------------------------------------

def _argcases(dtype: str) -> np.ndarray:
    """Rows with ties (the first index must win), extremes at either end, and one row of equal values."""
    rows = [[0, 1, 1, 0], [1, 0, 0, 1], [0, 0, 0, 0], [1, 1, 0, 0]] if dtype == "bool" else \
        [[3, 7, 7, -1], [-5, 2, -5, 9], [4, 4, 4, 4], [0, -9, 8, -9]]
    a = np.array(rows).astype(dtype)
    if dtype.startswith("int"):
        info = np.iinfo(dtype)
        a = np.concatenate([a, np.array([[info.min, info.min, info.max, info.max]], dtype)])
    return a


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_of_every_dtype_first_index_wins(name, dtype, backend):
    a = _argcases(dtype)
    for axis in (0, 1, None):
        got = run(lambda t: getattr(gc, name)(t, axis=axis), a, backend=backend)  # noqa: B023 - called in this iteration
        want = getattr(np, name)(a, axis=axis)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_the_first_nan_wins(name, dtype, backend):
    nan, inf = np.nan, np.inf
    a = np.array([[1, nan, 5, nan], [nan, -inf, inf, 0], [-inf, -inf, 2, nan], [inf, inf, -inf, -inf]], dtype)
    got = run(lambda t: getattr(gc, name)(t, axis=1), a, backend=backend)
    np.testing.assert_array_equal(got, getattr(np, name)(a, axis=1))


def test_argmax_of_bool_compiles_on_llvm():
    """The reported crash: llvmlite asserted on a float comparison of the i1 values."""
    a = np.array([False, True, True])
    assert run(gc.argmax, a, backend="llvm") == 1
    assert run(gc.argmin, a, backend="llvm") == 0


@pytest.mark.parametrize("axis", [(), (0, 1), 1.0])
def test_argmax_takes_one_axis(axis):
    with pytest.raises(gc.ShapeError, match=r"argmax: axis must be one int or None"):
        gc.argmax(gc.placeholder((2, 3)), axis=axis)
