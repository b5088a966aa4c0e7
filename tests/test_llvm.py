"""The LLVM backend against the NumPy reference: same graphs, both backends, documented tolerances.

Tolerances: float32 rtol 1e-5 (atol 1e-6), float64 rtol 1e-12 (atol 1e-12);
reductions accumulate in double, so they are at least as accurate as NumPy's.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shared import expressions, fuzz_case, mlp_step

import graphc as gc
from graphc.ir import GraphcError

TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-12)}


def both(fn, *arrays, tol=None):
    """Compile `fn` over placeholders like `arrays` with numpy and llvm; assert the outputs agree."""
    results = []
    for backend in ("numpy", "llvm"):
        xs = [gc.placeholder(np.shape(a), np.asarray(a).dtype.name, name=f"a{i}") for i, a in enumerate(arrays)]
        out = fn(*xs)
        results.append(gc.function(xs, out, backend=backend)(*arrays))
    ref, got = results
    for r, g in zip(ref if isinstance(ref, list) else [ref], got if isinstance(got, list) else [got]):
        assert g.shape == r.shape and g.dtype == r.dtype
        if r.dtype.kind == "f":
            np.testing.assert_allclose(g, r, **(tol or TOL[r.dtype.name]))
        else:
            np.testing.assert_array_equal(g, r)
    return got


@pytest.fixture
def rng():
    return np.random.default_rng(7)


UNARY = ["exp", "log", "sqrt", "sin", "cos", "tanh", "abs", "sign", "sigmoid", "softplus", "relu", "log1p",
         "expm1", "negative", "square", "floor"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", UNARY)
def test_unary(name, dtype, rng):
    x = rng.standard_normal((5, 7)).astype(dtype) * 3
    if name in ("log", "sqrt", "log1p"):
        x = np.abs(x) + 0.1
    both(getattr(gc, name), x)


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide", "maximum", "minimum", "power"])
def test_binary_broadcasting(name, rng):
    a = rng.standard_normal((4, 1, 6)).astype(np.float32)
    b = np.abs(rng.standard_normal((3, 1))).astype(np.float32) + 0.5
    if name == "power":
        a = np.abs(a) + 0.1
    both(getattr(gc, name), a, b)


def test_comparisons_where_logic_and_casts(rng):
    a, b = rng.standard_normal((2, 6, 5)).astype(np.float32)
    both(lambda x, y: gc.where(gc.logical_not(y >= x), x * y, y - 1.0), a, b)
    both(lambda x, y: gc.cast(x > y, "float32") + gc.cast(x != 0, "float32") - gc.cast(x == y, "float32"), a, b)
    both(lambda x: gc.cast(x * 10, "int32"), a)
    both(lambda x, y: x < y, a, b)


def test_special_values_stay_stable():
    x = np.array([-1000, -50, -1, 0, 1, 50, 1000, np.inf, -np.inf], np.float32)
    both(lambda t: gc.sigmoid(t) + gc.softplus(t) * 0.5, x)
    both(lambda t: gc.maximum(t, 0.0), np.array([np.nan, 1, -1], np.float32))


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
@pytest.mark.parametrize("red", ["sum", "mean", "max", "min", "prod"])
def test_reductions(red, axis, keepdims, rng):
    x = rng.standard_normal((4, 5, 6)).astype(np.float64) * 0.9
    both(lambda t: getattr(gc, red)(t * 2.0 + 1.0, axis=axis, keepdims=keepdims), x)


def test_argmax_argmin(rng):
    x = rng.standard_normal((6, 9)).astype(np.float32)
    both(lambda t: gc.argmax(t, axis=1), x)
    both(lambda t: gc.argmin(t, axis=0), x)


@pytest.mark.parametrize("shapes", [((7, 5), (5, 3)), ((2, 4, 5), (5, 3)), ((2, 4, 5), (2, 5, 3)), ((5,), (5, 3)),
                                    ((4, 5), (5,)), ((5,), (5,)), ((1, 5), (5, 1)), ((3, 0), (0, 4))])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_shapes(shapes, dtype, rng):
    a, b = (rng.standard_normal(s).astype(dtype) for s in shapes)
    both(lambda x, y: x @ y, a, b)


def test_matmul_transposed_views_and_epilogue(rng):
    a = rng.standard_normal((6, 4)).astype(np.float32)
    b = rng.standard_normal((5, 6)).astype(np.float32)
    c = rng.standard_normal((4,)).astype(np.float32)
    both(lambda x, y, z: gc.relu(gc.transpose(x) @ gc.transpose(y) + z[:, None]), a, b, c)
    both(lambda x, y: gc.transpose(x)[::2] @ gc.transpose(y)[:, 1:4], a, b)


#: (a, b as stored, b transposed in the graph): shapes OpenBLAS is slow on, which get loop kernels
LOOP_PRODUCTS = {
    "few terms": ((150, 16), (16, 700), False),  # conv input gradient: k <= 32 unrolled, column blocks + tail
    "one term": ((9, 1), (1, 130), False),
    "five terms": ((3, 10, 5), (5, 100), False),  # a batch folded into the rows
    "batched few terms": ((3, 10, 7), (3, 7, 100), False),
    "small result, long k": ((6, 1000), (25, 1000), True),  # conv weight gradient: blocks of dot products
    "odd blocks, k chunks": ((7, 5000), (9, 5000), True),  # row and column tails, a partial chunk of k
}


@pytest.mark.parametrize("case", list(LOOP_PRODUCTS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("backend", ["llvm", "llvm-checked"])
def test_loop_products_match_numpy(case, dtype, backend, rng):
    ashape, bshape, transposed = LOOP_PRODUCTS[case]
    a, b = (rng.standard_normal(s) for s in (ashape, bshape))
    x, y = gc.placeholder(ashape, dtype), gc.placeholder(bshape, dtype)
    fn = gc.function([x, y], x @ (gc.transpose(y) if transposed else y), backend=backend)
    got = fn(a.astype(dtype), b.astype(dtype))
    k = ashape[-1]
    eps = 1e-6 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(got, a @ (b.T if transposed else b), rtol=10 * eps, atol=10 * eps * np.sqrt(k))
    assert "gemm" not in fn.llvm_ir()  # made by the loop kernels, not BLAS


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_family(fn, rng):
    x = rng.standard_normal((5, 8)).astype(np.float32) * 30
    both(lambda t: getattr(gc, fn)(t, axis=-1), x)
    both(lambda t: getattr(gc, fn)(t, axis=0), x)


def test_softmax_cross_entropy(rng):
    z = rng.standard_normal((6, 4)).astype(np.float32)
    t = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 6)]
    both(lambda a, b: gc.losses.cross_entropy(a, b), z, t)


def test_take_one_hot_and_bounds(rng):
    table = rng.standard_normal((10, 3)).astype(np.float32)
    idx = np.array([[1, 9], [-1, 0]], np.int64)
    both(lambda t, i: gc.take(t, i, axis=0) * 2.0, table, idx)
    both(lambda i: gc.one_hot(i, 10), np.array([3, 0, 9], np.int64))
    x = gc.placeholder((10, 3), "float32")
    i = gc.placeholder((2,), "int64")
    f = gc.function([x, i], gc.take(x, i, axis=0), backend="llvm")
    with pytest.raises(GraphcError, match="out of range"):
        f(table, np.array([0, 10], np.int64))


def test_views_slices_transposes_concatenate_reshape(rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    both(lambda t: gc.transpose(t)[1:5:2] * 3.0, x)
    both(lambda t: gc.reshape(gc.transpose(t), (3, 8)) + 1.0, x)
    both(lambda t: gc.concatenate([t, t * 2.0], axis=1), x)


def test_gradients_with_scatter(rng):
    x = rng.standard_normal((5, 4)).astype(np.float64)
    idx = np.array([0, 2, 2, 4], np.int64)

    def loss_grad(t, i):
        loss = gc.sum(gc.square(gc.take(t, i, axis=0))) + gc.sum(gc.tanh(t[1:3, ::2]))
        return gc.grad(loss, [t])[0]
    both(loss_grad, x, idx)


def _sine_step(backend, steps=5):
    f, params = mlp_step(backend, batch=100, hidden=16)
    xv = np.random.default_rng(0).uniform(-1, 1, (100, 2)).astype(np.float32)
    yv = np.sin(3 * xv[:, :1]) * np.cos(xv[:, 1:])
    losses = [float(f(xv, yv)) for _ in range(steps)]
    return losses, [p.value.copy() for p in params]


def test_sine_mlp_training_matches_numpy():
    ref_losses, ref_params = _sine_step("numpy")
    losses, params = _sine_step("llvm")
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
    for p, r in zip(params, ref_params):  # float32 weights of size ~1 after 5 steps: sums in another order
        np.testing.assert_allclose(p, r, rtol=1e-4, atol=1e-5 * np.abs(r).max())


def test_ir_and_asm_are_inspectable(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_DUMP_IR", str(tmp_path))
    x = gc.placeholder((4, 3), "float32")
    f = gc.function([x], gc.exp(x) * 1.2345, backend="llvm")
    assert "define i32 @\"run\"" in f.llvm_ir() or "define i32 @run" in f.llvm_ir()
    assert f.asm().strip()
    assert any(p.suffix == ".ll" for p in tmp_path.iterdir())


def test_ir_dumps_replace_symlinks_instead_of_writing_through_them(tmp_path, monkeypatch):
    from graphc.backends.llvm import runtime
    dump, victim = tmp_path / "dump", tmp_path / "victim.txt"
    victim.write_text("the user's file")
    monkeypatch.setenv("GRAPHC_DUMP_IR", str(dump))
    monkeypatch.setenv("GRAPHC_CACHE", "0")

    def compile_once():
        monkeypatch.setattr(runtime, "_MACHINES", {})  # compile again: the dump is written on a compile
        x = gc.placeholder((4,), "float32")
        gc.function([x], gc.exp(x) * 2.5, backend="llvm")(np.ones(4, np.float32))

    compile_once()
    names = sorted(p.name for p in dump.iterdir())
    assert len(names) == 3 and {n.split(".", 1)[1] for n in names} == {"ll", "opt.ll", "s"}
    for name in names:  # someone who can write the folder plants links at the names the next compile uses
        (dump / name).unlink()
        (dump / name).symlink_to(victim)
    compile_once()
    assert victim.read_text() == "the user's file"
    assert sorted(p.name for p in dump.iterdir()) == names and not any((dump / n).is_symlink() for n in names)
    assert "define" in (dump / names[0]).read_text() or "define" in (dump / names[1]).read_text()


def test_conv_runs_through_the_numpy_callback(rng):
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    both(lambda a, b: gc.relu(gc.conv2d(a, b)) * 2.0, x, w)


def test_outputs_written_in_place_by_native_and_callback_kernels(rng):
    """Whole-temporary outputs live in the output arrays: an integer product (NumPy callback) and a
    native sum both write their output array directly, and a later kernel reads the product there."""
    a, b = gc.placeholder((3, 4), "int64"), gc.placeholder((4, 2), "int64")
    m = a @ b
    f = gc.function([a, b], [m, m * 3 + 1, gc.sum(m * m, axis=0)], backend="llvm")
    av, bv = rng.integers(-5, 5, (3, 4)), rng.integers(-5, 5, (4, 2))
    outs = f(av, bv)
    lowered = f._last.executable.lowered
    assert lowered.fallbacks and len(lowered.direct) == 3
    ref = av @ bv
    for got, want in zip(outs, [ref, ref * 3 + 1, (ref * ref).sum(axis=0)]):
        np.testing.assert_array_equal(got, want)


def test_mlp_softmax_cross_entropy_adam_matches_numpy(rng):
    xv = rng.standard_normal((32, 20)).astype(np.float32)
    yv = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 32)]
    runs = []
    for backend in ("numpy", "llvm"):
        model = gc.nn.MLP([20, 16, 5], activation="relu", rng=3)
        x, y = gc.placeholder((32, 20), "float32"), gc.placeholder((32, 5), "float32")
        loss = gc.losses.cross_entropy(model(x), y)
        step = gc.function([x, y], loss, updates=gc.optim.Adam(model, lr=1e-2).updates(loss), backend=backend)
        runs.append(([float(step(xv, yv)) for _ in range(5)], [p.value.copy() for p in model.parameters()]))
    (ref_losses, ref_params), (losses, params) = runs
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-4)
    for p, r in zip(params, ref_params):
        np.testing.assert_allclose(p, r, rtol=1e-3, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(expressions(), st.integers(0, 1000))
def test_random_graphs_and_gradients_match_numpy(expr, seed):
    (x, y), outputs, (xv, yv) = fuzz_case(expr, seed)
    want = gc.function([x, y], outputs)(xv, yv)
    got = gc.function([x, y], outputs, backend="llvm")(xv, yv)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_repeated_calls_see_mutated_inputs_new_arrays_and_parameter_values():
    """In-place changes, new arrays, converted arguments and new parameter values are all read afresh."""
    w = gc.parameter(np.arange(3.0, dtype=np.float32), "w")
    x = gc.placeholder((3,), "float32", name="x")
    f = gc.function([x], gc.sum(x * w), updates=[(w, w + 1)], backend="llvm")
    xv = np.ones(3, np.float32)
    assert f(xv) == 3.0  # w = 0 1 2, then 1 2 3
    xv[:] = 2
    assert f(xv) == 12.0  # same array, new contents; w then 2 3 4
    assert f(np.full(3, 0.5, np.float32)) == 4.5  # a new array
    assert f([1, 1, 1]) == 12.0  # a list is converted (slow path); w = 3 4 5 before
    w.value = np.zeros(3, np.float32)
    assert f(x=np.arange(3, dtype=np.float32)) == 0.0
    np.testing.assert_array_equal(w.value, [1, 1, 1])
    view = w.value
    view.flags.writeable = False  # .value is a view: freezing it leaves the parameter's own buffer writable
    assert f(xv) == 6.0
    np.testing.assert_array_equal(view, [2, 2, 2])


def _scan_cases():
    """Scans whose loops run natively: reversed, with non-dense constants and carries, nested, `last`."""
    def transposed_const(x, w):  # w.T is a strided view: the loop copies it densely first
        return gc.scan(lambda h, xt: gc.tanh(xt @ w.T + h), gc.zeros_like(x[0]) + 0.5, [x], reverse=True)

    def nested(x, w):
        def outer(h, xt):
            inner = gc.scan(lambda g, wt: g * 0.5 + wt, h, [w[:, : h.shape[-1]]])
            return inner[-1] + xt
        return gc.scan(outer, x[0] * 0.0, [x])

    def final_sum(x, w):  # the gradient of w accumulates in a `last=True` scan
        h = gc.scan(lambda h, xt: gc.sigmoid(xt + h @ w[:, :3]), x[0], [x])
        return gc.grad(gc.sum(h * h), w)[0]
    return [transposed_const, nested, final_sum]


@pytest.mark.parametrize("steps", [4, 5])  # a `last` scan ends on its output buffer after even and odd steps
@pytest.mark.parametrize("case", _scan_cases(), ids=lambda f: f.__name__)
def test_scan_loops_run_natively_and_match_numpy(case, steps, rng):
    xv, wv = rng.standard_normal((steps, 3)), rng.standard_normal((3, 3)) * 0.5
    results = []
    for backend in ("numpy", "llvm"):
        x, w = gc.placeholder((steps, 3), "float64"), gc.placeholder((3, 3), "float64")
        f = gc.function([x, w], case(x, w), backend=backend)
        results.append(f(xv, wv))
    assert f._last.executable.lowered.fallbacks == {}
    assert f._last.executable.lowered.loops
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12, atol=1e-12)


def test_index_error_inside_a_native_loop_is_an_error_not_a_crash():
    x, i = gc.placeholder((4, 3), "float32"), gc.placeholder((4, 2), "int64")
    f = gc.function([x, i], gc.scan(lambda h, it: h + gc.take(x[0], it), x[0, :2] * 0.0, [i]),
                    backend="llvm")
    np.testing.assert_allclose(f(np.ones((4, 3), np.float32), np.zeros((4, 2), np.int64))[-1], [4, 4])
    assert f._last.executable.lowered.loops
    with pytest.raises(gc.GraphcError, match="scan"):
        f(np.ones((4, 3), np.float32), np.full((4, 2), 7, np.int64))


def test_profile_times_every_kernel_and_steps_like_a_call(rng):
    w = gc.parameter(rng.standard_normal((8, 4)), "w")
    x = gc.placeholder((16, 8), "float64", name="x")
    loss = gc.sum(gc.tanh(x @ w))
    f = gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w)[0])], backend="llvm")
    xv = rng.standard_normal((16, 8))
    before = w.value.copy()
    prof = f.profile(xv, calls=5)
    kernels = f.kernel_program().kernels
    assert [k.name for k in prof.kernels] == [k.name for k in kernels]
    assert all(k.seconds >= 0 and k.native for k in prof.kernels)
    assert 0 < sum(k.seconds for k in prof.kernels) <= prof.step_seconds
    assert "matmul" in str(prof)
    # 6 profiled steps (warm-up + 5) moved w like 6 steps of the plain function would
    g = gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w)[0])], backend="numpy")
    w.value = before
    for _ in range(6):
        g(xv)
    expected = w.value.copy()
    w.value = before
    f.profile(xv, calls=5)
    np.testing.assert_allclose(w.value, expected, rtol=1e-12)
    with pytest.raises(gc.GraphcError, match="compiles no native code .no IR, assembly or kernel timers"):
        g.profile(xv)


def test_column_sums_keep_the_one_at_a_time_order(rng):
    """Reductions that keep the innermost axis accumulate rows in scratch: same order, same bits."""
    xv = rng.standard_normal((37, 3, 65)).astype(np.float32)
    x = gc.placeholder(xv.shape, "float32")
    outs = [gc.sum(x, axis=0), gc.sum(x, axis=(0, 1)), gc.max(x, axis=0), gc.sum(x * x, axis=1, keepdims=True)]
    got = gc.function([x], outs, backend="llvm")(xv)
    ref = [xv.astype(np.float64).sum(0), xv.astype(np.float64).sum((0, 1)), xv.max(0),
           (xv * xv).astype(np.float64).sum(1, keepdims=True)]
    for a, r in zip(got, ref):
        np.testing.assert_allclose(a, r.astype(np.float32), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", [((6, 25), (25, 1300)), ((3, 2, 7), (7, 1100)), ((1, 3), (3, 1024 + 255))])
def test_wide_products_use_blocked_loops_and_match_numpy(shapes, dtype, rng):
    """Few rows times many columns (a convolution's filters times its image columns) run as
    column-blocked loops instead of BLAS: full blocks, a tail block, batches."""
    a, b = (rng.standard_normal(s).astype(dtype) for s in shapes)
    x, y = gc.placeholder(a.shape, dtype), gc.placeholder(b.shape, dtype)
    f = gc.function([x, y], x @ y, backend="llvm")
    assert "llvm.fmuladd" in f.llvm_ir(a.shape, b.shape)
    np.testing.assert_allclose(f(a, b), a @ b, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mnk", [(32, 512, 128), (13, 300, 70), (16, 256, 33)])
def test_few_rows_times_a_transposed_weight_run_flipped(mnk, dtype, rng):
    """x @ W.T with few rows and many columns: BLAS computes the product transposed and a tiled
    transpose puts it back; alone, under a bias epilogue, and as a batch whose rows fold."""
    from graphc.backends.llvm.matmul import flip_pays
    m, n, k = mnk
    xv, wv, bv = (rng.standard_normal(s).astype(dtype) for s in ((m, k), (n, k), (n,)))
    x, w, b = (gc.placeholder(v.shape, dtype) for v in (xv, wv, bv))
    outs = [x @ w.T, x @ w.T + b, gc.reshape(x[: m // 4 * 4], (4, m // 4, k)) @ w.T]
    f = gc.function([x, w, b], outs, backend="llvm")
    assert flip_pays(m, n, k) and "shufflevector" in f.llvm_ir(xv.shape, wv.shape, bv.shape)
    refs = [xv @ wv.T, xv @ wv.T + bv, xv[: m // 4 * 4].reshape(4, m // 4, k) @ wv.T]
    for got, ref in zip(f(xv, wv, bv), refs):
        np.testing.assert_allclose(got, ref, rtol=1e-4 if dtype == "float32" else 1e-12, atol=1e-4)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("shape", [(8, 8), (13, 21), (3, 37, 45)])
def test_transposing_copies_move_whole_tiles_and_copy_the_edges(shape, dtype, rng):
    xv = (rng.standard_normal(shape) * 100).astype(dtype)
    x = gc.placeholder(shape, dtype)
    f = gc.function([x], gc.reshape(gc.transpose(x, (*range(len(shape) - 2), len(shape) - 1, len(shape) - 2)), (-1,)),
                    backend="llvm")
    assert "shufflevector" in f.llvm_ir(shape)
    np.testing.assert_array_equal(f(xv), np.swapaxes(xv, -1, -2).reshape(-1))


def test_loops_take_their_weights_the_way_flipped_products_read_them(rng):
    """An RNN and its gradient: h @ W.T forward and dz @ W backward both read W with k contiguous in
    the body (W as it is, W.T made dense once per loop), and match the NumPy backend."""
    def loss(x, w):
        hs = gc.scan(lambda h, xt: gc.tanh(xt + h @ w.T), x[0] * 0.0, [x])
        return gc.grad(gc.sum(hs[-1] * hs[-1]), [x, w])
    xv, wv = rng.standard_normal((4, 16, 128)) * 0.5, rng.standard_normal((128, 128)) * 0.05
    results = []
    for backend in ("numpy", "llvm"):
        x, w = gc.placeholder(xv.shape, "float64"), gc.placeholder(wv.shape, "float64")
        f = gc.function([x, w], loss(x, w), backend=backend)
        results.append(f(xv, wv))
    loops = f._last.executable.lowered.loops
    assert len(loops) == 2
    for n in loops:
        products = [k for k in n.program.kernels if k.kind == "matmul"]
        assert products and all(k.inputs[1].strides[-2] == 1 for k in products)
    for got, ref in zip(*results[::-1]):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_avx512_hosts_get_512_bit_loops():
    """On an AVX-512 CPU the code is generated without LLVM's 256-bit preference, so an elementwise loop (here
    sigmoid, vmath's exp and a division) runs in zmm registers; elsewhere the host's features are used as they
    are. Either way the values are NumPy's."""
    import llvmlite.binding as llvm

    from graphc.backends.llvm import cache
    host = llvm.get_host_cpu_features().flatten()
    avx512 = "+avx512f" in host.split(",")
    assert cache.host()[1] == (host + ",-prefer-256-bit" if avx512 else host)
    x = gc.placeholder((1000, 64), "float32")
    fn = gc.function([x], gc.sigmoid(x), backend="llvm")
    a = np.random.default_rng(0).standard_normal((1000, 64)).astype(np.float32)
    np.testing.assert_allclose(fn(a), 1 / (1 + np.exp(-a.astype(np.float64))), rtol=1e-6)
    assert ("zmm" in fn.asm((1000, 64))) == avx512
