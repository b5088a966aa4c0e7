"""graphc.distributed: N ranks with a global batch B train exactly as one process with batch B.

Run under MPI (`mpiexec -n 2 python -m pytest tests/test_distributed.py`, or -n 4) the tests marked
`collective` run on every rank: each rank trains the data-parallel model and, in the same run, the
one-process reference on the whole global batch, and compares. Under plain pytest (one process) the
collective tests are skipped and `test_under_mpiexec` launches this file under `mpiexec -n 2`
instead; the fault tests start their own `mpiexec` jobs (only rank 0 does so under MPI). The whole
file is skipped when the optional dependency (`pip install 'graphc[mpi]'`) is not installed.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="graphc.distributed needs the optional extra: pip install 'graphc[mpi]'")

from shared import MPIEXEC, mpiexec_env  # noqa: E402

import graphc as gc  # noqa: E402
from graphc import distributed as dist  # noqa: E402
from graphc import losses, nn, optim, train  # noqa: E402
from graphc.distributed import job  # noqa: E402

WORLD = dist.init(abort_on_error=False)  # under pytest, a failed test is caught: abort_on_error() below ends the job
collective = pytest.mark.skipif(WORLD.size == 1, reason="needs several ranks: test_under_mpiexec runs it so")
rank0 = pytest.mark.skipif(WORLD.rank != 0, reason="launches its own mpiexec job: rank 0 does")
needs_mpiexec = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec on PATH (the mpich wheel of graphc[mpi])")

@pytest.fixture(scope="module", autouse=True)
def _wait_sleeping_at_the_end():
    """After this file's tests the ranks wait for one another sleeping, not in MPI's busy wait: rank 0's
    fault tests start mpiexec jobs of their own, which spinning ranks would starve of the CPU."""
    yield
    if WORLD.size > 1:
        done = WORLD.comm.Ibarrier()
        while not done.Test():
            time.sleep(0.05)


#: float64: the same sums in another grouping (per rank, then over ranks) differ in the last bits only
#: (measured after 20 Adam steps at 2 and 4 ranks: at most 9e-16).
F64_TOL = 1e-12
#: float32 after 20 Adam steps: the regrouped sums' rounding, which Adam's normalized steps do not grow
#: much (measured 6e-8 at 2 and 4 ranks on weights of size ~0.5; 1e-6 leaves a margin of 16).
F32_TOL = 1e-6
BATCH, STEPS = 8, 20


def _mlp(seed: int, dtype: str) -> nn.Module:
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Dense(5, 16, "tanh", rng=rng, dtype=dtype), nn.Dense(16, 3, rng=rng, dtype=dtype))


def _cnn(seed: int, dtype: str, norm: type = nn.BatchNorm) -> nn.Module:
    """No conv bias: BatchNorm cancels it, so its gradient is rounding noise that Adam would amplify."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, bias=False, rng=rng, dtype=dtype), norm(4, dtype=dtype), nn.ReLU(),
                         nn.Flatten(), nn.Dense(64, 3, rng=rng, dtype=dtype))


class _Recurrent(nn.Module):
    """An LSTM over (batch, time, 3) and a linear read-out of its last hidden state."""

    def __init__(self, seed: int, dtype: str):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.lstm = nn.LSTM(3, 6, batch_first=True, rng=rng, dtype=dtype)
        self.head = nn.Dense(6, 3, rng=rng, dtype=dtype)

    def forward(self, x: gc.Tensor) -> gc.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1, :])


#: model name -> (build(seed, dtype, distributed), input shape of one row)
MODELS = {
    "mlp": (lambda seed, dtype, sync: _mlp(seed, dtype), (5,)),
    "cnn_syncbn": (lambda seed, dtype, sync: _cnn(seed, dtype, dist.SyncBatchNorm if sync else nn.BatchNorm),
                   (1, 6, 6)),
    "lstm": (lambda seed, dtype, sync: _Recurrent(seed, dtype), (4, 3)),
}


