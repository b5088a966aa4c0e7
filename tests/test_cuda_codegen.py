"""The cuda backend without a GPU: real PTX compiles, host-grid emulation against NumPy, runtime errors.

(a) every kernel kind the scheduler emits is generated for sm_80 and sm_90 and
assembled by ptxas (skipped with the reason when ptxas or libdevice is
missing); (b) backend="cuda-emulate" runs the same kernels compiled for the
host over an emulated grid and must match the NumPy reference (float32 rtol
1e-5: only the math library differs); (c) a missing CuPy / driver / GPU is an
actionable BackendError, and `import graphc` never imports CuPy.
"""
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import graphc as gc
from graphc.backends import cuda
from graphc.backends.cuda import nvptx, runtime
from graphc.backends.cuda.executable import Resident
from graphc.backends.cuda.lowering import lower_program
from graphc.backends.cuda.steps import Host
from graphc.ir import BackendError, GraphcError
from graphc.schedule.lower import KINDS
from shared import CASES, R, adam_run, assert_same, case_function

#: kinds that run on the host on cuda (copied there, the op's NumPy rule, copied back)
HOST_KINDS = {"loop", "generic"}


def _program(case: str):
    fn, _ = case_function(case, "numpy")
    return fn.kernel_program()


def test_the_cases_cover_every_kernel_kind():
    kinds = set()
    for case in CASES:
        kinds |= set(_program(case).counts())
    assert set(KINDS) <= kinds


def test_only_host_kinds_fall_back():
    for case in CASES:
        program = _program(case)
        lowered = lower_program(program)
        for step in lowered.steps:
            if isinstance(step, Host):
                assert program.kernels[step.index].kind in HOST_KINDS, (case, lowered.fallbacks)


# -- (a) PTX assembled by ptxas --------------------------------------------------------------------

def _ptxas() -> str:
    path = shutil.which("ptxas")
    if path is None:
        pytest.skip("ptxas (CUDA toolkit 13.0) is not on the PATH")
    if nvptx.libdevice_path() is None:
        pytest.skip("the CUDA toolkit's libdevice.10.bc was not found (set CUDA_HOME)")
    return path


