"""Traversals are iterative: a 100,000-node chain builds, differentiates and runs.

The reference backend runs it unoptimized here; the passes' own scaling is checked on a
smaller chain in test_passes.py.
"""
import re
import sys

import numpy as np

import graphc as gc
from graphc.testing.models import deep_tanh_mlp


def test_hundred_thousand_node_chain():
    assert sys.getrecursionlimit() < 100_000
    x = gc.placeholder((), "float64", "x")
    y = x
    for i in range(50_000):
        y = y * 0.99999 + 1e-6 if i % 2 else gc.sin(y) * 0.5 + y * 0.5
    g = gc.grad(y, x)
    f = gc.function([x], [y, g], optimize="O0", backend="numpy")  # the reference (llvm: minutes of compile)
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
    x, loss, updates = deep_tanh_mlp(layers)
    return gc.function([x], loss, updates=updates, backend=backend)


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


def _chain(steps: int) -> tuple[gc.Tensor, list[gc.Tensor]]:
    """The scalar recurrence above, `steps` steps, with its derivative: at O0 one kernel per node."""
    x = gc.placeholder((), "float64", "x")
    y = x
    for i in range(steps):
        y = y * 0.99999 + 1e-6 if i % 2 else gc.sin(y) * 0.5 + y * 0.5
    return x, [y, gc.grad(y, x)]


def test_o0_scheduling_and_ir_generation_work_grow_about_linearly():
    """At O0 (no fusion) every node is a kernel, and `run` makes a call per kernel: scheduling and the
    LLVM IR generation must each do about 4x the work for 4x the kernels."""
    from graphc.backends.llvm.lowering import lower_program
    from graphc.schedule import lower
    graphs = [gc.function(*_chain(steps), optimize="O0", backend="numpy").optimized_graph() for steps in (250, 1000)]
    programs = [lower(g) for g in graphs]
    assert len(programs[1].kernels) > 3.9 * len(programs[0].kernels)
    schedule = [_python_events(lambda g=g: lower(g)) for g in graphs]
    ir = [_python_events(lambda p=p: lower_program(p, blas=0)) for p in programs]
    assert schedule[1] < 4.6 * schedule[0], schedule
    assert ir[1] < 4.6 * ir[0], ir


def _calls_per_function(ir: str) -> dict[str, int]:
    """Calls of kernel functions (and of `run`'s parts) in each function defined in the IR."""
    counts, name = {}, None
    for line in ir.splitlines():
        if line.startswith("define "):
            name = line.split("@")[1].split("(")[0].strip('"')
            counts[name] = 0
        elif name is not None and re.search(r'call i32 @"(k\d|run\.part|output|stage|update)', line):
            counts[name] += 1
    return counts


def test_a_long_program_runs_as_parts_of_bounded_size(monkeypatch):
    """`run` called every kernel itself: 100,000 calls in one function, on which LLVM's CFG simplification
    and instruction selection grow faster than the calls (O0 chain: 0.4 s of LLVM at 10,000 nodes,
    7.9 s at 100,000). A long program's `run` calls parts of a bounded number of calls instead."""
    from graphc.backends.llvm import parts
    monkeypatch.setenv("GRAPHC_CACHE", "0")  # the split is not in the cache key: build it here
    monkeypatch.setattr(parts, "SPLIT_ABOVE", 40)
    monkeypatch.setattr(parts, "PART_CALLS", 8)
    x, outs = _chain(30)
    f = gc.function([x], outs, optimize="O0", backend="llvm")
    ref = gc.function([x], outs, optimize="O0", backend="numpy")
    np.testing.assert_allclose(f(0.3), ref(0.3), rtol=1e-12)
    counts = _calls_per_function(f.llvm_ir())
    kernels = len(f.kernel_program().kernels)
    assert kernels > 40
    assert max(counts.values()) <= 8, counts
    assert counts["run"] >= kernels // 12 // 8, counts  # a part per 8 calls (a call runs up to 12 grouped kernels)


def test_loop_grouping_work_grows_about_linearly_with_concatenations():
    """Whether a group's loop may write into the concatenation after it (an LSTM cell's gates, stacked for
    the backward pass) looked at every kernel of the program, per concatenation: 4x the blocks, 11x the work."""
    from graphc.backends.llvm.aliasing import Memory
    from graphc.backends.llvm.groups import kernel_groups
    from graphc.schedule import lower

    def program(blocks: int):
        x = gc.placeholder((4, 8), "float32", "x")
        h, stacked = x, []
        for _ in range(blocks):
            a, b = gc.tanh(h), gc.sigmoid(h)
            stacked.append(gc.concatenate([a, b], axis=1))
            h = a * b
        f = gc.function([x], gc.sum(gc.concatenate(stacked, axis=1)), optimize="O0", backend="numpy")
        return lower(f.optimized_graph())
    programs = [program(blocks) for blocks in (25, 100)]
    assert [p.counts()["copy"] for p in programs] == [26, 101]
    small, large = (_python_events(lambda p=p: kernel_groups(p, lambda b: p.plan.in_place.get(b, b), Memory(p)))
                    for p in programs)
    assert large < 4.6 * small, (small, large)
