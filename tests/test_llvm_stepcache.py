"""Compiled steps cached by the graph before the passes (backends/llvm/stepcache.py)."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc as gc
from graphc.backends.llvm import stepcache
from graphc.ir import GraphcError
from shared import expressions, fuzz_case, losses, step

XS = np.linspace(-1, 1, 5 * 4 * 3, dtype=np.float32).reshape(5, 4, 3)


def rnn(scale=0.5, act="tanh", backend="llvm"):
    """An RNN training step: a scan (a natively run loop body) and its gradient."""
    rng = np.random.default_rng(2)
    x = gc.placeholder((5, 4, 3), name="x")
    w = gc.parameter(rng.standard_normal((3, 3)).astype(np.float32) * scale, name="w")
    hs = gc.scan(lambda h, xt: getattr(gc, act)(h @ w + xt), gc.constant(np.zeros((4, 3), np.float32)), [x])
    loss = gc.mean(gc.square(hs))
    return gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w))], backend=backend), w


def entries(folder):
    return [n for n in os.listdir(folder) if n.endswith(".step")]


def graph_of(fn, *shapes):
    return fn.specialize(shapes or tuple(x.shape for x in fn.inputs))


def test_a_hit_skips_the_passes_and_trains_like_a_fresh_compile(cache_dir, monkeypatch):
    """Same losses and weights as NumPy over several steps, with the passes made to fail."""
    fresh, w_fresh = rnn()
    want = [float(fresh(XS)) for _ in range(3)]
    assert len(entries(cache_dir)) == 1
    monkeypatch.setattr(sys.modules["graphc.function"], "optimize", None)  # a hit must not run them
    again, w_again = rnn()
    assert [float(again(XS)) for _ in range(3)] == want
    np.testing.assert_array_equal(w_again.value, w_fresh.value)
    ref, _ = rnn(backend="numpy")
    monkeypatch.undo()
    assert want == pytest.approx([float(ref(XS)) for _ in range(3)], rel=1e-5)


def test_a_second_process_starts_from_the_cached_step(cache_dir):
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, {tests!r})
        import graphc
        from test_llvm_stepcache import rnn, XS
        if sys.argv[1] == "warm":
            sys.modules["graphc.function"].optimize = None  # the passes must not run
        fn, w = rnn()
        print([float(fn(XS)) for _ in range(3)])
    """).format(tests=os.path.dirname(__file__))
    env = dict(os.environ, GRAPHC_CACHE_DIR=str(cache_dir))
    cold, warm = (subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, env=env,
                                 timeout=300) for mode in ("cold", "warm"))
    assert cold.returncode == 0 and warm.returncode == 0, cold.stderr + warm.stderr
    assert cold.stdout == warm.stdout and len(entries(cache_dir)) == 1


def test_a_hit_runs_on_the_new_parameters(cache_dir):
    """The entry holds no parameter values: a step with other initial weights reads its own."""
    losses(step())
    rng = np.random.default_rng(5)
    x = gc.placeholder((8, 3), name="x")
    w = gc.parameter(rng.standard_normal((3, 2)).astype(np.float32), name="w")
    loss = gc.mean(gc.square(gc.tanh(x @ w) - 0.5))
    hit = gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w))], backend="llvm")
    assert stepcache.graph_key(graph_of(hit), "O2") == stepcache.graph_key(graph_of(step()), "O2")
    w0 = w.value.copy()
    got = losses(hit)
    w.value = w0
    ref = gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w))], backend="numpy")
    assert got == pytest.approx(losses(ref), rel=1e-5)


def test_the_key_follows_the_graph_not_object_identities():
    keys = {stepcache.graph_key(graph_of(rnn()[0]), "O2") for _ in range(2)}
    assert len(keys) == 1 and None not in keys  # new placeholders, parameters and body each time
    base = keys.pop()
    changed = [graph_of(rnn(scale=0.25)[0]),  # a parameter's value: the same step
               graph_of(rnn(act="sigmoid")[0]),  # the loop body
               graph_of(step()), graph_of(step(act="sigmoid"))]
    assert stepcache.graph_key(changed[0], "O2") == base
    assert stepcache.graph_key(changed[1], "O2") != base
    assert stepcache.graph_key(changed[2], "O2") != stepcache.graph_key(changed[3], "O2")
    assert stepcache.graph_key(changed[2], "O1") != stepcache.graph_key(changed[2], "O2")
    x = gc.placeholder((3,), name="x")
    near = [graph_of(gc.function([x], x * c)) for c in (np.float32(0.1), np.nextafter(np.float32(0.1), 1))]
    assert stepcache.graph_key(near[0], "O2") != stepcache.graph_key(near[1], "O2")  # constants by content
    free = gc.placeholder((None, 3), name="x")
    f = gc.function([free], gc.tanh(free) * 2.0)
    assert stepcache.graph_key(graph_of(f, (2, 3)), "O2") != stepcache.graph_key(graph_of(f, (4, 3)), "O2")


def test_inspection_and_errors_after_a_hit(cache_dir):
    """The kernels come from the passes when asked for: kernel program, report, profile and a
    run-time error naming the user's line all work on a step loaded from the cache."""
    def build():
        t = gc.placeholder((10, 3), "float32", name="t")
        i = gc.placeholder((2,), "int64", name="i")
        return gc.function([t, i], gc.take(t, i, axis=0) * 2.0, backend="llvm")
    table = np.arange(30, dtype=np.float32).reshape(10, 3)
    fresh = build()
    fresh(table, np.array([0, 9]))
    hit = build()
    np.testing.assert_array_equal(hit(table, np.array([1, -1])), table[[1, -1]] * 2.0)
    assert isinstance(hit.variant().executable.program.kernels, stepcache.LazyKernels)
    assert str(hit.kernel_program()) == str(fresh.kernel_program())
    assert [r.name for r in hit.passes_report().records] == [r.name for r in fresh.passes_report().records]
    assert hit.profile(table, np.array([0, 1]), calls=2).kernels
    with pytest.raises(GraphcError, match="out of range") as e:
        hit(table, np.array([0, 10]))
    assert "test_llvm_stepcache.py" in str(e.value)


def test_steps_with_numpy_callbacks_and_checked_builds_are_not_stored(cache_dir):
    a, b = gc.placeholder((3, 4), "int64"), gc.placeholder((4, 2), "int64")
    f = gc.function([a, b], a @ b, backend="llvm")  # an integer product runs through the callback
    np.testing.assert_array_equal(f(np.ones((3, 4), np.int64), np.ones((4, 2), np.int64)), np.full((3, 2), 4))
    losses(step(backend="llvm-checked"))
    assert entries(cache_dir) == []


@settings(max_examples=15, deadline=None)
@given(expressions(), st.integers(0, 1000))
def test_random_graphs_and_gradients_from_the_step_cache_match_numpy(expr, seed):
    """The second function over the same graph is a step-cache hit (the session's cache folder)."""
    (x, y), outputs, (xv, yv) = fuzz_case(expr, seed)
    want = gc.function([x, y], outputs)(xv, yv)
    gc.function([x, y], outputs, backend="llvm")(xv, yv)
    hit = gc.function([x, y], outputs, backend="llvm")
    got = hit(xv, yv)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    if not hit.variant().executable.lowered.fallbacks:
        assert isinstance(hit.variant().executable.program.kernels, stepcache.LazyKernels)
