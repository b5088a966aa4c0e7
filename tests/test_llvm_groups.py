"""Loop fusion across kernels (backends/llvm/groups.py) and the kernel order that feeds it
(graphc/schedule/order.py): values against NumPy, and the cases that must not share a loop."""
import numpy as np
import pytest

import graphc as gc
from shared import fuzz_case
from graphc.schedule import Kernel, View
from graphc.schedule.order import cluster_elementwise
from graphc.schedule.program import Buffer


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def _lowered(f):
    return f._last.executable.lowered


def test_chain_of_elementwise_kernels_runs_as_one_loop(rng):
    """Outputs that are all needed stay separate kernels; their loop passes each value on in a register.
    Mixed dtypes (a bool mask, float64) and a broadcast row read from outside the group."""
    x = gc.placeholder((37, 29), "float64", name="x")
    r = gc.placeholder((29,), "float64", name="r")
    a = gc.exp(x) + r
    mask = a > 2.0
    b = gc.where(mask, a * 3.0, -a)
    c = gc.tanh(b) * a
    f = gc.function([x, r], [a, mask, b, c], backend="llvm")
    xv, rv = rng.standard_normal((37, 29)), rng.standard_normal(29)
    got = f(xv, rv)
    av = np.exp(xv) + rv
    bv = np.where(av > 2.0, av * 3.0, -av)
    for g, want in zip(got, [av, av > 2.0, bv, np.tanh(bv) * av]):
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12)
    program = f.kernel_program()
    assert len(program.kernels) == 4 and _lowered(f).grouped == {1: 0, 2: 0, 3: 0}
    assert "k0_to_k3_group" in f.llvm_ir()


def test_a_transposed_read_of_a_group_output_keeps_its_own_loop(rng):
    """b reads a at the transposed element, which one loop would read before writing it."""
    x = gc.placeholder((8, 8), "float32", name="x")
    a = gc.exp(x)
    f = gc.function([x], [a, gc.transpose(a) * 2.0 + x], backend="llvm")
    xv = rng.standard_normal((8, 8)).astype(np.float32)
    a_out, b_out = f(xv)
    assert len(f.kernel_program().kernels) == 2 and _lowered(f).grouped == {}
    np.testing.assert_allclose(b_out, np.exp(xv).T * 2.0 + xv, rtol=1e-5, atol=1e-6)


def test_a_parameter_read_transposed_then_updated_in_place_keeps_two_loops(rng):
    """The update writes p in place; the output reads p transposed, so one loop would read new values."""
    x = gc.placeholder((8, 8), "float32", name="x")
    p = gc.parameter(rng.standard_normal((8, 8)).astype(np.float32), name="p")
    f = gc.function([x], gc.exp(gc.transpose(p)) + x, updates=[(p, p * 0.5 + x)], backend="llvm")
    xv, p0 = rng.standard_normal((8, 8)).astype(np.float32), p.value.copy()
    out = f(xv)
    assert f.kernel_program().plan.in_place and _lowered(f).grouped == {}
    np.testing.assert_allclose(out, np.exp(p0.T) + xv, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p.value, p0 * 0.5 + xv, rtol=1e-6, atol=1e-7)


def test_a_member_writing_arena_bytes_another_member_reads_keeps_its_own_loop():
    """The gradient of a max: mask = x == max(x), then cast(mask). The cast's output reuses the arena
    bytes of the row maxima, which the comparison has read for every row before the cast runs; in one
    loop the cast's first row would overwrite maxima not yet read (found by the fuzz test)."""
    (x, y), outputs, (xv, yv) = fuzz_case((10, "x"), 0)
    f = gc.function([x, y], outputs, backend="llvm")
    got = f(xv, yv)
    for a, b in zip(got, gc.function([x, y], outputs)(xv, yv)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    program = f.kernel_program()
    compare, cast = (i for i, k in enumerate(program.kernels) if k.name in ("equal", "cast"))
    assert cast == compare + 1 and _lowered(f).grouped == {}
    maxima = program.kernels[compare].inputs[1].buffer
    assert program.plan.offsets[program.kernels[cast].output] == program.plan.offsets[maxima]


def _adam_step(backend: str):
    model = gc.nn.MLP([12, 10, 4], activation="tanh", rng=5)
    x, y = gc.placeholder((16, 12), "float32"), gc.placeholder((16, 4), "float32")
    loss = gc.losses.cross_entropy(model(x), y)
    opt = gc.optim.Adam(model, lr=1e-2)
    return gc.function([x, y], loss, updates=opt.updates(loss), backend=backend), opt


def test_adam_updates_each_weight_and_its_moments_in_one_loop(rng):
    """The scheduler puts m, v and the parameter update of each weight next to each other (the step
    count's scalars go first), and the LLVM backend runs them as one loop; steps match NumPy's."""
    xv = rng.standard_normal((16, 12)).astype(np.float32)
    yv = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 16)]
    (ref, ref_opt), (step, opt) = _adam_step("numpy"), _adam_step("llvm")
    for _ in range(4):
        np.testing.assert_allclose(float(step(xv, yv)), float(ref(xv, yv)), rtol=1e-5)
    for p, r in zip(opt.params, ref_opt.params):
        np.testing.assert_allclose(p.value, r.value, rtol=1e-4, atol=1e-6)
    program = step.kernel_program()
    producer = {k.output: i for i, k in enumerate(program.kernels)}
    state = {id(b.data): b.id for b in program.buffers if b.role == "param"}
    value = {param: v.buffer for param, v in program.updates}
    grouped = _lowered(step).grouped
    for p, slots in zip(opt.params, opt.slots):
        writers = sorted(producer[value[state[id(t.op.state)]]] for t in (p, slots["m"], slots["v"]))
        assert writers == list(range(writers[0], writers[0] + 3))
        first = grouped.get(writers[0], writers[0])
        assert all(grouped.get(i, i) == first for i in writers)


