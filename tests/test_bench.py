"""The benchmark harness (graphc.bench): same weights everywhere, equal first losses, a tiny end-to-end run.

No timing is asserted: only that the harness measures something and that every framework starts
from the same loss, which is checked against NumPy closed forms here.
"""
import ctypes
import dataclasses
import json
import math
import os
import subprocess
from functools import partial
from importlib import import_module

import numpy as np
import pytest

import graphc as gc

from graphc.bench import fw_graphc, peaks, report, roofline, suite, worker, workloads
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


def _gpt_loss(p: workloads.Problem) -> float:
    """The first loss of the GPT workload in plain NumPy (float64): pre-LayerNorm blocks, causal attention,
    exact GELU, tied output layer, mean next-token cross-entropy."""
    _, _, blocks, d, heads, _ = p.workload.sizes
    t = {k: v.astype(np.float64) for k, v in p.params.items()}
    b, n = p.x.shape
    erf = np.vectorize(math.erf)

    def norm(h, name):
        centered = h - h.mean(-1, keepdims=True)
        scaled = centered / np.sqrt((centered ** 2).mean(-1, keepdims=True) + 1e-5)
        return scaled * t[f"{name}.weight"] + t[f"{name}.bias"]

    def dense(h, name):
        return h @ t[f"{name}.weight"] + t[f"{name}.bias"]

    def softmax(z):
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    h = t["wte"][p.x] + t["wpe"][:n]
    for i in range(blocks):
        qkv = dense(norm(h, f"h{i}.ln1"), f"h{i}.attn.qkv")
        q, k, v = (qkv[..., j * d:(j + 1) * d].reshape(b, n, heads, -1).transpose(0, 2, 1, 3) for j in range(3))
        scores = np.where(np.tril(np.ones((n, n), bool)), q @ k.transpose(0, 1, 3, 2) / np.sqrt(d // heads), -np.inf)
        h = h + dense((softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(b, n, d), f"h{i}.attn.proj")
        z = dense(norm(h, f"h{i}.ln2"), f"h{i}.mlp.fc")
        h = h + dense(z * 0.5 * (1 + erf(z / np.sqrt(2))), f"h{i}.mlp.proj")
    logits = norm(h, "ln_f") @ t["wte"].T
    log_probs = np.log(softmax(logits))
    return float(-np.mean(np.take_along_axis(log_probs, p.y[..., None], -1)))


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
    p = workloads.problem("W6")  # token ids; the targets are the next ids
    assert p.x.shape == p.y.shape == (16, 64) and p.x.dtype == np.int64
    np.testing.assert_array_equal(p.x[:, 1:], p.y[:, :-1])
    assert sum(v.size for v in p.params.values()) == 512 * 128 + 64 * 128 + 2 * (12 * 128 ** 2 + 13 * 128) + 2 * 128


def test_gpt_first_loss_matches_numpy_and_is_near_log_vocabulary():
    """Small initial weights make every next token about equally likely: the first loss is about ln(512)
    (above it by the logits' variance over 2, about sqrt(128) * 0.02 squared over 2 = 0.026)."""
    p = workloads.problem("W6")
    first = float(fw_graphc.build(p, "numpy")())
    np.testing.assert_allclose(first, _gpt_loss(p), rtol=1e-5)
    assert 0 < first - math.log(512) < 0.06


def test_gpt_compiles_on_llvm_and_trains_as_numpy():
    """W6 on the llvm build: the first loss and the losses after two AdamW updates equal graphc-numpy's."""
    p = workloads.problem("W6")
    llvm, ref = fw_graphc.build(p, "llvm"), fw_graphc.build(p, "numpy")
    losses = [(float(llvm()), float(ref())) for _ in range(3)]
    np.testing.assert_allclose(*zip(*losses), rtol=1e-5)
    assert losses[0][1] - losses[2][1] > 0.1  # it learns: not two frozen models compared


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


def test_resnet_w7_compiles_on_llvm_and_trains_as_numpy():
    """W7 (ResNet-8 with BatchNorm): graphc declares the parameters in problem()'s order, under the same names, so
    every framework starts from the same weights; llvm's first two losses equal numpy's, as do the running
    statistics (updates of the compiled step). Not the gradients: a BatchNorm's bias feeding the next BatchNorm
    gets a gradient that cancels to almost nothing, whose float32 rounding differs with the summation order."""
    p = workloads.problem("W7")
    assert [name for name, _ in fw_graphc.model(p).named_parameters()] == list(p.params)
    llvm, ref = fw_graphc.step_function(p, "llvm"), fw_graphc.step_function(p, "numpy")
    losses = [(float(llvm(p.x, p.y)), float(ref(p.x, p.y))) for _ in range(2)]
    np.testing.assert_allclose(*zip(*losses), rtol=1e-5)
    np.testing.assert_allclose(losses[0][1], np.log(10), rtol=0.1)  # ten classes, near-uniform at the start
    assert len(_running_stats(llvm)) == 2 * len(workloads.batch_norms(p.workload))
    for a, b in zip(_running_stats(llvm), _running_stats(ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def _running_stats(fn) -> list[np.ndarray]:
    """The BatchNorm running means and variances a compiled graphc step updates, in declaration order."""
    return [target.value for target, _ in fn.updates if target.name.startswith("BatchNorm.running_")]


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_peer_torch_trains_resnet_w7_as_graphc(backend):
    """W7 in PyTorch eager (F.conv2d, F.batch_norm in train mode, torch.optim.SGD with momentum and weight
    decay) and in graphc: the first loss, the losses after three identical updates, and BatchNorm's running
    statistics (momentum 0.1, unbiased variance) agree."""
    pytest.importorskip("torch", reason="torch is an optional benchmark peer, not in the dev extra: this runs "
                                        "graphc's adapter for it, which needs torch itself")
    from graphc.bench import fw_torch
    p = workloads.problem("W7")
    ours, m = fw_graphc.step_function(p, backend), fw_torch.model(p, 2)
    theirs = fw_torch.eager_step(m, p.workload)
    losses = [(float(ours(p.x, p.y)), float(theirs())) for _ in range(4)]
    np.testing.assert_allclose(*zip(*losses), rtol=1e-5)
    assert losses[-1][0] < losses[0][0] - 0.1  # it trains: not two frozen models compared
    for a, b in zip(_running_stats(ours), m.buffers, strict=True):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-4, atol=1e-5)


def test_peer_jax_trains_resnet_w7_as_graphc():
    """W7 in JAX (lax.conv_general_dilated, BatchNorm's running statistics carried as state of the jitted step,
    momentum and weight decay by hand) starts at graphc's loss and follows it through three updates."""
    pytest.importorskip("jax", reason="jax is an optional benchmark peer, not in the dev extra: this runs "
                                      "graphc's adapter for it, which needs jax itself")
    from graphc.bench import fw_jax
    p = workloads.problem("W7")
    theirs, ours = fw_jax.build(p, 2), fw_graphc.build(p, "numpy")
    np.testing.assert_allclose(*zip(*[(float(theirs()), float(ours())) for _ in range(4)]), rtol=1e-5)


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


#: W2 under W6's optimizer with a decay and a clipping that matter: lr * weight_decay = 0.005 a step, and W2's
#: gradient norm (0.24 at the start) is clipped to 0.1
ADAMW_CLIP = {"optimizer": "adamw", "lr": 0.01, "weight_decay": 0.5, "clip_norm": 0.1}


@pytest.mark.parametrize("peer", ["torch", "jax"])
def test_peer_adamw_with_clipping_trains_as_graphc(peer):
    """The peer's AdamW and clipping (torch.optim.AdamW with clip_grad_norm_; JAX's hand-written update) and
    graphc's: the first loss and the losses after four updates agree, and differ from those without the clipping
    by 20 times the tolerance (Adam's first update is the same at any gradient scale: from the second on the
    clipped scale changes from step to step)."""
    pytest.importorskip(peer, reason=f"{peer} is an optional benchmark peer, not in the dev extra: this runs graphc's "
                                     f"adapter for it, which needs {peer} itself")
    p = _variant("W2", **ADAMW_CLIP)
    theirs, ours = import_module(f"graphc.bench.fw_{peer}").build(p, 2), fw_graphc.build(p, "numpy")
    losses = [(float(np.asarray(theirs())), float(ours())) for _ in range(5)]
    np.testing.assert_allclose(*zip(*losses), rtol=1e-5)
    unclipped = fw_graphc.build(_variant("W2", **dict(ADAMW_CLIP, clip_norm=None)), "numpy")
    assert abs([float(unclipped()) for _ in range(5)][-1] - losses[-1][1]) > 20 * 1e-5 * losses[-1][1]


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_gpt_peer_torch_trains_as_graphc(backend):
    """W6 in PyTorch eager (torch.optim.AdamW, clip_grad_norm_) and in graphc: the first loss and the losses
    after one, two and three updates agree."""
    pytest.importorskip("torch", reason="torch is an optional benchmark peer, not in the dev extra: this runs "
                                        "graphc's adapter for it, which needs torch itself")
    from graphc.bench import fw_torch
    p = workloads.problem("W6")
    theirs, ours = fw_torch.build(p, 2), fw_graphc.build(p, backend)
    losses = [(float(theirs()), float(ours())) for _ in range(4)]
    np.testing.assert_allclose(*zip(*losses), rtol=1e-5)
    assert losses[0][0] - losses[3][0] > 0.2  # the updates moved the loss


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


def test_a_workload_without_an_adapter_is_a_reason_not_a_failure(monkeypatch, capsys):
    """PyTensor has no GPT adapter: its build says so (before importing PyTensor), the worker reports it as
    unsupported and the suite's cell gives the reason without calling it a failure."""
    from graphc.bench import fw_pytensor
    with pytest.raises(NotImplementedError, match="no PyTensor adapter for the GPT decoder") as e:
        fw_pytensor.build(workloads.problem("W6"), 2)

    def unsupported(*args):
        raise e.value
    monkeypatch.setattr(worker, "train_step", unsupported)
    worker.main([json.dumps({"framework": "pytensor", "workload": "W6", "repeats": 1, "budget_s": 1, "threads": 1})])
    line = capsys.readouterr().out
    assert json.loads(line) == {"unsupported": str(e.value)}
    monkeypatch.setattr(suite.subprocess, "run", lambda *a, **kw: subprocess.CompletedProcess(a, 0, line, ""))
    assert suite.run_worker({}, suite.environment(1), timeout_s=10) == {"na": str(e.value)}


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


def _results(**runs: dict) -> suite.Results:
    return suite.Results(suite.Settings.check(), runs=runs)


def test_sanity_passes_a_healthy_run_and_names_each_problem():
    """--check's rule: both graphc builds must run every workload and graphc-llvm must beat graphc-numpy; a peer
    that is not installed is no problem, and a loss disagreement (already found by the suite) is passed on."""
    healthy = {"graphc-llvm": {"step_ms": 0.4, "first_loss": 1.0}, "graphc-numpy": {"step_ms": 4.0, "first_loss": 1.0},
               "torch": {"na": "not installed"}}
    assert suite.sanity(_results(W1=healthy)) == []
    slow = dict(healthy, **{"graphc-llvm": {"step_ms": 5.0, "first_loss": 1.0}})
    broken = dict(healthy, **{"graphc-numpy": {"na": "failed: ShapeError: ..."}})
    res = _results(W1=slow, W2=broken)
    res.loss_errors.append("W3: torch first loss 2 != graphc-numpy 1 (rtol 0.0001)")
    assert suite.sanity(res) == ["W3: torch first loss 2 != graphc-numpy 1 (rtol 0.0001)",
                                 "W1: graphc-llvm's step (5.000 ms) is slower than graphc-numpy's (4.000 ms)",
                                 "W2: graphc-numpy failed: ShapeError: ..."]


def test_cli_check_runs_graphc_builds_and_exits_by_the_sanity_rule(capsys, monkeypatch):
    """The real --check on one workload (torch left out so that this needs no peer): exit 0 and both builds
    measured; then the same run with graphc-llvm made to report a slower step exits 1 naming it."""
    args = ["bench", "--check", "--workloads", "W2", "--frameworks", "graphc-llvm,graphc-numpy"]
    assert graphc_main(args) == 0
    out, err = capsys.readouterr()
    assert "| W2: tiny MLP" in out and "first losses agree" in err
    measure = suite.measure
    monkeypatch.setattr(suite, "measure", lambda name, fw, s, cache: dict(
        measure(name, fw, s, cache), **({"step_ms": 1e9} if fw == "graphc-llvm" else {})))
    assert graphc_main(args) == 1
    assert "W2: graphc-llvm's step (1000000000.000 ms) is slower than graphc-numpy's" in capsys.readouterr().err


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


# --- the roofline (graphc.bench.roofline, graphc.bench.peaks) ---

def _tiny_mlp_problem(b=5, n0=3, n1=4, n2=2) -> workloads.Problem:
    """A 3-4-2 ReLU MLP, MSE, SGD: small enough to count its step by hand."""
    w = workloads.Workload("T", "tiny", "mlp", b, "mse", "sgd", 0.1, (n0, n1, n2), "relu")
    rng = np.random.default_rng(0)
    shapes = {"fc0.weight": (n0, n1), "fc0.bias": (n1,), "fc1.weight": (n1, n2), "fc1.bias": (n2,)}
    params = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    return workloads.Problem(w, params, rng.standard_normal((b, n0)).astype(np.float32),
                             rng.standard_normal((b, n2)).astype(np.float32))


def test_flops_of_a_small_mlp_step_match_the_hand_count():
    """One SGD step of an n0-n1-n2 ReLU MLP with MSE on a batch of B, counted by hand:
    matmuls: forward x@W0, h@W1; backward d@W1^T, x^T@dz, h^T@d: 4*B*n0*n1 + 6*B*n1*n2.
    elementwise: forward bias adds, ReLU, out - y, square, / count: 2*B*n1 + 3*B*n2 + 1; backward 1/count,
    the two factors of d = 2 * (out - y) / count: 2*B*n2 + 1, ReLU' (compare, select): 2*B*n1;
    update p - lr * g: 2 per parameter element, and the step counter's increment: 1.
    reductions: the loss sum and the two bias-gradient sums: B*n2 + B*n1 + B*n2."""
    b, n0, n1, n2 = 5, 3, 4, 2
    p = _tiny_mlp_problem(b, n0, n1, n2)
    n_params = n0 * n1 + n1 + n1 * n2 + n2
    counted = roofline.flops_by_kind(roofline.step_graph(p).nodes)
    assert counted == {"matmul": 4 * b * n0 * n1 + 6 * b * n1 * n2,
                       "elementwise": 4 * b * n1 + 5 * b * n2 + 3 + 2 * n_params,
                       "reduce": b * n1 + 2 * b * n2}


@pytest.mark.parametrize("name", ["W1", "W2", "W3"])
def test_matmul_flops_of_the_mlp_workloads_match_the_closed_form(name):
    """Forward and weight gradients 2*B*n_i*n_(i+1) each; input gradients for every layer but the first."""
    w = workloads.WORKLOADS[name]
    pairs = sum(a * b for a, b in zip(w.sizes, w.sizes[1:]))
    assert roofline.step_cost(name).flops_by_kind["matmul"] == 2 * w.batch * (3 * pairs - w.sizes[0] * w.sizes[1])


def test_conv_flops_of_lenet_match_the_closed_form():
    """2 * output elements * weights per output channel: conv1 (6x28x28 outputs, 1*5*5 weights each) forward and
    weight gradient; conv2 (16x10x10, 6*5*5) forward, weight and input gradient (x needs no gradient)."""
    conv1, conv2 = 2 * 64 * 6 * 28 * 28 * 25, 2 * 64 * 16 * 10 * 10 * 150
    assert roofline.step_cost("W4").flops_by_kind["conv"] == 2 * conv1 + 3 * conv2


def test_conv_flops_and_activations_of_resnet_w7_match_the_closed_form():
    """Strided and 1x1 convolutions count their outputs' elements: for a conv cin -> cout, k x k, with an s x s
    output map, 2 * B * cout * s^2 * cin * k^2; the stem's forward and weight gradient, every other conv's input
    gradient too. Activations per example: the stem's conv and ReLU outputs (16x32x32 each), then per block its
    two conv outputs, two ReLU outputs and, with a shortcut, that conv's output; then the 64 pooled features."""
    w = workloads.WORKLOADS["W7"]

    def conv(cin: int, cout: int, k: int, side: int) -> int:
        return 2 * w.batch * cout * side * side * cin * k * k
    rest = [conv(16, 16, 3, 32)] * 2 + [conv(16, 32, 3, 16), conv(32, 32, 3, 16), conv(16, 32, 1, 16),
                                        conv(32, 64, 3, 8), conv(64, 64, 3, 8), conv(32, 64, 1, 8)]
    assert roofline.step_cost("W7").flops_by_kind["conv"] == 2 * conv(3, 16, 3, 32) + 3 * sum(rest)
    per_example = 2 * 16 * 32 ** 2 + 4 * 16 * 32 ** 2 + 5 * 32 * 16 ** 2 + 5 * 64 * 8 ** 2 + 64
    assert roofline.activations(w) == w.batch * per_example


def test_matmul_flops_of_the_gpt_count_attentions_batched_products():
    """W6's forward, per block: the query-key-value, attention output, MLP and MLP output products,
    2*B*T*(3d^2 + d^2 + 2*d*m); the scores q k^T and the weighted values, batched over (B, heads), 2*T*T*(d/heads)
    each per batch entry; then the tied logits 2*B*T*d*V. Both operands of every product need a gradient (the
    first one's input comes from the embeddings), so the step has 3 times the forward's FLOPs."""
    vocab, t, blocks, d, heads, m = workloads.WORKLOADS["W6"].sizes
    rows = workloads.WORKLOADS["W6"].batch * t
    forward = blocks * (2 * rows * (4 * d * d + 2 * d * m) + 2 * 2 * rows * t * d) + 2 * rows * d * vocab
    cost = roofline.step_cost("W6")
    assert cost.flops_by_kind["matmul"] == 3 * forward and cost.dtype == "float32"


def test_bytes_model_matches_its_closed_form():
    """Tiny MLP, SGD: 26 float32 parameters and the float64 step counter read and written, 26 gradients written
    and read, x (5x3) and y (5x2) read, the hidden layer's 5x4 output stored and read back."""
    p = _tiny_mlp_problem()
    assert roofline.step_bytes(roofline.step_graph(p), p) == 2 * (4 * 26 + 8) + 2 * 4 * 26 + 4 * (15 + 10) + 2 * 4 * 20
    # W3: Adam keeps two moments per parameter, so 3P float32 are updated (plus the counter)
    w = workloads.WORKLOADS["W3"]
    n_params = 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10
    inputs = 4 * w.batch * (784 + 10)
    assert roofline.step_cost("W3").bytes == 2 * (3 * 4 * n_params + 8) + 2 * 4 * n_params + inputs + 2 * 4 * 128 * 1024
    # LSTM: h, c and four gates per step and per sequence
    assert roofline.activations(workloads.WORKLOADS["W5"]) == 32 * 6 * 32 * 128
    # GPT: per token and block two LayerNorm outputs, q, k, v, the attention output (6d), one log-sum-exp per head
    # and the MLP's pre-activation (m); the final LayerNorm's output
    assert roofline.activations(workloads.WORKLOADS["W6"]) == 16 * 64 * (2 * (6 * 128 + 4 + 512) + 128)


def test_fma_kernel_does_the_work_it_is_credited_with():
    """acc <- acc * m + c, n times from acc = c, in each of CHAINS accumulators: CHAINS * c * (1 + m + ... + m^n)."""
    kernel, _engine = peaks.jit(peaks.fma_ir("float64", 4), "fma_chains",
                                ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_int64, ctypes.c_double, ctypes.c_double))
    assert kernel(3, 0.5, 1.0) == peaks.CHAINS * 1.875


def test_peaks_are_plausible_against_numpy():
    """No BLAS beats the FMA peak and no copy beats the memory bandwidth (a factor of 2 for a shared machine);
    a core does less than 1 TFLOP/s, float32 lanes are twice float64's, and DRAM is slower than 2 TB/s."""
    threads = os.cpu_count() or 1
    a = np.random.default_rng(0).standard_normal((2, 512, 512))
    fma = {}
    for dtype in ("float32", "float64"):
        x, y = a.astype(dtype)
        blas_ms = worker.block_medians({"mm": partial(np.matmul, x, y)}, 3, 5)["mm"]
        fma[dtype], bits = peaks.fma_gflops(dtype, threads, repeats=3)
        assert 2 * 512 ** 3 / 1e6 / blas_ms / 2 <= fma[dtype] <= 1000 * threads and bits in peaks.vector_widths()
    assert 1.2 <= fma["float32"] / fma["float64"] <= 3.5
    src = np.ones(32 << 20)  # 256 MiB
    dst = np.empty_like(src)
    copy_gbs = 2 * src.nbytes / 1e6 / worker.block_medians({"copy": partial(np.copyto, dst, src)}, 1, 3)["copy"]
    gbs, mib = peaks.triad_gbs(threads, repeats=3)
    assert copy_gbs / 2 <= gbs <= 2000 and mib >= 256


def test_report_has_the_roofline_table():
    """A fake W2 run on a machine of 100 GFLOP/s and 10 GB/s: memory-bound, 7104 bytes (the closed form above
    on W2's sizes) take 0.7104 us; graphc-llvm's 0.02 ms step reaches 3.552% of it."""
    fake = peaks.Peaks({"float32": 100.0, "float64": 50.0}, 10.0, 2, {"float32": 512, "float64": 512}, 1920.0, 480.0)
    runs = {"graphc-llvm": {"first_loss": 1.0, "step_ms": 0.02, "cold_s": 0.2}, "torch": {"na": "not installed"}}
    res = suite.Results(suite.Settings(workloads=("W2",), frameworks=("graphc-llvm", "torch")), runs={"W2": runs},
                        peaks=fake)
    assert roofline.step_cost("W2").bytes == 4 * (4 * 131 + 32 * (4 + 3) + 2 * 32 * 16) + 2 * 8
    text = report.markdown(res, ["graphc", "bench"])
    assert "- measured peaks (2 threads, best of 5): FMA float32 100.0 GFLOP/s" in text and "memory 10.0 GB/s" in text
    assert ("| workload | MFLOP per step | MB per step | FLOP/byte | roofline ms (bound by) | graphc-llvm % of "
            "roofline | torch % of roofline |") in text
    assert "| W2 | 0.02218 | 0.007104 | 3.12 | 0.0007104 (memory) | 3.6% | n/a |" in text
    data = roofline.summary(res)["workloads"]["W2"]
    np.testing.assert_allclose(data["fraction"]["graphc-llvm"], 7104 / 10e9 * 1e3 / 0.02)
    assert data["fraction"]["torch"] is None and data["bound_by"] == "memory"

def test_report_says_where_the_time_goes_below_half_the_roofline():
    """The same fake W2 run with graphc-llvm's profile (0.02 ms step: 3.6% of its roofline, so explained): its
    kinds and the time outside kernels, largest first, as shares of the profiled step; a kind under 1% is left
    out; at 0.0014 ms the step reaches half its roofline and the line goes."""
    fake = peaks.Peaks({"float32": 100.0, "float64": 50.0}, 10.0, 2, {"float32": 512, "float64": 512}, 1920.0, 480.0)
    profile = {"step_ms": 0.02, "kinds_ms": {"softmax": 0.004, "matmul": 0.01, "reduce": 0.00015}}
    runs = {"graphc-llvm": {"first_loss": 1.0, "step_ms": 0.02, "cold_s": 0.2, "profile": profile}}
    res = suite.Results(suite.Settings(workloads=("W2",), frameworks=("graphc-llvm",)), runs={"W2": runs},
                        peaks=fake)
    assert roofline.where_lines(res) == ["- W2 (graphc-llvm at 4% of its roofline; profiled step 0.020 ms): "
                                         "matmul 50% (0.010 ms), outside kernels 29% (0.006 ms), "
                                         "softmax 20% (0.004 ms)"]
    assert roofline.where_lines(res)[0] in report.markdown(res, ["graphc", "bench"])
    runs["graphc-llvm"]["step_ms"] = 0.0014
    assert roofline.where_lines(res) == []


def test_worker_profiles_graphc_llvm_by_kernel_kind():
    """A real profile of W2's step: every kind is one the schedule emits, and the kernels fit in the step."""
    prof = worker.kernel_profile("W2", calls=5)
    assert set(prof["kinds_ms"]) <= set(gc.schedule.KINDS) and "matmul" in prof["kinds_ms"]
    assert 0 < sum(prof["kinds_ms"].values()) <= prof["step_ms"]


@pytest.fixture
def torch_compile(tmp_path, monkeypatch):
    """torch, with torch.compile's kernels written under tmp_path (its FX-graph cache off: every build compiles)."""
    torch = pytest.importorskip("torch", reason="torch.compile is an optional benchmark peer, not in the dev extra: "
                                                "this runs graphc's adapter for it, which needs torch itself")
    from torch._inductor import config
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    with config.patch(fx_graph_cache=False):  # torch's own override: monkeypatch's undo would delete the option
        yield torch


def _variant(name: str, **changes) -> workloads.Problem:
    """A workload's problem with another optimizer (and learning rate): small networks for every update rule."""
    p = workloads.problem(name)
    return dataclasses.replace(p, workload=dataclasses.replace(p.workload, **changes))


@pytest.mark.slow  # each build is a cold torch.compile (5-40 s on a loaded 2-core machine)
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated")  # torch's own modules, on import
@pytest.mark.parametrize("full,problem", [
    (False, ("W1",)), (False, ("W2",)),
    (True, ("W1",)), (True, ("W2",)),
    (True, ("W2", {"optimizer": "momentum", "lr": 0.05})), (True, ("W2", {"optimizer": "adam", "lr": 0.01})),
    (True, ("W7",)),
    (True, ("W2", ADAMW_CLIP)),
], ids=["torch-compile-W1", "torch-compile-W2", "torch-compile-full-W1", "torch-compile-full-W2",
        "torch-compile-full-W2-momentum", "torch-compile-full-W2-adam", "torch-compile-full-W7",
        "torch-compile-full-W2-adamw-clip"])
def test_torch_compile_starts_at_graphcs_loss_and_trains_as_torch_eager(full, problem, torch_compile):
    """The first loss equals graphc-numpy's; the next three (after one, two, three updates) equal eager PyTorch's
    with torch.optim, so the full graph's hand-written SGD, momentum, Adam and AdamW with clipping are
    torch.optim's (and clip_grad_norm_'s)."""
    from graphc.bench import fw_torch, fw_torch_compile
    p = _variant(problem[0], **(problem[1] if len(problem) > 1 else {}))
    compiled, eager = fw_torch_compile.build(p, 2, full=full), fw_torch.build(p, 2)
    first = float(compiled())
    np.testing.assert_allclose(first, float(fw_graphc.build(p, "numpy")()), rtol=suite.LOSS_RTOL)
    np.testing.assert_allclose(float(eager()), first, rtol=1e-6)
    losses = [(float(compiled()), float(eager())) for _ in range(3)]
    np.testing.assert_allclose(*zip(*losses), rtol=1e-5)
    assert abs(losses[0][1] - first) > 1e-3 * first  # the update moved the loss: not two frozen models compared


def test_torch_compile_workers_get_a_fresh_inductor_cache(monkeypatch):
    """Each torch.compile worker compiles cold: its own empty cache folder, removed after, and the FX-graph and
    AOTAutograd caches off (the settings before are restored); the suite fixes inductor's compile workers to the
    bench's thread count."""
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "/a/user's/cache")
    monkeypatch.delenv("TORCHINDUCTOR_FX_GRAPH_CACHE", raising=False)
    with worker.fresh_inductor_cache():
        folder = os.environ["TORCHINDUCTOR_CACHE_DIR"]
        assert os.listdir(folder) == []
        assert os.environ["TORCHINDUCTOR_FX_GRAPH_CACHE"] == os.environ["TORCHINDUCTOR_AUTOGRAD_CACHE"] == "0"
    assert not os.path.exists(folder)
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == "/a/user's/cache"
    assert "TORCHINDUCTOR_FX_GRAPH_CACHE" not in os.environ
    assert suite.environment(2)["TORCHINDUCTOR_COMPILE_THREADS"] == "2"


def test_report_compares_graphc_with_torch_compile():
    runs = {"graphc-llvm": {"first_loss": 1.0, "step_ms": 0.5, "cold_s": 0.3},
            "torch-compile": {"first_loss": 1.0, "step_ms": 1.0, "cold_s": 20.0},
            "torch-compile-full": {"first_loss": 1.0, "step_ms": 0.4, "cold_s": 30.0}}
    res = suite.Results(suite.Settings(workloads=("W1",), frameworks=tuple(runs)), runs={"W1": runs})
    text = report.markdown(res, ["graphc", "bench"])
    assert "| 1.000 (2.00x) | 0.400 (0.80x) | >= 1x torch-compile-full | NO |" in text
    assert "| 20.00 s | 30.00 s |" in text
