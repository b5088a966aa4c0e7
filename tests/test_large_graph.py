"""Traversals are iterative: a 100,000-node chain builds, differentiates and runs.

The reference backend runs it unoptimized here; the passes' own scaling is checked on a
smaller chain in test_passes.py.
"""
import sys

import numpy as np

import graphc as gc


def test_hundred_thousand_node_chain():
    assert sys.getrecursionlimit() < 100_000
    x = gc.placeholder((), "float64", "x")
    y = x
    for i in range(50_000):
        y = y * 0.99999 + 1e-6 if i % 2 else gc.sin(y) * 0.5 + y * 0.5
    g = gc.grad(y, x)
    f = gc.function([x], [y, g], optimize="O0")
    value, slope = f(0.3)
    # The same recurrence in NumPy, with the derivative by the chain rule.
    v, d = 0.3, 1.0
    for i in range(50_000):
        if i % 2:
            v, d = v * 0.99999 + 1e-6, d * 0.99999
        else:
            v, d = np.sin(v) * 0.5 + v * 0.5, d * (np.cos(v) * 0.5 + 0.5)
    assert len(f.graph) > 100_000
    np.testing.assert_allclose([value, slope], [v, d], rtol=1e-9)


def _deep_mlp_step(layers: int, backend: str = "llvm") -> gc.Function:
    """SGD on a tanh MLP `layers` deep: activations live from the forward to the backward pass."""
    rng = np.random.default_rng(0)
    x = gc.placeholder((4, 8), "float32", "x")
    h, params = x, []
    for _ in range(layers):
        w = gc.parameter(rng.uniform(-0.3, 0.3, (8, 8)).astype(np.float32))
        b = gc.parameter(np.zeros(8, np.float32))
        params += [w, b]
        h = gc.tanh(h @ w + b)
    loss = gc.mean(h * h)
    grads = gc.grad(loss, params)
    return gc.function([x], loss, updates=[(p, p - 0.01 * g) for p, g in zip(params, grads)], backend=backend)


def _python_events(run) -> int:
    """Python calls (generator steps included) made by run(): a count of work that does not depend on
    the machine's speed."""
    n = 0

    def count(frame, event, arg):
        nonlocal n
        n += 1
    sys.setprofile(count)
    try:
        run()
    finally:
        sys.setprofile(None)
    return n


def test_scheduling_work_grows_about_linearly_with_the_graph():
    """Kernel order and memory planning compared each kernel with every later one, and each temporary
    with every placed one: 4x the layers made 8x the work (quadratic), 100k-node graphs minutes."""
    from graphc.passes import optimize
    from graphc.schedule import lower
    graphs = [optimize(_deep_mlp_step(layers).graph, "O2")[0] for layers in (25, 100)]
    small, large = (_python_events(lambda g=g: lower(g)) for g in graphs)
    assert len(graphs[1]) > 3.9 * len(graphs[0])
    assert large < 6 * small, (small, large)


def test_equal_layers_share_one_kernel_function():
    """LLVM's time grows with the code it compiles: kernels whose code is the same (every layer of a
    deep network) are one function, called once per layer, so a deeper network adds calls, not code."""
    shallow, deep, ref = _deep_mlp_step(8), _deep_mlp_step(32), _deep_mlp_step(32, "numpy")
    x = np.ones((4, 8), np.float32)
    for _ in range(2):  # the second step reads the parameters the first one's shared kernels updated
        np.testing.assert_allclose(deep(x), ref(x), rtol=1e-5)
    shallow(x)
    kernels = [len(f.kernel_program().kernels) for f in (shallow, deep)]
    defines = [f.llvm_ir().count("\ndefine ") for f in (shallow, deep)]
    assert kernels[1] > 3.5 * kernels[0]
    assert defines[1] <= defines[0] + 1, defines