def _stacked(t):
    a = gc.exp(t)
    return a, gc.concatenate([gc.tanh(t) * a, a], axis=1)


def _stacked_ref(tv):
    return np.concatenate([np.tanh(tv) * np.exp(tv), np.exp(tv)], axis=1)


def test_a_loop_writes_its_outputs_into_the_concatenation_of_them(rng):
    """An LSTM cell's gates and states, stacked for the backward pass: the loop stores each piece in its
    place in the concatenation (here the output array), which then copies nothing."""
    x = gc.placeholder((16, 24), "float32", name="x")
    f = gc.function([x], _stacked(x)[1], backend="llvm")
    xv = rng.standard_normal((16, 24)).astype(np.float32)
    np.testing.assert_allclose(f(xv), _stacked_ref(xv), rtol=1e-5, atol=1e-6)
    assert [k.kind for k in f.kernel_program().kernels] == ["elementwise", "elementwise", "copy"]
    assert _lowered(f).grouped == {1: 0, 2: 0}


def test_a_piece_read_elsewhere_keeps_the_concatenation(rng):
    x = gc.placeholder((16, 24), "float32", name="x")
    a, stacked = _stacked(x)
    f = gc.function([x], [stacked, gc.sum(a, axis=0)], backend="llvm")
    xv = rng.standard_normal((16, 24)).astype(np.float32)
    out, total = f(xv)
    np.testing.assert_allclose(out, _stacked_ref(xv), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(total, np.exp(xv).sum(axis=0), rtol=1e-5)
    assert _lowered(f).grouped == {1: 0}


def test_a_concatenation_sharing_memory_with_what_the_loop_reads_keeps_its_copy(rng):
    """The stacked result reuses the arena bytes of the product the loop reads: written early, it
    would overwrite the loop's input."""
    x, w = gc.placeholder((16, 24), "float32", name="x"), gc.placeholder((24, 24), "float32", name="w")
    f = gc.function([x, w], gc.sum(_stacked(x @ w)[1], axis=1), backend="llvm")
    xv = (rng.standard_normal((16, 24)) * 0.3).astype(np.float32)
    wv = (rng.standard_normal((24, 24)) * 0.3).astype(np.float32)
    np.testing.assert_allclose(f(xv, wv), _stacked_ref(xv @ wv).sum(axis=1), rtol=1e-5)
    program = f.kernel_program()
    product, stacked = program.kernels[0], program.kernels[3]
    assert stacked.name == "concatenate" and 3 not in _lowered(f).grouped
    start, end = (program.plan.offsets[stacked.output] + d for d in (0, program.buffers[stacked.output].nbytes))
    assert start < program.plan.offsets[product.output] + program.buffers[product.output].nbytes and \
        program.plan.offsets[product.output] < end


def test_checked_builds_keep_one_function_per_kernel(rng):
    x = gc.placeholder((5, 6), "float32", name="x")
    a = gc.exp(x)
    f = gc.function([x], [a, a * a + 1.0], backend="llvm-checked")
    xv = rng.standard_normal((5, 6)).astype(np.float32)
    np.testing.assert_allclose(f(xv)[1], np.exp(xv) ** 2 + 1.0, rtol=1e-5)
    assert _lowered(f).grouped == {}


def test_profile_puts_a_loops_time_on_its_first_kernel(rng):
    x = gc.placeholder((64, 64), "float32", name="x")
    a = gc.exp(x)
    f = gc.function([x], [a, gc.sqrt(a) + 1.0], backend="llvm")
    xv = rng.standard_normal((64, 64)).astype(np.float32)
    f(xv)
    first, second = f.profile(xv, calls=5).kernels
    assert first.group is None and first.seconds > 0
    assert second.group == 0 and second.seconds == 0 and "(in k0's loop)" in str(second)


def _kernel(kind: str, inputs: tuple[int, ...], output: int, shapes: dict[int, tuple]) -> Kernel:
    return Kernel(kind, None, tuple(View.contiguous(b, shapes[b]) for b in inputs), output)


def test_cluster_elementwise_sinks_kernels_to_the_next_of_their_shape():
    """m (b2) and v (b3) sink past the scalar kernels (b4, b5) to the update (b6) that reads them all."""
    shapes = {0: (4, 3), 1: (), 2: (4, 3), 3: (4, 3), 4: (), 5: (), 6: (4, 3)}
    buffers = [Buffer(b, s, "float32", "temp" if b > 1 else "input") for b, s in shapes.items()]
    m, v = _kernel("elementwise", (0,), 2, shapes), _kernel("elementwise", (0,), 3, shapes)
    s1, s2 = _kernel("elementwise", (1,), 4, shapes), _kernel("reduce", (0,), 5, shapes)
    p = _kernel("elementwise", (2, 3, 4, 5), 6, shapes)
    assert [k.output for k in cluster_elementwise([m, s1, v, s2, p], buffers)] == [4, 5, 2, 3, 6]


def test_cluster_elementwise_keeps_a_kernel_before_a_reader_of_its_output():
    shapes = {0: (4,), 1: (4,), 2: (), 3: (4,)}
    buffers = [Buffer(b, s, "float32", "temp" if b else "input") for b, s in shapes.items()]
    a = _kernel("elementwise", (0,), 1, shapes)
    total = _kernel("reduce", (1,), 2, shapes)  # reads a
    c = _kernel("elementwise", (0, 2), 3, shapes)
    assert [k.output for k in cluster_elementwise([a, total, c], buffers)] == [1, 2, 3]
