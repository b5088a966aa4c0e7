"""The benchmark harness (graphc.bench): same weights everywhere, equal first losses, a tiny end-to-end run.

No timing is asserted: only that the harness measures something and that every framework starts
from the same loss, which is checked against NumPy closed forms here.
"""
import json
import os
from importlib import import_module

import numpy as np
import pytest

from graphc.bench import fw_graphc, report, suite, worker, workloads
from graphc.cli import main as graphc_main


def _mlp_loss(p: workloads.Problem) -> float:
    """The first loss of an MLP workload in plain NumPy."""
    w = p.workload
    act = {"sigmoid": lambda h: 1 / (1 + np.exp(-h)), "tanh": np.tanh, "relu": lambda h: np.maximum(h, 0)}
    h, n = p.x.astype(np.float64), len(w.sizes) - 1
    for i in range(n):
        h = h @ p.params[f"fc{i}.weight"] + p.params[f"fc{i}.bias"]
        h = act[w.activation](h) if i < n - 1 else h
    if w.loss == "mse":
        return float(np.mean((h - p.y) ** 2))
    shifted = h - h.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.mean(np.sum(p.y * log_probs, axis=1)))


def test_problems_are_reproducible_and_shaped_as_declared():
    for name, w in workloads.WORKLOADS.items():
        a, b = workloads.problem(name), workloads.problem(name)
        assert list(a.params) == list(b.params)
        for k in a.params:
            np.testing.assert_array_equal(a.params[k], b.params[k])
            assert a.params[k].dtype == np.float32
        assert a.x.shape[0] == a.y.shape[0] == w.batch
    p = workloads.problem("W5")
    assert p.params["lstm.weight_ih"].shape == (512, 32) and p.x.shape == (32, 32, 32)


@pytest.mark.parametrize("name", ["W1", "W2"])
@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_graphc_first_loss_matches_numpy_closed_form(name, backend):
    p = workloads.problem(name)
    step = fw_graphc.build(p, backend)
    np.testing.assert_allclose(float(step()), _mlp_loss(p), rtol=1e-5)


def test_llvm_and_numpy_train_alike():
    """Three W2 steps: the updates (SGD) agree too, not only the first loss."""
    p = workloads.problem("W2")
    llvm, ref = fw_graphc.build(p, "llvm"), fw_graphc.build(p, "numpy")
    for _ in range(3):
        np.testing.assert_allclose(float(llvm()), float(ref()), rtol=1e-5)


@pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS")  # it uses NumPy's matmul then
@pytest.mark.parametrize("peer,names", [("torch", ("W2", "W5")), ("jax", ("W2", "W5")), ("pytensor", ("W2",))])
def test_peer_first_loss_equals_graphc(peer, names, monkeypatch):
    if "PYTENSOR_FLAGS" not in os.environ:  # read once, when PyTensor loads
        monkeypatch.setenv("PYTENSOR_FLAGS", worker.pytensor_flags())
    pytest.importorskip(peer, reason=f"{peer} is an optional benchmark peer, not in the dev extra: this runs graphc's "
                                     f"adapter for it, which needs {peer} itself (a stored value cannot stand in)")
    module = import_module(f"graphc.bench.fw_{peer}")
    for name in names:
        p = workloads.problem(name)
        theirs, ours = module.build(p, 2), fw_graphc.build(p, "numpy")
        for _ in range(2):  # the first loss, then the loss after one identical update
            np.testing.assert_allclose(float(np.asarray(theirs())), float(ours()), rtol=1e-4)


def test_suite_runs_workers_and_reports_agreeing_losses(tmp_path):
    s = suite.Settings(workloads=("W2",), frameworks=("graphc-llvm", "graphc-numpy"), repeats=3, budget_s=0.5,
                       rounds=2, gemm_n=0, timeout_s=300)
    res = suite.run(s)
    llvm, ref = res.runs["W2"]["graphc-llvm"], res.runs["W2"]["graphc-numpy"]
    assert res.loss_errors == []
    np.testing.assert_allclose(llvm["first_loss"], _mlp_loss(workloads.problem("W2")), rtol=1e-5)
    np.testing.assert_allclose(llvm["first_loss"], ref["first_loss"], rtol=suite.LOSS_RTOL)
    assert llvm["steps"] == ref["steps"] == 3 and llvm["step_ms"] > 0 and llvm["warm_s"] > 0
    assert len(llvm["rounds_step_ms"]) == 2 and llvm["step_ms"] == np.median(llvm["rounds_step_ms"])
    text = report.markdown(res, ["graphc", "bench"])
    assert "| W2: tiny MLP" in text and "(2 agree)" in text and "- W2: graphc-llvm " in text


