"""Loss functions as graphs: `loss(prediction, target, reduction='mean')`.

Formulas follow torch.nn.functional, so values and gradients can be checked
against it. The logits forms are the stable ones: softplus and log_softmax never
take the log of a rounded-to-zero probability.
"""
from __future__ import annotations

from typing import Any

from . import ops
from .ir import DTypeError, GraphcError, ShapeError, Tensor
from .ir.dtypes import is_int
from .ir.source import scoped

REDUCTIONS = ("mean", "sum", "none")


def reduce(loss: Tensor, reduction: str = "mean") -> Tensor:
    """Apply a reduction: 'mean' or 'sum' over all elements, or 'none' (elementwise)."""
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    if reduction == "none":
        return loss
    raise GraphcError(f"losses: unknown reduction {reduction!r}", fix=f"use one of {REDUCTIONS}")


def _pair(name: str, pred: Any, target: Any) -> tuple[Tensor, Tensor]:
    pred, target = ops.operands.as_tensors(pred, target)
    if pred.shape != target.shape and None not in pred.shape + target.shape:
        raise ShapeError(f"{name}: prediction {pred.type_str()} and target {target.type_str()} differ in shape",
                         fix="reshape the target to the prediction's shape (e.g. y[:, None] for one output)")
    if pred.ndim != target.ndim:
        raise ShapeError(f"{name}: prediction {pred.type_str()} and target {target.type_str()} differ in rank",
                         fix="reshape the target to the prediction's shape")
    return pred, ops.cast(target, pred.dtype)


@scoped
def mse(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error (pred - target)^2."""
    pred, target = _pair("mse", pred, target)
    return reduce(ops.square(pred - target), reduction)


@scoped
def mae(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Absolute error |pred - target| (robust to outliers, constant gradient)."""
    pred, target = _pair("mae", pred, target)
    return reduce(ops.abs(pred - target), reduction)


@scoped
def huber(pred: Any, target: Any, delta: float = 1.0, reduction: str = "mean") -> Tensor:
    """Squared error near zero, absolute beyond `delta` (as torch.nn.functional.huber_loss)."""
    pred, target = _pair("huber", pred, target)
    err = ops.abs(pred - target)
    quad = ops.minimum(err, delta)
    return reduce(quad * quad * 0.5 + (err - quad) * delta, reduction)


@scoped
def binary_cross_entropy(prob: Any, target: Any, reduction: str = "mean") -> Tensor:
    """-(t log p + (1-t) log(1-p)) on probabilities; logs clamped at -100 as in torch, and the
    gradient in p is torch's (p - t) / max(p (1 - p), 1e-12): finite at p = 0 and 1.

    Prefer `binary_cross_entropy_with_logits`: it stays exact where p rounds to 0 or 1.
    """
    prob, target = _pair("binary_cross_entropy", prob, target)
    return reduce(ops.binary_cross_entropy(prob, target), reduction)


@scoped
def binary_cross_entropy_with_logits(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(logits), as softplus(z) - t z (no overflow, no log 0)."""
    logits, target = _pair("binary_cross_entropy_with_logits", logits, target)
    return reduce(ops.softplus(logits) - target * logits, reduction)


def _targets_like(name: str, scores: Tensor, target: Any) -> Tensor:
    """Class targets as rows shaped like `scores`: integer labels become one-hot rows."""
    (target,) = ops.operands.as_tensors(target)
    if is_int(target.dtype):
        if target.ndim != scores.ndim - 1:
            raise ShapeError(f"{name}: integer targets {target.type_str()} need one dim less than the "
                             f"scores {scores.type_str()}", fix="pass labels of shape (batch,)")
        classes = scores.shape[-1]
        return ops.one_hot(ops.index.labels(target, classes, name), classes, scores.dtype)
    if target.dtype == "bool":
        raise DTypeError(f"{name}: targets must be integer labels or float rows, got {target.type_str()}")
    return _pair(name, scores, target)[1]


def _nll(name: str, log_probs: Tensor, target: Any, reduction: str) -> Tensor:
    target = _targets_like(name, log_probs, target)
    return reduce(-ops.sum(target * log_probs, axis=-1), reduction)


@scoped
def nll(log_probs: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (batch, classes) at the target classes."""
    (log_probs,) = ops.operands.as_tensors(log_probs)
    return _nll("nll", log_probs, target, reduction)


@scoped
def cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy from logits; targets are labels (ints) or one-hot/probability rows."""
    (logits,) = ops.operands.as_tensors(logits)
    return _nll("cross_entropy", ops.log_softmax(logits, axis=-1), target, reduction)


__all__ = ["reduce", "mse", "mae", "huber", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "nll", "cross_entropy"]
