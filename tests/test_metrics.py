"""gc.metrics against hand-computed values and scikit-learn."""
import numpy as np
import pytest

import graphc as gc
from graphc import metrics

T = np.array([0, 1, 2, 2, 1, 0, 1, 2])
P = np.array([0, 2, 2, 2, 1, 0, 0, 1])


def test_hand_computed_multiclass():
    assert metrics.accuracy(T, P) == 5 / 8
    np.testing.assert_array_equal(metrics.confusion_matrix(T, P), [[2, 0, 0], [1, 1, 1], [0, 1, 2]])
    np.testing.assert_allclose(metrics.precision(T, P, average=None), [2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(metrics.recall(T, P, average=None), [1.0, 1 / 3, 2 / 3])
    assert metrics.f1(T, P, average="macro") == pytest.approx((0.8 + 0.4 + 2 / 3) / 3)
    assert metrics.precision(T, P, average="micro") == metrics.recall(T, P, average="micro") == 5 / 8


def test_hand_computed_binary_and_scores():
    t, p = np.array([1, 1, 1, 0, 0]), np.array([1, 0, 1, 1, 0])
    assert metrics.precision(t, p) == 2 / 3 and metrics.recall(t, p) == 2 / 3
    assert metrics.fbeta(t, p, beta=2.0) == pytest.approx(2 / 3)
    assert metrics.precision(np.array([1, 0]), np.array([0, 0])) == 0.0  # nothing predicted positive
    scores = np.array([[0.1, 0.9], [0.8, 0.2]])
    assert metrics.accuracy(np.array([1, 0]), scores) == 1.0  # score rows are argmaxed
    assert metrics.mse([1.0, 2.0], np.array([[1.5], [2.0]])) == 0.125 and metrics.mae([0, 0], [1, -3]) == 2.0
    with pytest.raises(gc.GraphcError, match="threshold probabilities first"):
        metrics.accuracy(t, np.array([0.2, 0.7, 0.9, 0.1, 0.4]))
    with pytest.raises(gc.GraphcError, match="unknown average 'weighted'"):
        metrics.f1(t, p, average="weighted")


def test_against_scikit_learn():
    sk = pytest.importorskip("sklearn.metrics", reason="scikit-learn is the reference for metrics")
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    assert metrics.accuracy(t, p) == pytest.approx(sk.accuracy_score(t, p))
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p), sk.confusion_matrix(t, p))
    for avg in ("macro", "micro", None):
        np.testing.assert_allclose(metrics.precision(t, p, average=avg), sk.precision_score(t, p, average=avg))
        np.testing.assert_allclose(metrics.recall(t, p, average=avg), sk.recall_score(t, p, average=avg))
        np.testing.assert_allclose(metrics.fbeta(t, p, 0.5, average=avg), sk.fbeta_score(t, p, beta=0.5, average=avg))
    tb, pb = t % 2, p % 2
    assert metrics.f1(tb, pb) == pytest.approx(sk.f1_score(tb, pb))
    assert metrics.recall(tb, pb, pos_label=0) == pytest.approx(sk.recall_score(tb, pb, pos_label=0))
    y, yhat = rng.standard_normal(50), rng.standard_normal(50)
    assert metrics.mse(y, yhat) == pytest.approx(sk.mean_squared_error(y, yhat))
    assert metrics.mae(y, yhat) == pytest.approx(sk.mean_absolute_error(y, yhat))
