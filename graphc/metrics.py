"""Evaluation metrics on NumPy arrays (not graphs): accuracy, precision/recall/F-beta, errors.

Conventions follow scikit-learn so results can be checked against it: rows of the
confusion matrix are true classes, a ratio with a zero denominator is 0, and
`average` is 'binary' (the `pos_label` class), 'macro', 'micro' or None (per class).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .ir import GraphcError, ShapeError

AVERAGES = ("binary", "macro", "micro", None)


def to_labels(y_pred: Any) -> np.ndarray:
    """Class labels from labels, or from score rows (batch, classes) by argmax."""
    y = np.asarray(y_pred)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    y = y.reshape(-1) if y.ndim == 2 else y
    if y.dtype.kind == "f" or y.dtype.name == "bfloat16":
        if not np.all(y == np.round(y)):
            raise GraphcError(f"metrics: got float predictions {y.dtype}{list(y.shape)} that are not labels",
                              fix="threshold probabilities first (p >= 0.5) or pass score rows of shape (n, classes)")
        return y.astype(np.int64)
    return y.astype(np.int64)


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = to_labels(y_true), to_labels(y_pred)
    if t.shape != p.shape:
        raise ShapeError(f"metrics: {t.shape[0] if t.ndim else 0} true labels but "
                         f"{p.shape[0] if p.ndim else 0} predictions", fix="pass one prediction per example")
    return t, p


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of exact label matches."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p)) if t.size else 0.0


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """counts[i, j] = examples of true class i predicted as class j."""
    t, p = _pair(y_true, y_pred)
    n = int(num_classes if num_classes is not None else max(t.max(initial=-1), p.max(initial=-1)) + 1)
    counts = np.zeros((n, n), np.int64)
    np.add.at(counts, (t, p), 1)
    return counts


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, float), np.asarray(den, float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _counts(y_true: Any, y_pred: Any, average: str | None, pos_label: int):
    """(true positives, predicted positives, actual positives) for the averaging asked for."""
    if average not in AVERAGES:
        raise GraphcError(f"metrics: unknown average {average!r}", fix=f"use one of {AVERAGES}")
    t, p = _pair(y_true, y_pred)
    if average == "binary":
        return np.sum((t == pos_label) & (p == pos_label)), np.sum(p == pos_label), np.sum(t == pos_label)
    cm = confusion_matrix(t, p)
    tp, pred_pos, true_pos = np.diag(cm), cm.sum(axis=0), cm.sum(axis=1)
    if average == "micro":
        return tp.sum(), pred_pos.sum(), true_pos.sum()
    return tp, pred_pos, true_pos


def _average(values: np.ndarray, average: str | None) -> Any:
    return float(np.mean(values)) if average == "macro" else (values if average is None else float(values))


def precision(y_true: Any, y_pred: Any, average: str | None = "binary", pos_label: int = 1) -> Any:
    """Of the examples predicted as a class, the fraction that are that class."""
    tp, pred_pos, _ = _counts(y_true, y_pred, average, pos_label)
    return _average(_ratio(tp, pred_pos), average)


def recall(y_true: Any, y_pred: Any, average: str | None = "binary", pos_label: int = 1) -> Any:
    """Of the examples of a class, the fraction predicted as that class."""
    tp, _, true_pos = _counts(y_true, y_pred, average, pos_label)
    return _average(_ratio(tp, true_pos), average)


def fbeta(y_true: Any, y_pred: Any, beta: float = 1.0, average: str | None = "binary", pos_label: int = 1) -> Any:
    """Weighted harmonic mean of precision and recall (recall counts beta times as much)."""
    tp, pred_pos, true_pos = _counts(y_true, y_pred, average, pos_label)
    b2 = beta * beta
    return _average(_ratio((1 + b2) * np.asarray(tp), b2 * np.asarray(true_pos) + pred_pos), average)


def f1(y_true: Any, y_pred: Any, average: str | None = "binary", pos_label: int = 1) -> Any:
    """F1 score: the harmonic mean of precision and recall (`fbeta` with beta = 1); `average` as in scikit-learn."""
    return fbeta(y_true, y_pred, 1.0, average, pos_label)


def _errors(y_true: Any, y_pred: Any) -> np.ndarray:
    t, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    if t.size != p.size:
        raise ShapeError(f"metrics: targets {t.shape} and predictions {p.shape} differ in size")
    return p.reshape(-1) - t.reshape(-1)


def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error (shapes (n,) and (n, 1) are both fine)."""
    return float(np.mean(_errors(y_true, y_pred) ** 2))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(_errors(y_true, y_pred))))


__all__ = ["to_labels", "accuracy", "confusion_matrix", "precision", "recall", "fbeta", "f1", "mse", "mae"]
