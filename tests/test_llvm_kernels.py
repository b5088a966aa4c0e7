"""Native LLVM kernels against references: vector math in ulps, conv/pool and Philox against the NumPy backend.

Vector math is measured in ulps against a more precise reference (float64 for
float32, long double for float64) over ~10^6 points: a uniform sweep of the
interesting range, a log-uniform sweep of magnitudes (subnormals to the
largest finite numbers, both signs) and special values.
"""
import numpy as np
import pytest

import graphc as gc

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 1e-40, -1e-40, 1e-30, 1.0, -1.0, 0.5, -0.5, 1e30, -1e30,
           3e38, -3e38, 88.72, 88.73, -87.3, -103.9, -104, -105, 1e-7, -1e-7, 709.78, 709.79, -745.1, -745.2,
           5e-324, -5e-324, 2.2e-308, 1e308, -1e308, 0.34657, -0.34657, 0.7, 20.0, -20.0, 40.0, 10.0]
#: function -> the uniform sweep for float32 (float64 sweeps 8x wider)
SWEEP = {"exp": (-110, 90), "log": (0, 100), "log1p": (-1, 10), "expm1": (-30, 30), "tanh": (-12, 12)}
MAX_ULP = {"float32": 2, "float64": 4}


def ordered(a: np.ndarray) -> np.ndarray:
    """Float bits as integers that count ulps: adjacent floats differ by 1, -0 and +0 by 0."""
    bits = a.view(np.int32 if a.dtype == np.float32 else np.int64).astype(np.int64)
    sign = np.int64(0x7FFFFFFF if a.dtype == np.float32 else 0x7FFFFFFFFFFFFFFF)
    return np.where(bits < 0, -(bits & sign), bits)


def ulp_distance(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    d = np.abs(ordered(got) - ordered(ref)).astype(np.float64)
    d[np.isnan(got) & np.isnan(ref)] = 0
    d[np.isnan(got) != np.isnan(ref)] = np.inf
    return d


def sweep(dtype: str, lo: float, hi: float, n: int = 500_000) -> np.ndarray:
    rng = np.random.default_rng(0)
    top = 38 if dtype == "float32" else 307
    mags = 10.0 ** rng.uniform(-top - 8, top, n) * np.sign(rng.standard_normal(n))
    with np.errstate(over="ignore", under="ignore"):
        return np.concatenate([rng.uniform(lo, hi, n), mags, SPECIAL]).astype(dtype)


def test_ulp_helper():
    one = np.float32(1)
    assert ulp_distance(np.array([np.nextafter(one, 2), -0.0, np.nan], np.float32),
                        np.array([one, 0.0, np.nan], np.float32)).tolist() == [1, 0, 0]
    assert ulp_distance(np.array([np.nextafter(0, 1), 1.0]), np.array([-np.nextafter(0, 1), np.nan])).tolist() == \
        [2, np.inf]


@pytest.mark.parametrize("dtype,zero_below", [("float32", -103.972077), ("float64", -745.1332191)])
def test_exp_through_its_underflow(dtype, zero_below):
    """Around where exp(x) rounds to +0 (ln of half the least subnormal) and far below it (a mask's -inf, which
    vmath sends down a path without subnormal products): the subnormal results within ulps, then exact zeros."""
    x = np.concatenate([np.linspace(zero_below - 2, zero_below + 20, 200_001), [-1e30, -np.inf]]).astype(dtype)
    p = gc.placeholder(x.shape, dtype)
    got = gc.function([p], gc.exp(p), backend="llvm")(x)
    with np.errstate(under="ignore"):
        ref = np.exp(x.astype(np.float64 if dtype == "float32" else np.longdouble)).astype(dtype)
    assert ulp_distance(got, ref).max() <= MAX_ULP[dtype]
    assert (got[x < zero_below - 0.01] == 0).all() and (got[x > zero_below + 0.01] > 0).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(SWEEP))