def _data(shape: tuple, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.normal(size=(BATCH * STEPS // 2,) + shape).astype(dtype), rng.integers(0, 3, BATCH * STEPS // 2)


def _train(model: nn.Module, x: np.ndarray, y: np.ndarray, backend: str, fit=train.fit, **kw) -> train.History:
    opt = optim.Adam(model.parameters(), lr=1e-2)
    return fit(model, losses.cross_entropy, opt, x, y, epochs=2, batch_size=BATCH, backend=backend, seed=3, **kw)


def _assert_same_state(got: nn.Module, want: nn.Module, tol: float) -> None:
    want_state = want.state_dict()
    for name, value in got.state_dict().items():
        np.testing.assert_allclose(value, want_state[name], rtol=0, atol=tol, err_msg=name)


#: every model in float64 on both builds; float32 (its tolerance documented) on the MLP with llvm
CASES = [(name, "float64", backend) for name in MODELS for backend in ("numpy", "llvm")] + [("mlp", "float32", "llvm")]


@collective
@pytest.mark.parametrize("name, dtype, backend", CASES, ids=["-".join(case) for case in CASES])
def test_ranks_train_as_one_process(name: str, dtype: str, backend: str) -> None:
    build, shape = MODELS[name]
    x, y = _data(shape, dtype)
    with dist.abort_on_error():
        reference = build(0, dtype, False)
        ref_history = _train(reference, x, y, backend)
        model = build(0 if WORLD.root else 100 + WORLD.rank, dtype, True)  # other ranks start elsewhere: the
        # broadcast of rank 0's weights must put them where the reference starts
        history = _train(model, x, y, backend, fit=dist.fit)
        tol = F64_TOL if dtype == "float64" else F32_TOL
        _assert_same_state(model, reference, tol)  # parameters and BatchNorm running statistics
        np.testing.assert_allclose(history["loss"], ref_history["loss"], rtol=0, atol=tol)


@collective
@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_allreduce_op_value_gradient_and_jvp(backend: str) -> None:
    """With S the sum of every rank's x: rank r's cost sum(S**2) / 2 has the gradient sum over ranks of S,
    that is N * S (every rank's cost depends on every x), and the tangent of S along t is the sum of the t's."""
    n = WORLD.size
    x_r = np.arange(3.0) + 10.0 * WORLD.rank
    t_r = np.full(3, 1.0 + WORLD.rank)
    total, tangent_total = sum(np.arange(3.0) + 10.0 * r for r in range(n)), float(sum(1.0 + r for r in range(n)))
    with dist.abort_on_error():
        x, t = gc.placeholder((3,), "float64", name="x"), gc.placeholder((3,), "float64", name="t")
        s = dist.allreduce(x)
        fn = gc.function([x, t], [s, gc.grad(gc.sum(s * s) / 2, x), gc.jvp(s, x, t)], backend=backend)
        value, gradient, tangent = fn(x_r, t_r)
        np.testing.assert_allclose(value, total, rtol=0, atol=1e-12)
        np.testing.assert_allclose(gradient, n * total, rtol=0, atol=1e-12)
        np.testing.assert_allclose(tangent, np.full(3, tangent_total), rtol=0, atol=1e-12)


@collective
@pytest.mark.parametrize("backend", ["numpy"])
def test_per_rank_batchnorm_differs_from_one_process(backend: str) -> None:
    """The documented default: a plain BatchNorm normalizes each rank's shard by itself."""
    x, y = _data((1, 6, 6), "float64")
    with dist.abort_on_error():
        reference = _cnn(0, "float64")
        _train(reference, x, y, backend)
        model = _cnn(0, "float64")
        _train(model, x, y, backend, fit=dist.fit)
        gap = max(np.abs(a - reference.state_dict()[k]).max() for k, a in model.state_dict().items())
        assert gap > 1e-6


@collective
@pytest.mark.parametrize("backend", ["llvm"])
def test_checkpoint_on_rank0_and_resume(tmp_path_factory, backend: str) -> None:
    x, y = _data((5,), "float64")
    with dist.abort_on_error():
        # rank 0's folder (one file system, one checkpoint); only rank 0 makes pytest's temporary root, as
        # several pytest processes cleaning it up at once trip over one another
        folder = WORLD.agree(str(tmp_path_factory.mktemp("checkpoint")) if WORLD.root else None)
        path = os.path.join(folder, "run.npz")
        straight = _mlp(0, "float64")
        _train(straight, x, y, backend, fit=dist.fit)
        first = _mlp(0, "float64")
        opt = optim.Adam(first.parameters(), lr=1e-2)
        dist.fit(first, losses.cross_entropy, opt, x, y, epochs=1, batch_size=BATCH, backend=backend, seed=3,
                 checkpoint=path, checkpoint_every=3)
        WORLD.comm.Barrier()
        assert os.path.exists(path)
        resumed = _mlp(5, "float64")
        _train(resumed, x, y, backend, fit=dist.fit, resume=path)
        _assert_same_state(resumed, straight, 0.0)


@collective
@pytest.mark.parametrize("backend", ["numpy"])
def test_only_rank0_logs(capsys, backend: str) -> None:
    x, y = _data((5,), "float64")
    with dist.abort_on_error():
        capsys.readouterr()
        _train(_mlp(0, "float64"), x, y, backend, fit=dist.fit, verbose=True)
        captured = capsys.readouterr()
        shown = captured.out + captured.err
        assert ("loss=" in shown) == WORLD.root, shown


@collective
@pytest.mark.parametrize("backend", ["numpy"])
def test_different_graphs_are_named_at_start(backend: str) -> None:
    with dist.abort_on_error():
        hidden = 16 if WORLD.rank == 0 else 17
        model = nn.Sequential(nn.Dense(5, hidden, "tanh"), nn.Dense(hidden, 3))
        x, y = _data((5,), "float32")
        with pytest.raises(dist.DistributedError, match=r"different train steps \(ranks \[0\]: \w+; ranks \[1"):
            _train(model, x, y, backend, fit=dist.fit)


@collective
@pytest.mark.parametrize("backend", ["numpy"])
def test_different_data_sizes_are_named_at_start(backend: str) -> None:
    """A rank with fewer rows would take fewer steps and leave the others waiting: refused first."""
    x, y = _data((5,), "float64")
    rows = len(x) - BATCH * (WORLD.rank == WORLD.size - 1)
    with dist.abort_on_error():
        with pytest.raises(dist.DistributedError, match=r"different fit plans .*ranks \[0(, \d)*\]: .*'rows', 80"):
            _train(_mlp(0, "float64"), x[:rows], y[:rows], backend, fit=dist.fit)


@collective
def test_batch_not_divisible_by_ranks() -> None:
    model = _mlp(0, "float32")
    with dist.abort_on_error(), pytest.raises(gc.ArgumentError, match=f"cannot be split evenly over {WORLD.size}"):
        dist.fit(model, losses.cross_entropy, optim.SGD(model.parameters(), 0.1), *_data((5,), "float32"),
                 batch_size=WORLD.size + 1)


@collective
@pytest.mark.parametrize("backend", ["llvm"])
def test_a_non_finite_gradient_stops_every_rank_with_the_weights_kept(backend: str) -> None:
    """A NaN in the last rank's rows only: the summed buckets are NaN on every rank, so all stop together."""
    x, y = _data((5,), "float64")
    x[BATCH - 1, 0] = np.nan  # the first global batch, the last rank's slice
    with dist.abort_on_error():
        model = _mlp(0, "float64")
        before = model.state_dict()
        with pytest.raises(gc.NonFiniteError, match="summed over the ranks are not all finite"):
            _train(model, x, y, backend, fit=dist.fit, shuffle=False)
        assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_one_bucket_per_dtype_equals_the_fused_step(backend: str) -> None:
    """A rank alone (its own communicator): float32 and float64 parameters in two buckets, the loss in its
    dtype's; the two-function step gives the one-function step's loss and weights."""
    from mpi4py import MPI
    alone = dist.World(MPI.COMM_SELF, 0, 1)

    def build() -> tuple[list, gc.Tensor, gc.Tensor, optim.Optimizer]:
        w32 = gc.parameter(np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3))
        w64 = gc.parameter(np.linspace(1, 2, 3))
        x = gc.placeholder((None, 5), "float32", name="x")
        y = gc.placeholder((None,), "int64", name="y")
        logits = gc.cast(x @ w32, "float64") * w64
        return [x, y], losses.cross_entropy(logits, y), (w32, w64), optim.Adam([w32, w64], lr=0.1)

    x, y = _data((5,), "float32")
    inputs, loss, params, opt = build()
    step = dist.DataParallelStep(alone, nn.Module(), inputs, loss, opt, backend=backend)
    assert step.bucket_sizes == {"float32": 15, "float64": 3 + 1}
    assert step.bytes_per_step == 15 * 4 + 4 * 8
    ref_inputs, ref_loss, ref_params, ref_opt = build()
    fused = gc.function(ref_inputs, ref_loss, updates=ref_opt.updates(ref_loss), backend=backend)
    for i in range(3):
        rows = slice(8 * i, 8 * i + 8)
        assert step(x[rows], y[rows]) == pytest.approx(float(fused(x[rows], y[rows])), rel=1e-12)
    for p, q in zip(params, ref_params):
        np.testing.assert_allclose(p.value, q.value, rtol=1e-6 if p.dtype == "float32" else 1e-12)


def test_shard_splits_each_global_batch() -> None:
    worlds = [dist.World(None, r, 4) for r in range(4)]
    parts = [dist.shard(26, epoch=2, seed=1, batch_size=8, drop_last=True, w=w) for w in worlds]
    order = np.random.default_rng([1, 2]).permutation(26)
    for b in range(3):  # global batch b is the ranks' chunks of 2, in rank order
        np.testing.assert_array_equal(np.concatenate([p[2 * b:2 * b + 2] for p in parts]), order[8 * b:8 * b + 8])
    assert all(len(p) == 6 for p in parts)
    assert not np.array_equal(dist.shard(26, 3, 1, 8, True, worlds[0]), parts[0])  # a new order each epoch
    with pytest.raises(gc.ArgumentError, match="last batch .* cannot be split evenly over 4 ranks"):
        dist.shard(26, 0, batch_size=8, w=worlds[0])


@pytest.mark.parametrize("timeout", [0, -5, "60", True])
def test_watchdog_timeout_must_be_positive_seconds(timeout) -> None:
    with pytest.raises(gc.ArgumentError, match="timeout must be a positive number of seconds"):
        dist.init(timeout=timeout)


def test_graphc_and_graphc_distributed_import_no_mpi() -> None:
    """The core never needs MPI: mpi4py (which initializes MPI) comes only with the first collective."""
    code = "import sys, graphc as gc; gc.distributed.shard; assert 'mpi4py' not in sys.modules, 'imported'"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_missing_mpi4py_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(dist.DistributedError, match=r"pip install 'graphc\[mpi\]'"):
        job.mpi()


def _mpiexec(n: int, args: list[str], timeout: float) -> tuple[int, str, float]:
    """Run `mpiexec -n n` (outside this job: the launcher's PMI variables are not passed on)."""
    start = time.monotonic()
    proc = subprocess.run([MPIEXEC, "-n", str(n), *args], capture_output=True, text=True, timeout=timeout,
                          env=mpiexec_env(OPENBLAS_NUM_THREADS="1"),
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


@needs_mpiexec
@pytest.mark.skipif(WORLD.size > 1, reason="already running under mpiexec")
def test_under_mpiexec() -> None:
    rc, out, _ = _mpiexec(2, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__], 600)
    assert rc == 0, out[-4000:]
    assert "passed" in out


FAULTY = """
import os, signal, sys, time
import numpy as np
import graphc as gc
from graphc import distributed as dist, losses, nn, optim

w = dist.init(timeout=3 if sys.argv[1] == "hang" else None)

class Fault(gc.train.Callback):
    def on_epoch_end(self, epoch, logs, model):
        if epoch == 1 and w.rank == 1:
            if sys.argv[1] == "raise":
                raise RuntimeError("rank 1 broke on purpose")
            if sys.argv[1] == "hang":
                time.sleep(600)
            os.kill(os.getpid(), signal.SIGKILL)

rng = np.random.default_rng(0)
x, y = rng.normal(size=(64, 5)), rng.integers(0, 3, 64)
model = nn.Sequential(nn.Dense(5, 8, "tanh", rng=rng), nn.Dense(8, 3, rng=rng))
dist.fit(model, losses.cross_entropy, optim.SGD(model.parameters(), 0.1), x, y, epochs=1000, batch_size=8,
         backend="numpy", callbacks=[Fault()])
"""


@needs_mpiexec
@rank0
@pytest.mark.parametrize("fault", ["raise", "kill", "hang"])
def test_a_failing_rank_ends_the_job(tmp_path, fault: str) -> None:
    script = tmp_path / "faulty.py"
    script.write_text(textwrap.dedent(FAULTY))
    rc, out, seconds = _mpiexec(2, [sys.executable, str(script), fault], 120)
    assert rc != 0
    assert seconds < 30 + 15, out  # 30 s plus the two processes' start (imports) on a loaded machine
    if fault == "raise":
        assert "[graphc rank 1] RuntimeError: rank 1 broke on purpose" in out
        assert "MPI_Abort" in out
    elif fault == "kill":
        assert "Killed" in out or "signal 9" in out, out[-2000:]
    else:  # rank 0 waits in the next step's allreduce while rank 1 sleeps: its watchdog ends the job
        assert "[graphc rank 0] waited more than 3 s in an allreduce: another rank is stuck" in out, out[-2000:]