@pytest.mark.parametrize("arch", nvptx.ARCHS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_ptx_assembles_with_one_entry_per_kernel(case, arch, tmp_path):
    ptxas = _ptxas()
    program = _program(case)
    lowered = lower_program(program)
    ptx = cuda.generate_ptx(program, arch)
    version = re.search(r"^\.version (\d+)\.(\d+)", ptx, re.M)
    assert version and (int(version[1]), int(version[2])) <= (9, 0)
    assert re.search(rf"^\.target {arch}\b", ptx, re.M)
    entries = re.findall(r"^\.visible \.entry (\w+)\(", ptx, re.M)
    assert sorted(entries) == sorted(lowered.entries)
    assert ".extern .func" not in ptx  # libdevice is linked in: nothing is left to resolve
    path = tmp_path / f"{case}.ptx"
    path.write_text(ptx)
    done = subprocess.run([ptxas, f"-arch={arch}", "-v", str(path), "-o", str(tmp_path / "out.cubin")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("Compiling entry function") == len(lowered.entries)


def test_large_reductions_use_block_cooperative_kernels_on_the_gpu():
    program = _program("reduce_cooperative")
    gpu, host = lower_program(program), lower_program(program, host=True)
    reductions = [s for s in gpu.steps if program.kernels[s.index].kind == "reduce"]
    assert len(reductions) == 3 and all(s.per_block for s in reductions)
    assert not any(s.per_block for s in host.steps)
    ptx = cuda.generate_ptx(program, "sm_90")
    assert ptx.count("bar.sync") >= 6 and "shfl.sync.down.b32" in ptx and ".shared" in ptx


def test_without_libdevice_exp_is_inline_and_sin_runs_on_the_host(monkeypatch, tmp_path):
    ptxas = _ptxas()
    monkeypatch.setattr(nvptx, "libdevice_path", lambda: None)
    x = gc.placeholder((4, 5), "float32")
    program = gc.function([x], [gc.exp(x) + gc.tanh(x), gc.sin(x) * 2.0]).kernel_program()
    lowered = lower_program(program)
    assert [program.kernels[i].node.op.name for i in lowered.fallbacks] == ["fused"]
    assert "libdevice" in next(iter(lowered.fallbacks.values()))
    ptx = cuda.generate_ptx(program, "sm_90")
    assert "__nv_" not in ptx and len(lowered.entries) == 1
    (tmp_path / "k.ptx").write_text(ptx)
    cmd = [ptxas, "-arch=sm_90", str(tmp_path / "k.ptx"), "-o", str(tmp_path / "k.cubin")]
    assert subprocess.run(cmd).returncode == 0


def test_ptx_of_a_function_is_inspectable():
    fn, arrays = case_function("elementwise", "numpy")
    fn(*arrays)
    ptx = fn.ptx(arch="sm_80")
    assert ".target sm_80" in ptx and ".visible .entry k0_fused" in ptx


# -- (b) host-grid emulation against the NumPy reference ---------------------------------------

@pytest.mark.parametrize("case", sorted(CASES))
def test_emulated_grid_matches_numpy(case):
    ref, arrays = case_function(case, "numpy")
    emu, _ = case_function(case, "cuda-emulate")
    assert_same(emu(*arrays), ref(*arrays))


def test_grouped_convolution_runs_on_the_host():
    x, w = gc.placeholder((2, 4, 6, 6), "float32"), gc.parameter(R.standard_normal((6, 2, 3, 3)).astype(np.float32))
    y = gc.conv2d(x, w, groups=2)
    f = gc.function([x], y, backend="cuda-emulate")
    lowered = lower_program(f.kernel_program())
    assert [type(s).__name__ for s in lowered.steps] == ["Host"] and "groups=2" in lowered.fallbacks[0]
    xv = R.standard_normal((2, 4, 6, 6)).astype(np.float32)
    assert_same(f(xv), gc.function([x], y)(xv))


def test_random_numbers_reproduce_philox_bit_for_bit():
    key = gc.placeholder((2,), "int64")
    outs = [gc.random_uniform(key, (1001,)), gc.random_uniform(key, (3, 333), "float64", stream=5)]
    ref = gc.function([key], outs)
    emu = gc.function([key], outs, backend="cuda-emulate")
    for k in ([0, 0], [2 ** 40 + 3, 2 ** 33 + 9], [-5, 123]):
        for g, w in zip(emu(np.array(k, np.int64)), ref(np.array(k, np.int64))):
            np.testing.assert_array_equal(g, w)


def test_large_elementwise_strides_over_the_grid():
    """Far more elements than emulated threads: each thread strides through many items."""
    x = np.linspace(-3, 3, 5000).astype(np.float32)
    p = gc.placeholder((5000,), "float32")
    got = gc.function([p], gc.tanh(p) * 3.0, backend="cuda-emulate")(x)
    np.testing.assert_allclose(got, np.tanh(x) * 3.0, rtol=1e-5, atol=1e-6)


def test_training_keeps_parameters_resident_and_matches_numpy():
    ref_losses, ref_params = adam_run("numpy")
    losses, params = adam_run("cuda-emulate")
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-4)
    assert all(isinstance(p.op.state.owner, Resident) for p in params)  # not copied back between steps
    for p, r in zip(params, ref_params):
        np.testing.assert_allclose(p.value, r.value, rtol=1e-3, atol=1e-5)
        assert p.op.state.owner is None  # reading .value brought it back to the host


def test_host_writes_reach_the_device_and_swaps_read_old_values():
    results = []
    for backend in ("numpy", "cuda-emulate"):
        a, b = gc.parameter(np.arange(3.0), "a"), gc.parameter(np.arange(3.0) + 10, "b")
        x = gc.placeholder((3,), "float64")
        f = gc.function([x], a * 1.0, updates=[(a, b), (b, a + x)], backend=backend)
        first = np.asarray(f(np.ones(3))).copy()
        a.value = np.array([5.0, 6.0, 7.0])  # a host write after a call: the next call must see it
        second = np.asarray(f(np.ones(3))).copy()
        results.append((first, second, a.value.copy(), b.value.copy()))
    for g, w in zip(*results):
        np.testing.assert_array_equal(g, w)


def test_out_of_range_index_is_a_graphc_error():
    x = gc.placeholder((10, 3), "float32")
    i = gc.placeholder((2,), "int64")
    f = gc.function([x, i], gc.take(x, i, axis=0), backend="cuda-emulate")
    with pytest.raises(GraphcError, match="out of range"):
        f(np.zeros((10, 3), np.float32), np.array([0, 10], np.int64))
    np.testing.assert_array_equal(f(np.ones((10, 3), np.float32), np.array([9, -10]))[0], np.ones(3))



@pytest.mark.parametrize("level", ["O0", "O1", "O2"])
def test_the_first_out_of_range_index_is_reported_as_the_reference_does(level):
    """A take and its gradient's scatter_add both meet index 2 of 1 row: the status word keeps the first
    failing kernel (it kept the last, and scatter_add's NumPy rule gave a bare IndexError; fuzz seed 0, 280)."""
    x, i = gc.placeholder((1,), "float64"), gc.placeholder((1,), "int32")
    cost = gc.sum(gc.sin(gc.take(x, i, axis=0)))
    for backend in ("numpy", "cuda-emulate"):
        f = gc.function([x, i], [cost, gc.grad(cost, x)], backend=backend, optimize=level)
        with pytest.raises(gc.IndexRangeError, match=r"take: index 2 at position \[0\] .* out of range \[-1, 1\)"):
            f(np.array([-0.5]), np.array([2], np.int32))


def test_scatter_add_checks_its_indices_as_take_does():
    from graphc.ops.index import ScatterAdd
    with pytest.raises(gc.IndexRangeError, match=r"scatter_add: index -3 at position \[1\] .* \[-2, 2\) for axis 0"):
        ScatterAdd(0).numpy(np.ones(2), np.array([1, -3]), np.zeros(2))

# -- (c) what a machine without a GPU says -------------------------------------------------------

def test_import_graphc_does_not_import_cupy(tmp_path):
    """A stand-in `cupy` first on the path leaves a mark when imported: graphc must not leave it (the check
    means something without a real CuPy too), and a plain `import cupy` must (the stand-in works)."""
    (tmp_path / "cupy").mkdir()
    mark = tmp_path / "imported"
    (tmp_path / "cupy" / "__init__.py").write_text(f"open({str(mark)!r}, 'w').close()\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    check = "import sys, graphc, graphc.backends.cuda; assert 'cupy' not in sys.modules"
    subprocess.run([sys.executable, "-c", check], check=True, env=env)
    assert not mark.exists()
    subprocess.run([sys.executable, "-c", "import cupy"], check=True, env=env)
    assert mark.exists()


def test_missing_cupy_is_named_with_the_install_command(monkeypatch):
    real = runtime.importlib.import_module

    def no_cupy(name, *args):
        if name == "cupy":
            raise ImportError("No module named 'cupy'")
        return real(name, *args)
    monkeypatch.setattr(runtime.importlib, "import_module", no_cupy)
    x = gc.placeholder((2,), "float32")
    with pytest.raises(BackendError, match=r"CuPy is not installed.*graphc\[cuda\]"):
        gc.function([x], x * 1.0, backend="cuda")
    assert "CuPy" in gc.backends.status()["cuda"]


def test_missing_driver_or_gpu_is_named():
    why = runtime.unavailable()
    if why is None:
        pytest.skip("this machine has a usable GPU")
    assert gc.backends.status()["cuda"] == why
    assert any(word in why for word in ("CuPy", "libcuda", "GPU", "libdevice"))
    x = gc.placeholder((2,), "float32")
    with pytest.raises(BackendError, match="backend 'cuda' is not available"):
        gc.function([x], x * 2.0, backend="cuda")


def test_lenet_momentum_steps_match_numpy():
    """W4's network (convolutions, pooling, dense layers, softmax CE, SGD momentum) at batch 4."""
    from graphc.bench import fw_graphc, workloads
    p = workloads.problem("W4")
    p = workloads.Problem(p.workload, p.params, p.x[:4], p.y[:4])
    ref, emu = fw_graphc.build(p, "numpy"), fw_graphc.build(p, "cuda-emulate")
    np.testing.assert_allclose([float(np.asarray(emu())) for _ in range(3)], [float(ref()) for _ in range(3)],
                               rtol=1e-4)


def test_host_arrays_are_not_device_inputs():
    """Function._convert asks the cuda backend about each argument; NumPy and Python data stay on its usual path."""
    x = gc.placeholder((3,), "float32")
    for value in (np.ones(3, np.float32), [1.0, 2.0, 3.0], 2.5):
        assert cuda.BACKEND.device_input(value, x, "input x") is None


@pytest.mark.parametrize("workload", ["W3", "W4"])
def test_benchmark_steps_run_entirely_on_the_gpu_and_assemble(workload, tmp_path):
    """The training steps bench_cuda.py times: no host fallback, and ptxas accepts every kernel."""
    from graphc.bench import fw_graphc, workloads
    ptxas = _ptxas()
    p = workloads.problem(workload)
    net = fw_graphc.model(p)
    x, y = gc.placeholder(p.x.shape, "float32"), gc.placeholder(p.y.shape, "float32")
    loss = gc.losses.cross_entropy(net(x), y)
    opt = gc.optim.Adam(net, lr=1e-3) if p.workload.optimizer == "adam" else gc.optim.SGD(net, lr=0.01, momentum=0.9)
    program = gc.function([x, y], loss, updates=opt.updates(loss)).kernel_program()
    lowered = lower_program(program)
    assert not lowered.fallbacks
    path = tmp_path / "step.ptx"
    path.write_text(cuda.generate_ptx(program, "sm_90"))
    done = subprocess.run([ptxas, "-arch=sm_90", str(path), "-o", str(tmp_path / "step.cubin")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
