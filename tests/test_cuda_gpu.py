"""The cuda backend on a real GPU (marker gpu; skipped with the reason on machines without one).

The same graphs as tests/test_cuda_codegen.py run on backend="cuda" against the
NumPy reference (float32 rtol 1e-5 as for LLVM: libdevice's exp/log are within
2 ulp, sums accumulate in double); the backend-parameterized suite joins through
the `backend` fixture in conftest.py when a GPU is present.
"""
import numpy as np
import pytest

import graphc as gc
from graphc.backends.cuda import runtime, to_numpy

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(runtime.unavailable() is not None, reason=f"no GPU: {runtime.unavailable()}")]

from shared import CASES, adam_run, assert_same, case_function  # noqa: E402


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_kernel_kind_matches_numpy(case):
    ref, arrays = case_function(case, "numpy")
    fn, _ = case_function(case, "cuda")
    want, got = ref(*arrays), fn(*arrays)
    assert_same([to_numpy(g) for g in (got if isinstance(got, (list, tuple)) else [got])], want)


def test_outputs_are_device_arrays_and_device_inputs_are_used_in_place():
    import cupy
    x = gc.placeholder((1000,), "float32")
    f = gc.function([x], gc.tanh(x) * 2.0, backend="cuda")
    host = np.linspace(-2, 2, 1000).astype(np.float32)
    out = f(cupy.asarray(host))
    assert isinstance(out, cupy.ndarray)
    assert ".visible .entry" in f.variant().executable.source()  # the PTX the driver loaded
    np.testing.assert_allclose(out.get(), np.tanh(host) * 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(f(host)), np.tanh(host) * 2, rtol=1e-5, atol=1e-6)
    with pytest.raises(gc.InputError, match="float64"):
        f(cupy.asarray(host, dtype="float64"))


def test_torch_cuda_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    x = gc.placeholder((4, 3), "float32")
    f = gc.function([x], gc.sum(x, axis=0), backend="cuda")
    t = torch.arange(12, dtype=torch.float32, device="cuda").reshape(4, 3)
    np.testing.assert_allclose(to_numpy(f(t)), t.sum(0).cpu().numpy())


def test_training_keeps_parameters_on_the_device_and_matches_numpy():
    from graphc.backends.cuda.executable import Resident
    ref_losses, ref_params = adam_run("numpy")
    losses, params = adam_run("cuda")
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-4)
    assert all(isinstance(p.op.state.owner, Resident) for p in params)
    for p, r in zip(params, ref_params):
        np.testing.assert_allclose(p.value, r.value, rtol=1e-3, atol=1e-5)


def test_random_numbers_are_philox_bit_for_bit():
    key = gc.placeholder((2,), "int64")
    outs = [gc.random_uniform(key, (100_003,)), gc.random_uniform(key, (77, 33), "float64", stream=3)]
    ref, dev = gc.function([key], outs), gc.function([key], outs, backend="cuda")
    for g, w in zip(dev(np.array([9, 2 ** 35], np.int64)), ref(np.array([9, 2 ** 35], np.int64))):
        np.testing.assert_array_equal(to_numpy(g), w)


def test_block_reductions_of_large_arrays():
    x = np.random.default_rng(0).standard_normal((3, 1_000_003)).astype(np.float32)
    p = gc.placeholder(x.shape, "float32")
    f = gc.function([p], [gc.sum(p), gc.max(p, axis=1), gc.sum(p * p, axis=1)], backend="cuda")
    total, top, squares = (to_numpy(o) for o in f(x))
    np.testing.assert_allclose(total, x.astype(np.float64).sum(), rtol=1e-6)
    np.testing.assert_array_equal(top, x.max(axis=1))
    np.testing.assert_allclose(squares, (x.astype(np.float64) ** 2).sum(axis=1), rtol=1e-6)


def test_out_of_range_index_is_a_graphc_error():
    x, i = gc.placeholder((10, 3), "float32"), gc.placeholder((2,), "int64")
    f = gc.function([x, i], gc.take(x, i, axis=0), backend="cuda")
    with pytest.raises(gc.GraphcError, match="out of range"):
        f(np.zeros((10, 3), np.float32), np.array([0, 10], np.int64))


@pytest.mark.parametrize("workload", ["W3", "W4"])
def test_benchmark_workloads_match_numpy(workload):
    from graphc.bench import fw_graphc, workloads
    p = workloads.problem(workload)
    ref, dev = fw_graphc.build(p, "numpy"), fw_graphc.build(p, "cuda")
    np.testing.assert_allclose([float(to_numpy(dev())) for _ in range(3)], [float(ref()) for _ in range(3)],
                               rtol=1e-4)
