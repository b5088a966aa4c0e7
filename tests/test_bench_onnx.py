"""`graphc bench --onnx`: the light models' random weights, the quick run on one small model (both frameworks in
their workers, outputs compared), the failure paths and the report."""
import json

import numpy as np
import pytest

from graphc.cli import main

onnx = pytest.importorskip("onnx", reason="graphc bench --onnx needs the onnx extra")
ort = pytest.importorskip("onnxruntime", reason="graphc bench --onnx compares with onnxruntime")

from graphc.bench import onnx_models, onnx_report, onnx_suite  # noqa: E402 - after the importorskips


def _run(model, feeds):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def test_light_model_gets_random_weights_at_any_batch():
    """SqueezeNet's ConstantOfShape fills become initializers (a valid model by onnx's full check); its softmax is
    no longer uniform; at batch 3 each row is what batch 1 gives for that image (the same weights)."""
    one, three = onnx_models.light("squeezenet", 1), onnx_models.light("squeezenet", 3)
    for model in (one, three):
        onnx.checker.check_model(model, full_check=True)
        assert not any(n.op_type == "ConstantOfShape" for n in model.graph.node)
    feeds = onnx_models.inputs(three, 3, seed=1)
    (probs,) = _run(three, feeds)
    probs = probs.reshape(3, 1000)  # (3, 1000, 1, 1): SqueezeNet ends in a global pool
    assert probs.max() > 20 / 1000, "random weights: far from a uniform softmax"
    (name,) = feeds
    for i in range(3):
        (row,) = _run(one, {name: feeds[name][i:i + 1]})
        np.testing.assert_allclose(row.reshape(1000), probs[i], rtol=1e-5, atol=1e-7)


def test_tempering_scales_the_logits_to_the_target_spread():
    """temper() scales the dense layer before the softmax (Inception v1's: a Reshape of an initializer) so that its
    logits' spread is 2 on the tempering batch: log-probabilities are the logits less a constant per row."""
    model = onnx_models.light("squeezenet", 1)
    assert onnx_models.temper(model) is model  # SqueezeNet ends in a convolution and a pool: left alone
    raw = onnx_models.randomize(onnx.load(f"{onnx_models.light_dir()}/light_inception_v1.onnx"))
    tempered = onnx_models.temper(onnx_models.randomize(raw))
    batch = onnx_models.TEMPER_BATCH
    spreads = []
    for model in (raw, tempered):
        wide = onnx_models.with_batch(model, batch)
        (probs,) = _run(wide, onnx_models.inputs(wide, batch))
        spreads.append(np.log(probs.astype(np.float64)).std(axis=-1).mean())
    assert abs(spreads[0] - 2.0) > 0.5
    np.testing.assert_allclose(spreads[1], 2.0, rtol=1e-3)


def test_quick_run_on_squeezenet_compares_outputs_and_times_both(tmp_path, capsys):
    """`graphc bench --onnx --check` on SqueezeNet at batch 1: both frameworks ran in their workers, the outputs
    agree, the report has the row and the JSON the timings."""
    out = tmp_path / "onnx.json"
    code = main(["bench", "--onnx", "--check", "--models", "squeezenet", "--batches", "1", "--json", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "| squeezenet | 1 |" in printed.out and "equal (max abs" in printed.out
    (row,) = json.loads(out.read_text())["rows"]
    assert row["check"]["equal"] and row["check"]["max_abs"] < 1e-4
    for fw in ("graphc-llvm", "onnxruntime"):
        assert row[fw]["run_ms"] > 0 and row[fw]["cold_s"] > 0 and row[fw]["runs"] >= 3


def _row(graphc_ms=2.0, ort_ms=1.0, equal=True, **extra):
    return {"model": "m", "batch": 1, "check": {"equal": equal, "max_abs": 1e-7 if equal else 0.5, "scale": 1.0},
            "graphc-llvm": {"run_ms": graphc_ms, "cold_s": 1.5, **extra}, "onnxruntime": {"run_ms": ort_ms,
                                                                                        "cold_s": 0.1}}


def test_report_rows_speedups_and_where_the_time_goes():
    profile = {"step_ms": 2.0, "kinds_ms": {"conv": 1.2, "gather": 0.5, "copy": 0.01},
               "top": ["conv conv2d [1, 64, 13, 13] 0.50 ms", "gather patches [1, 64, 55, 55, 3, 3] 0.40 ms"]}
    res = onnx_suite.Results(onnx_suite.Settings(models=("m",)),
                             rows=[_row(profile=profile), _row(graphc_ms=0.5, ort_ms=1.0)])
    text = onnx_report.markdown(res, ["graphc", "bench", "--onnx"])
    assert "| m | 1 | 2.00 | 1.00 | 0.50x | 1.50 | 0.10 | equal (max abs 1.0e-07 of max 1) |" in text
    assert "| m | 1 | 0.50 | 1.00 | 2.00x |" in text
    assert "at least as fast as onnxruntime on 1 of 2 timed rows" in text
    assert onnx_report.where_lines(res) == [
        "- m batch 1 (profiled run 2.00 ms): conv 60% (1.20 ms), gather 25% (0.50 ms), outside kernels 15% (0.29 ms); "
        "slowest: conv conv2d [1, 64, 13, 13] 0.50 ms; gather patches [1, 64, 55, 55, 3, 3] 0.40 ms"]


def test_outputs_that_differ_are_a_failure_not_a_speed():
    res = onnx_suite.Results(onnx_suite.Settings(models=("m",)), rows=[_row(equal=False)])
    assert onnx_suite.problems(res) == ["m batch 1: graphc-llvm's outputs differ from onnxruntime's "
                                        "(max abs difference 0.5)"]
    text = onnx_report.markdown(res, ["graphc"])
    assert "| m | 1 | (outputs differ) | (outputs differ) | n/a |" in text and "DIFFER" in text


def test_compare_needs_equal_shapes_and_values(tmp_path):
    a, b, c = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "c.npz"
    np.savez(a, np.ones((2, 3), np.float32))
    np.savez(b, np.ones((2, 3), np.float32) * (1 + 1e-6))
    np.savez(c, np.ones((3, 2), np.float32))
    assert onnx_suite.compare(str(a), str(b))["equal"]
    assert onnx_suite.compare(str(a), str(c)) == {"equal": False, "why": "shapes [(2, 3)] != [(3, 2)]"}
    np.savez(b, np.full((2, 3), 1.01, np.float32))
    assert not onnx_suite.compare(str(a), str(b))["equal"]


def test_a_failing_framework_is_reported_with_its_reason(tmp_path, monkeypatch):
    """A model graphc cannot import: the worker's error becomes the cell and `problems` names it; no time."""
    broken = {"na": "OnnxUnsupportedError: 1 node graphc cannot import: 'n' (Foo, opset 17): no converter"}
    row = {"model": "m", "batch": 1, "graphc-llvm": broken, "onnxruntime": {"run_ms": 1.0, "cold_s": 0.1}}
    res = onnx_suite.Results(onnx_suite.Settings(models=("m",)), rows=[row])
    assert onnx_suite.problems(res) == [f"m batch 1: graphc-llvm {broken['na']}"]
    assert f"n/a ({broken['na']})" in onnx_report.markdown(res, ["graphc"])


def test_bad_batches_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--onnx", "--batches", "1,0"])
    assert exit_.value.code == 2 and "'0' is not a positive whole number" in capsys.readouterr().err