def test_vector_math_ulps(name, dtype):
    scale = 1 if dtype == "float32" else 8
    x = sweep(dtype, *(v * scale for v in SWEEP[name]))
    p = gc.placeholder(x.shape, dtype)
    got = gc.function([p], getattr(gc, name)(p), backend="llvm")(x)
    precise = np.float64 if dtype == "float32" else np.longdouble
    with np.errstate(all="ignore"):
        ref = getattr(np, name)(x.astype(precise)).astype(dtype)
    d = ulp_distance(got, ref)
    worst = int(np.argmax(d))
    assert d[worst] <= MAX_ULP[dtype], f"{name}({x[worst]!r}) = {got[worst]!r}, expected {ref[worst]!r}"
    # signed zeros and infinities exactly
    exact = np.isinf(ref) | (ref == 0)
    np.testing.assert_array_equal(np.signbit(got[exact]), np.signbit(ref[exact]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_erf_ulps(dtype):
    """Against mpmath at 40 digits (NumPy has no erf) on every 50th sweep point and the special values."""
    import mpmath
    x = sweep(dtype, -7, 7)
    p = gc.placeholder(x.shape, dtype)
    got = gc.function([p], gc.erf(p), backend="llvm")(x)
    pick = np.r_[0:len(x) - len(SPECIAL):50, len(x) - len(SPECIAL):len(x)]
    with mpmath.workdps(40):
        ref = np.array([float(mpmath.erf(mpmath.mpf(float(v)))) if not np.isnan(v) else np.nan for v in x[pick]])
    ref = ref.astype(dtype)
    d = ulp_distance(got[pick], ref)
    worst = int(np.argmax(d))
    assert d[worst] <= MAX_ULP[dtype], f"erf({x[pick][worst]!r}) = {got[pick][worst]!r}, expected {ref[worst]!r}"
    number = ~np.isnan(x)
    np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(x[number]))  # odd, -0 included


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stable_forms_keep_their_limits(dtype):
    x = np.array([-1e4, -100, -30, -1, -1e-30, -0.0, 0.0, 1e-30, 1, 30, 100, 1e4, np.inf, -np.inf], dtype)
    p = gc.placeholder(x.shape, dtype)
    sig, sp = gc.function([p], [gc.sigmoid(p), gc.softplus(p)], backend="llvm")(x)
    with np.errstate(all="ignore"):
        xl = x.astype(np.longdouble)
        ref_sig = (1 / (1 + np.exp(-xl))).astype(dtype)
        ref_sp = (np.maximum(xl, 0) + np.log1p(np.exp(-np.abs(xl)))).astype(dtype)
    for got, ref in ((sig, ref_sig), (sp, ref_sp)):
        normal = np.abs(ref) >= np.finfo(dtype).tiny  # 1 / (1 + exp(100)) underflows to 0 before dividing
        assert ulp_distance(got[normal], ref[normal]).max() <= MAX_ULP[dtype] + 1
        np.testing.assert_allclose(got[~normal], ref[~normal], rtol=0, atol=np.finfo(dtype).tiny)


@pytest.mark.parametrize("dtype,etype", [("float32", "float"), ("float64", "double")])
def test_exp_loop_vectorizes(dtype, etype):
    """The loop runs on 256- or 512-bit vectors (LLVM picks the width for the CPU: Intel's Ice Lake and
    Rocket Lake prefer 256 bits even with AVX-512) and calls no libm function."""
    import re
    import llvmlite.binding as llvm
    if "+avx2" not in llvm.get_host_cpu_features().flatten().split(","):
        pytest.skip("the host has no AVX2: vectors are narrower")
    p = gc.placeholder((4096,), dtype)
    fn = gc.function([p], gc.sigmoid(p) * gc.log(gc.tanh(p) + 2) + gc.erf(p), backend="llvm")
    fn(np.zeros(4096, dtype))
    ir_text = fn.llvm_ir(optimized=True)
    lanes = [int(n) for n in re.findall(rf"<(\d+) x {etype}>", ir_text)]
    assert lanes and max(lanes) * np.dtype(dtype).itemsize * 8 >= 256
    assert "ymm" in fn.asm() or "zmm" in fn.asm()
    for libm in ("@expf", "@exp(", "@logf", "@log(", "@tanhf", "@tanh(", "@erf", "@llvm.exp.", "@llvm.log."):
        assert libm not in ir_text


# -- convolution and pooling ----------------------------------------------------------------

TOL = {"float32": dict(rtol=2e-5, atol=2e-5), "float64": dict(rtol=1e-12, atol=1e-12)}


def compile_both(build, arrays: dict, fallbacks_allowed: tuple = ()):
    """Build the graph on both backends from placeholders named like `arrays`; returns (numpy, llvm) results."""
    results = []
    for backend in ("numpy", "llvm"):
        xs = {k: gc.placeholder(v.shape, v.dtype.name, name=k) for k, v in arrays.items()}
        fn = gc.function(list(xs.values()), build(**xs), backend=backend)
        results.append(fn(*arrays.values()))
        if backend == "llvm":
            reasons = fn.variant().executable.lowered.fallbacks.values()
            assert all(any(a in r for a in fallbacks_allowed) for r in reasons), list(reasons)
    return results


def assert_close(ref, got, dtype):
    for r, g in zip(ref, got):
        assert r.shape == g.shape and r.dtype == g.dtype
        np.testing.assert_allclose(g, r, **TOL[dtype])


CONV_CASES = [  # (N, C, H, W), (O, kh, kw), stride, padding, dilation, groups
    ((2, 3, 9, 8), (4, 3, 3), 1, 0, 1, 1),
    ((1, 1, 28, 28), (6, 5, 5), 1, 2, 1, 1),
    ((3, 4, 11, 7), (6, 3, 2), 2, 1, 1, 2),
    ((2, 2, 10, 9), (3, 3, 3), (2, 3), ((1, 2), (0, 1)), (2, 1), 1),
    ((1, 6, 7, 7), (6, 3, 3), 1, "same", 2, 6),
    ((2, 4, 5, 5), (2, 5, 5), 1, 0, 1, 1),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_and_its_gradients(case, dtype):
    xshape, (o, kh, kw), stride, padding, dilation, groups = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal(xshape).astype(dtype)
    w = rng.standard_normal((o, xshape[1] // groups, kh, kw)).astype(dtype)

    def build(x, w):
        y = gc.conv2d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
        r = gc.constant(np.random.default_rng(2).standard_normal(y.shape).astype(dtype))
        loss = gc.sum(y * r)
        return [y] + list(gc.grad(loss, [x, w]))
    assert_close(*compile_both(build, {"x": x, "w": w}), dtype)


def test_conv_reads_strided_views():
    """A transposed weight and a strided image (views the scheduler does not copy) read like dense arrays."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 12, 10)).astype(np.float32)
    w = rng.standard_normal((3, 4, 3, 3)).astype(np.float32)  # (in, out, kh, kw): transposed below

    def build(x, w):
        xs, wt = x[:, :, ::2, 1:], gc.transpose(w, (1, 0, 3, 2))
        y = gc.conv2d(xs, wt, padding=1)
        gy = gc.transpose(gc.constant(np.random.default_rng(7).standard_normal(y.shape[::-1]).astype(np.float32)))
        return [y] + list(gc.grad(gc.sum(y * gy), [x, w]))
    assert_close(*compile_both(build, {"x": x, "w": w}), "float32")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("pool,kernel,stride,padding", [
    ("max_pool2d", 2, None, 0), ("avg_pool2d", 2, None, 0), ("max_pool2d", 3, 2, 1),
    ("avg_pool2d", (3, 2), (1, 2), (1, 0)),
])
def test_pooling_and_its_gradients(pool, kernel, stride, padding, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 9)).astype(dtype)

    def build(x):
        y = getattr(gc, pool)(x, kernel, stride, padding)
        r = gc.constant(np.random.default_rng(4).standard_normal(y.shape).astype(dtype))
        return [y, gc.grad(gc.sum(y * r), [x])[0]]
    ref, got = compile_both(build, {"x": x})
    if pool == "max_pool2d":  # a max is exact
        np.testing.assert_array_equal(got[0], ref[0])
    assert_close(ref, got, dtype)


# -- Philox random numbers ------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1,), (3,), (5, 7), (2, 3, 4), (1000,)])
@pytest.mark.parametrize("seed,counter,stream", [(0, 0, 0), (42, 7, 1), (-3, 2 ** 40 + 5, 2 ** 32 - 1),
                                                 (2 ** 62 + 12345, 2 ** 63 - 1, 9)])
def test_random_uniform_is_bit_identical(shape, dtype, seed, counter, stream):
    key = np.array([seed, counter], np.int64)
    ref, got = compile_both(lambda key: gc.random_uniform(key, shape, dtype, stream), {"key": key})
    assert got.dtype == ref.dtype and got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)
    assert ((got >= 0) & (got < 1)).all()


def test_dropout_masks_and_key_updates_match_numpy():
    """Three train steps of dropout (the key advancing each step) give the reference's masks bit for bit."""
    x = np.random.default_rng(5).standard_normal((33, 17)).astype(np.float32)
    outs = []
    for backend in ("numpy", "llvm"):
        drop = gc.nn.Dropout(0.3, seed=11)
        p = gc.placeholder(x.shape, "float32")
        fn = gc.function([p], drop(p), updates=drop.state_updates(), backend=backend)
        outs.append([fn(x) for _ in range(3)])
        if backend == "llvm":
            assert fn.variant().executable.lowered.fallbacks == {}
    for ref, got in zip(*outs):
        np.testing.assert_array_equal(got, ref)
    assert not np.array_equal(outs[1][0], outs[1][1])  # the key moved on


# -- whole training steps ----------------------------------------------------------------------

def _lenet_step(backend: str, rng_seed: int = 0):
    nn = gc.nn
    r = np.random.default_rng(rng_seed)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, activation="relu", rng=r), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, activation="relu", rng=r), nn.AvgPool2d(2), nn.Flatten(),
        nn.Dense(400, 120, "relu", rng=r), nn.Dropout(0.25, seed=3), nn.Dense(120, 10, rng=r))
    x, y = gc.placeholder((6, 1, 28, 28), name="x"), gc.placeholder((6,), "int64", name="y")
    loss = gc.losses.cross_entropy(model(x), y)
    updates = gc.optim.SGD(model.parameters(), lr=0.05, momentum=0.9).updates(loss) + model.state_updates()
    return gc.function([x, y], loss, updates=updates, backend=backend), model


def test_lenet_step_runs_without_callbacks_and_matches_numpy():
    """LeNet-5 (max and average pooling, dropout) with SGD momentum: no fallbacks, same losses and weights."""
    data = np.random.default_rng(8)
    xs, ys = data.standard_normal((3, 6, 1, 28, 28)).astype(np.float32), data.integers(0, 10, (3, 6))
    runs = []
    for backend in ("numpy", "llvm"):
        step, model = _lenet_step(backend)
        losses = [float(step(x, y)) for x, y in zip(xs, ys)]
        runs.append((losses, [p.value.copy() for p in model.parameters()]))
        if backend == "llvm":
            assert step.variant().executable.lowered.fallbacks == {}
    (ref_losses, ref_params), (losses, params) = runs
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-4)
    for r, p in zip(ref_params, params):
        np.testing.assert_allclose(p, r, rtol=1e-3, atol=1e-5)


