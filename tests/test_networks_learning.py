"""Learning results of the three examples (fixed seeds, the default backend): LeNet-5 on the 8x8
digits reaches >= 97% test accuracy, an LSTM counts the ones in 12 bits with >= 95% accuracy,
and a one-block transformer reverses 6-token sequences with >= 99% per-token accuracy. Marked slow:
`pytest -m "not slow"` leaves them out (CI runs them)."""
import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _example(name: str, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the examples import their shared _common
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lenet5_learns_digits(monkeypatch):
    pytest.importorskip("sklearn", reason="the digits dataset ships with scikit-learn")
    accuracy, _curve = _example("cnn_digits", monkeypatch).train()
    assert accuracy >= 0.97


def test_lstm_learns_to_count(monkeypatch):
    accuracy, _curve = _example("lstm_sequence", monkeypatch).train()
    assert accuracy >= 0.95


def test_transformer_learns_to_reverse(monkeypatch):
    accuracy, _curve = _example("attention_toy", monkeypatch).train()
    assert accuracy >= 0.99
