"""The lecture examples run (quick settings) and show what they claim."""
from __future__ import annotations

import importlib
import os
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")

pytest.importorskip("matplotlib")


def load(name: str):
    """Import examples/<name>.py as a module (the examples folder is not a package)."""
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)
    return importlib.import_module(name)


def run(name: str, tmp_path, png: str | None = None):
    result = load(name).main(str(tmp_path), quick=True)
    if png is not None:
        assert (tmp_path / png).stat().st_size > 1000
    return result


def test_perceptron_and_closed_form_regression(tmp_path):
    r = run("perceptron_linear_regression", tmp_path, "perceptron_linear_regression.png")
    assert r["perceptron_accuracy"] == 1.0
    assert r["coef_gap"] < 1e-3 and abs(r["loss_gap"]) < 1e-6


def test_linear_mlp_ends_at_least_squares(tmp_path):
    r = run("linear_mlp_is_linear", tmp_path, "linear_mlp_is_linear.png")
    assert r["coef_gap"] < 1e-4 and abs(r["loss_gap"]) < 1e-8


def test_sine_fit_relu_beats_sigmoid(tmp_path):
    r = run("sine_fit", tmp_path, "sine_fit.png")
    assert r["relu"] < r["sigmoid"] and r["relu"] < 0.05


def test_universal_approximation_error_falls_with_width(tmp_path):
    errors = run("universal_approximation", tmp_path, "universal_approximation.png")
    assert errors[32] < errors[2] / 3 and errors[128] < errors[2] / 3
    assert min(errors[32], errors[128]) < 0.2


def test_optimizers_adam_beats_sgd(tmp_path):
    final = run("optimizers_compared", tmp_path, "optimizers_compared.png")
    assert set(final) == {"SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam"}
    assert final["Adam"] < final["SGD"] and final["Nesterov"] < final["SGD"]


def test_overfitting_cures_shrink_the_gap(tmp_path):
    gaps = run("overfitting", tmp_path, "overfitting.png")
    for cure in ("L2", "dropout", "early stopping"):
        assert gaps[cure] < gaps["none"] / 2, cure


def test_digits_metrics(tmp_path):
    r = run("digits_metrics", tmp_path, "digits_confusion.png")
    assert r["accuracy"] >= 0.95
    assert r["F1_micro"] == pytest.approx(r["accuracy"]) and r["F1_macro"] >= 0.94


def test_backprop_by_hand_equals_grad(capsys):
    r = load("backprop_by_hand").main()
    assert r["max_difference"] < 1e-6
    assert "\ndb2 = t2\n" in capsys.readouterr().out  # the gradient graph was printed, outputs by name