# -- the softmax family ---------------------------------------------------------------------------

def special_rows(n: int, dtype: str) -> np.ndarray:
    """Rows of n that the vectorized row loops must treat as NumPy does: a NaN first, in the middle and
    last, rows of -inf and of NaN, infinities, the largest finite values, a causal mask's -inf half."""
    rng = np.random.default_rng(n)
    big = np.finfo(dtype).max
    rows = rng.standard_normal((14, n)) * 3
    rows[1, 0] = rows[2, n // 2] = rows[3, -1] = np.nan
    rows[4] = -np.inf
    rows[5] = np.nan
    rows[6, n // 3] = np.inf
    rows[7, [0, -1]] = np.inf
    rows[8, 0], rows[8, -1] = np.inf, -np.inf
    rows[9, ::2], rows[9, 1::2] = big, -big
    rows[10, n // 2:] = -np.inf
    rows[11, 1:] = -np.inf
    rows[12, -1] = big
    rows[13, n // 4], rows[13, -1] = np.nan, np.inf
    return rows.astype(dtype)


def softmax_family(x: gc.Tensor, t: gc.Tensor, axis: int) -> list:
    return [gc.softmax(x, axis), gc.log_softmax(x, axis), gc.logsumexp(x, axis),
            gc.softmax_cross_entropy(x, t, axis)]


@pytest.mark.parametrize("n", [1, 7, 64, 1003])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("build", ["llvm", "llvm-checked"])
@pytest.mark.parametrize("axis", [1, 0])
def test_softmax_family_rows_match_numpy(n, dtype, build, axis):
    """The row loops reassociate their max and sums into vector lanes: a NaN anywhere still makes its row
    NaN, a row of -inf gives NumPy's NaN (logsumexp: -inf), and infinities and the largest values give
    NumPy's results; along axis 0 the rows are strided."""
    x = special_rows(n, dtype)
    t = np.random.default_rng(1).dirichlet(np.ones(n), size=len(x)).astype(dtype)
    if axis == 0:
        x, t = x.T.copy(), t.T.copy()
    xs = [gc.placeholder(x.shape, dtype, name="x"), gc.placeholder(t.shape, dtype, name="t")]
    with np.errstate(all="ignore"):
        want = gc.function(xs, softmax_family(*xs, axis), backend="numpy", optimize="O0")(x, t)
        got = gc.function(xs, softmax_family(*xs, axis), backend=build)(x, t)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        np.testing.assert_allclose(g, w, **TOL[dtype])


@pytest.mark.parametrize("dtype,etype", [("float32", "float"), ("float64", "double")])
def test_softmax_row_loops_vectorize(dtype, etype):
    """The max, the sum of exponentials and the writes of a softmax row run on vectors (LLVM chooses
    the width), with no libm call."""
    import re
    p = gc.placeholder((8, 512), dtype)
    fn = gc.function([p], gc.softmax(p, 1), backend="llvm")
    fn(np.zeros((8, 512), dtype))
    ir_text = fn.llvm_ir(optimized=True)
    assert re.search(rf"@llvm\.vector\.reduce\.fmax\.v\d+f{32 if dtype == 'float32' else 64}", ir_text)
    assert re.search(r"@llvm\.vector\.reduce\.fadd\.v\d+f64", ir_text)
    assert re.search(rf"fdiv <\d+ x {etype}>", ir_text)
    assert "@expf" not in ir_text and "@exp(" not in ir_text
