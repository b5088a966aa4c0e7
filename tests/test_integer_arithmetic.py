"""Integers compute in integers on every backend: exact above 2**53, wrapping on overflow like NumPy.

Found by differential tests: the LLVM backend computed int64 in double (2**53 + 1 + 1 was 2**53),
and the NumPy backend's fused `where` went through floats.
"""
import numpy as np
import pytest

import graphc as gc
from conftest import BACKENDS

#: the conftest fixture's backends, the unchecked LLVM build users run, the kernel-program interpreter and
#: the CUDA kernels emulated on the host (parametrizing `backend` here overrides the fixture)
EVERY = list(dict.fromkeys([*BACKENDS.values(), "llvm", "numpy-kernels", "cuda-emulate"]))

BIG = 2 ** 53 + 1


def values(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Two int arrays with values doubles cannot hold and values at the ends of the range (overflow)."""
    info = np.iinfo(dtype)
    big = BIG if dtype == "int64" else 2 ** 24 + 1  # past float32's integers too
    x = np.array([big, -big - 2, 7, -5, info.max, info.min, info.max // 3, 0], dtype)
    y = np.array([3, big, -7, -5, 1, -1, 4, info.min], dtype)
    return x, y


def run(fn, *arrays, backend: str):
    """fn over placeholders shaped like `arrays`, compiled at O2 (fused) for `backend`; on LLVM every
    kernel must be native (not the NumPy callback)."""
    xs = [gc.placeholder(a.shape, a.dtype.name, name=f"a{i}") for i, a in enumerate(arrays)]
    f = gc.function(xs, fn(*xs), backend=backend)
    out = f(*arrays)
    if backend.startswith("llvm"):
        assert f._last.executable.lowered.fallbacks == {}
    return out


ELEMENTWISE = {
    "add": lambda x, y: x + y,
    "add_one": lambda x, y: x + 1,
    "subtract": lambda x, y: x - y,
    "multiply": lambda x, y: x * y,
    "times_3": lambda x, y: x * 3,
    "negative": lambda x, y: -x,
    "abs": lambda x, y: abs(x),
    "square": lambda x, y: x * x,
    "maximum": lambda x, y: np.maximum(x, y) if isinstance(x, np.ndarray) else gc.maximum(x, y),
    "minimum": lambda x, y: np.minimum(x, y) if isinstance(x, np.ndarray) else gc.minimum(x, y),
    "fused_chain": lambda x, y: (x * 3 + y) - 1,
    "where": lambda x, y: (np if isinstance(x, np.ndarray) else gc).where(x > y, x + 1, y),
    "less": lambda x, y: x < y,
    "equal": lambda x, y: x == y,
    "greater_equal_one": lambda x, y: x >= 1,
}


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_integers_are_exact_and_wrap(name, dtype, backend):
    x, y = values(dtype)
    fn = ELEMENTWISE[name]
    with np.errstate(over="ignore"):
        want = fn(x, y)
    got = run(fn, x, y, backend=backend)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_the_reported_cases_on_llvm():
    x = np.array([BIG], np.int64)
    assert run(lambda t: t + 1, x, backend="llvm")[0] == BIG + 1
    assert run(lambda t: t * 3, x, backend="llvm")[0] == BIG * 3
    assert run(lambda t: gc.max(t), x, backend="llvm") == BIG


REDUCTIONS = ["sum", "prod", "max", "min"]


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("name", REDUCTIONS)
def test_integer_reductions_are_exact_and_wrap(name, axis, dtype, backend):
    """axis 0 keeps the innermost axis (LLVM's row-wise accumulators), axis 1 reduces it."""
    x, y = values(dtype)
    a = np.stack([x, y, x // 2 + 1])
    want = getattr(np, name)(a, axis=axis).astype(dtype)
    got = run(lambda t: getattr(gc, name)(t, axis=axis), a, backend=backend)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_fused_integer_reductions(name, backend):
    """A reduction of an elementwise body (one fused kernel) computes the body in integers too."""
    x, y = values("int64")
    a, b = np.stack([x, y]), np.stack([y, x])
    with np.errstate(over="ignore"):
        want = getattr(np, name)(a * 3 - b, axis=1)
    np.testing.assert_array_equal(run(lambda s, t: getattr(gc, name)(s * 3 - t, axis=1), a, b, backend=backend), want)


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize("dtype", ["bool", "int32", "int64", "float32", "float64"])
def test_bool_and_other_reductions_of_every_dtype(dtype, backend):
    a = np.array([[0, 1, 0], [0, 0, 0], [1, 1, 1]]).astype(dtype)
    for name in ("max", "min"):
        got = run(lambda t: getattr(gc, name)(t, axis=1), a, backend=backend)  # noqa: B023 - called in this iteration
        np.testing.assert_array_equal(got, getattr(np, name)(a, axis=1))
        assert got.dtype == np.dtype(dtype)


CASTS = [
    ("int64", "float64"), ("int64", "float32"), ("int32", "float32"), ("int32", "int64"), ("int64", "int32"),
    ("float64", "int64"), ("float32", "int32"), ("float64", "int32"), ("bool", "int64"), ("int64", "bool"),
    ("float32", "bool"), ("bool", "float32"),
]


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize("src,dst", CASTS)
def test_casts_follow_numpy(src, dst, backend):
    """Ints to floats round to nearest, floats to ints truncate toward zero, int64 to int32 wraps, and
    anything to bool is != 0 (the float values stay in the target's range: NumPy leaves the rest
    unspecified)."""
    raw = {"int64": [BIG, -BIG, 2 ** 40 + 3, -7, 0], "int32": [2 ** 24 + 1, -(2 ** 31), 2 ** 31 - 1, -7, 0],
           "float64": [2.0 ** 31 - 0.5, -2.0 ** 31 + 0.5, 2.7, -2.7, 0.0], "float32": [1e9, -1e9, 2.7, -2.7, -0.0],
           "bool": [True, False, True, True, False]}[src]
    x = np.array(raw, src)
    if dst == "int32" and src == "float64":
        x = np.clip(x, -2.0 ** 31 + 1, 2.0 ** 31 - 1)
    want = x.astype(dst)
    got = run(lambda t: gc.cast(t, dst), x, backend=backend)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_integer_and_bool_reductions_are_block_cooperative_ptx_on_the_gpu():
    """The GPU-only path (a block per output, warp shuffles of the integer accumulators) compiles for
    every integer width; its results are the CPU emitter's (tested above through cuda-emulate)."""
    from graphc.backends import cuda
    from graphc.backends.cuda.lowering import lower_program
    from graphc.backends.cuda.steps import Host
    x, i, b = gc.placeholder((3, 700), "int64"), gc.placeholder((3, 700), "int32"), gc.placeholder((3, 700), "bool")
    outs = [gc.sum(x, axis=1), gc.prod(x * 3, axis=1), gc.max(i, axis=1), gc.min(b, axis=1), gc.argmax(b, axis=1)]
    program = gc.function([x, i, b], outs).kernel_program()
    lowered = lower_program(program)
    assert not any(isinstance(s, Host) for s in lowered.steps), lowered.fallbacks
    assert sum(s.per_block for s in lowered.steps) == 4  # argmax runs one thread per output
    ptx = cuda.generate_ptx(program, "sm_90")
    assert "shfl.sync.down.b32" in ptx and "max.s32" in ptx and "mul.lo.s64" in ptx