def test_rounds_combine_into_medians_and_a_failed_round_fails_the_result():
    outs = [{"first_loss": 1.0, "step_ms": 3.0, "cold_s": 0.5, "warm_s": 0.05},
            {"first_loss": 1.0, "step_ms": 9.0, "cold_s": 0.7, "warm_s": 0.09},
            {"first_loss": 1.0, "step_ms": 4.0, "cold_s": 0.6, "warm_s": 0.04}]
    out = suite.combine(outs)
    assert (out["step_ms"], out["cold_s"], out["warm_s"]) == (4.0, 0.6, 0.05)
    assert out["rounds_step_ms"] == [3.0, 9.0, 4.0]
    assert suite.combine(outs[:2] + [{"na": "timed out after 600 s"}]) == {"na": "timed out after 600 s"}


def test_disagreeing_losses_are_reported():
    runs = {"graphc-numpy": {"first_loss": 1.0}, "torch": {"first_loss": 1.001}, "jax": {"na": "not installed"}}
    errors = suite.check_losses("W1", runs)
    assert len(errors) == 1 and "torch" in errors[0]
    res = suite.Results(suite.Settings(workloads=("W1",), frameworks=("graphc-numpy", "torch", "jax")),
                        runs={"W1": runs}, loss_errors=errors)
    text = report.markdown(res, ["graphc", "bench"])
    assert "DISAGREE" in text and "n/a (not installed)" in text


def test_report_says_how_pytensor_ran():
    runs = {"pytensor": {"first_loss": 1.0, "step_ms": 0.02, "cold_s": 3.0, "flags": "mode=NUMBA,floatX=float32"}}
    res = suite.Results(suite.Settings(workloads=("W2",), frameworks=("pytensor",), pytensor_python="/venv/python"),
                        runs={"W2": runs})
    assert "PyTensor ran under /venv/python with PYTENSOR_FLAGS=mode=NUMBA,floatX=float32." in report.markdown(res, [])


def test_worker_failure_becomes_a_reason():
    out = suite.run_worker({"framework": "graphc-llvm", "workload": "W9", "repeats": 1, "budget_s": 1,
                            "threads": 1}, suite.environment(1), timeout_s=120)
    assert out["na"].startswith("failed: KeyError")


@pytest.mark.parametrize("args,message", [
    (["--workloads", "W1,W9"], "unknown W9"),
    (["--frameworks", "tensorflow"], "unknown tensorflow"),
    (["--threads", "0"], "not a positive whole number"),
    (["--pytensor-python", "/no/such/python"], "is not an executable file"),
    (["--json", "/no/such/folder/out.json"], "does not exist"),
])
def test_cli_rejects_bad_arguments_before_running(args, message, capsys):
    with pytest.raises(SystemExit) as e:
        graphc_main(["bench", *args])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_worker_that_cannot_start_becomes_a_reason():
    out = suite.run_worker({}, suite.environment(1), timeout_s=10, python="/no/such/python")
    assert out["na"].startswith("cannot start /no/such/python")


def test_cli_prints_the_report_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = graphc_main(["bench", "--quick", "--workloads", "W2", "--frameworks", "graphc-numpy", "--no-gemm",
                        "--json", str(out)])
    data = json.loads(out.read_text())
    assert code == 0 and "| W2: tiny MLP" in capsys.readouterr().out
    np.testing.assert_allclose(data["runs"]["W2"]["graphc-numpy"]["first_loss"],
                               _mlp_loss(workloads.problem("W2")), rtol=1e-5)
    assert list(tmp_path.iterdir()) == [out]  # the temporary file was renamed, not left behind


def test_block_medians_charge_a_slow_phase_to_one_block_of_each_contender(monkeypatch):
    """Rounds take the contenders in turn, each for a block of consecutive calls: a slow phase (every
    call ten times slower) over the second round costs one block of each, and the medians keep the
    contenders' true times."""
    clock, calls = [0.0], {"a": 0, "b": 0}
    per_block = 2 + 4  # warm-up calls (median_ms: at least 2) + timed calls

    def contender(name: str, cost: float):
        def run():
            calls[name] += 1
            clock[0] += cost * (10.0 if per_block < calls[name] <= 2 * per_block else 1.0)
        return run
    monkeypatch.setattr(worker.time, "perf_counter", lambda: clock[0])
    ms = worker.block_medians({"a": contender("a", 0.002), "b": contender("b", 0.004)}, blocks=3, calls=4)
    assert calls == {"a": 3 * per_block, "b": 3 * per_block}
    assert ms == pytest.approx({"a": 2.0, "b": 4.0})
