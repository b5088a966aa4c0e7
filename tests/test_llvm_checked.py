"""The LLVM checked build: a wrong address is a GraphcError naming kernel, op, line, buffer and index.

Kernel programs are corrupted on purpose (a view reaching past its buffer) at
the lowering level; the unchecked build is never run on them.
"""
import dataclasses

import numpy as np
import pytest

import graphc as gc
from graphc.backends.llvm import blas
from graphc.backends.llvm.runtime import Executable


def _program(build, *shapes):
    xs = [gc.placeholder(s, "float64", name=f"x{i}") for i, s in enumerate(shapes)]
    return gc.function(xs, build(*xs)).kernel_program()


def _shift_input(program, kernel, operand, by):
    """The program with one kernel input view moved `by` elements (past its buffer's end when by > 0)."""
    k = program.kernels[kernel]
    views = list(k.inputs)
    views[operand] = dataclasses.replace(views[operand], offset=views[operand].offset + by)
    program.kernels[kernel] = dataclasses.replace(k, inputs=tuple(views))
    return program


@pytest.mark.parametrize("shift,index", [(5, 12), (-1, -1)])
def test_a_view_past_its_buffer_is_caught_with_kernel_op_line_buffer_and_index(shift, index):
    x = gc.placeholder((3, 4), "float64", name="x")
    y = gc.exp(x) * 2.0; line = y.loc.lineno  # noqa: E702 - the line the error must point at
    program = _shift_input(gc.function([x], y).kernel_program(), 0, 0, shift)
    exe = Executable(program, checked=True)
    with pytest.raises(gc.GraphcError) as err:
        exe([np.ones((3, 4))])
    message = str(err.value)
    assert err.value.loc.lineno == line and "y = gc.exp(x) * 2.0" in message
    assert "k0_" in message and "elementwise kernel" in message
    assert f"index {index} is out of bounds for input buffer" in message and "'x' (float64[3, 4])" in message
    assert "holds 12 elements" in message
    # the fault record is cleared: a correct program on the same machine code path still runs
    good = Executable(gc.function([x], y).kernel_program(), checked=True)
    np.testing.assert_allclose(good([np.ones((3, 4))])[0], np.full((3, 4), 2 * np.e), rtol=1e-15)


def test_a_wrong_output_copy_is_caught_without_a_kernel():
    program = _program(lambda a: a.T, (2, 3))
    v = program.outputs[0]
    program.outputs[0] = dataclasses.replace(v, offset=v.offset + 1)
    with pytest.raises(gc.GraphcError, match=r"output0: index 6 is out of bounds for input buffer b\d+ 'x0'"):
        Executable(program, checked=True)([np.zeros((2, 3))])


@pytest.mark.skipif(blas.library() is None, reason="no BLAS: neither NumPy nor SciPy bundles OpenBLAS here")
def test_a_blas_operand_reaching_past_its_buffer_is_caught():
    program = _program(lambda a, b: a @ b, (64, 64), (64, 64))
    (k,) = [i for i, k in enumerate(program.kernels) if k.kind == "matmul"]
    program = _shift_input(program, k, 1, 1)  # B's last element is one past the end
    with pytest.raises(gc.GraphcError, match=r"index 4096 is out of bounds for input buffer b\d+ 'x1'"):
        Executable(program, checked=True)([np.zeros((64, 64)), np.zeros((64, 64))])


@pytest.mark.parametrize("backend", ["llvm", "llvm-checked"])
def test_gather_and_its_gradient_with_bad_indices_raise_not_crash(backend):
    e = gc.parameter(np.arange(6.0).reshape(3, 2), name="e")
    i = gc.placeholder((2,), "int64", name="i")
    rows = gc.take(e, i)
    f = gc.function([i], [rows, gc.grad(gc.sum(rows * rows), e)], backend=backend)
    for bad in ([0, 3], [-4, 1], [2**40, 0]):
        with pytest.raises(gc.GraphcError, match="out of range"):
            f(np.array(bad))
    got, g = f(np.array([-1, 0]))  # negative indices wrap like NumPy; the function still works after errors
    np.testing.assert_array_equal(got, [[4, 5], [0, 1]])
    np.testing.assert_array_equal(g, [[0, 2], [0, 0], [8, 10]])


def test_env_switches_llvm_to_the_checked_build_and_the_checks_are_in_the_cache_key(monkeypatch):
    x = gc.placeholder((4,), "float32", name="x")
    y = gc.sin(x) + 1.0
    plain = gc.function([x], y, backend="llvm").variant()
    monkeypatch.setenv("GRAPHC_LLVM_CHECKED", "1")
    env = gc.function([x], y, backend="llvm").variant()
    monkeypatch.delenv("GRAPHC_LLVM_CHECKED")
    named = gc.function([x], y, backend="llvm-checked").variant()
    assert plain.executable.lowered.sites is None and "graphc_fault" not in plain.executable.llvm_ir()
    for v in (env, named):
        assert v.executable.lowered.sites and "graphc_fault" in v.executable.llvm_ir()
        assert v.executable.machine is not plain.executable.machine
    assert env.executable.machine is named.executable.machine
    xv = np.linspace(-2, 2, 4, dtype=np.float32)
    np.testing.assert_array_equal(env.executable([xv])[0], plain.executable([xv])[0])


def test_checked_and_unchecked_builds_train_alike():
    """The unchecked smoke test of this file: three SGD steps of an MLP agree between both builds."""
    from shared import mlp_step
    rng = np.random.default_rng(3)
    xv, yv = rng.standard_normal((16, 2)).astype(np.float32), rng.standard_normal((16, 1)).astype(np.float32)
    runs = []
    for backend in ("llvm", "llvm-checked"):
        f, params = mlp_step(backend)
        runs.append(([f(xv, yv) for _ in range(3)], [p.value.copy() for p in params]))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-6)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_fault_in_a_native_scan_body_names_the_scan_line(monkeypatch):
    from graphc.backends.llvm import loop

    def corrupted(body, shapes):  # the body's first kernel reads its first input one element too far
        program = body_program(body, shapes)
        program = dataclasses.replace(program, kernels=list(program.kernels))
        return _shift_input(program, 0, 0, 4)

    body_program = loop.body_program
    monkeypatch.setattr(loop, "body_program", corrupted)
    x = gc.placeholder((5, 4), "float64", name="x")
    ys = gc.scan(lambda h, xt: gc.tanh(h * 0.5 + xt), gc.constant(np.zeros(4)), [x]); line = ys.loc.lineno  # noqa: E702
    f = gc.function([x], ys, backend="llvm-checked")
    assert f.variant().executable.lowered.loops  # the loop runs natively, not through the callback
    with pytest.raises(gc.GraphcError, match=r"in the body of scan: .*index 4 is out of bounds .*holds 4 elements") \
            as err:
        f(np.ones((5, 4)))
    assert err.value.loc.lineno == line
