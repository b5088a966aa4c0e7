"""Small helpers rules use to look at nodes: constants through views, op identity."""
from __future__ import annotations

import numpy as np

from ..ir import Tensor, constant
from ..ops import elementwise as ew
from ..ops.reduce import Softmax
from ..ops.shape import broadcast_like, const_value, scalar_const

__all__ = ["const_value", "scalar_const", "is_const", "is_op", "filled", "same_type_as", "positive_valued"]


def is_const(t: Tensor, value: float) -> bool:
    """Whether every element of `t` is the constant `value`."""
    v = const_value(t)
    return v is not None and v.size > 0 and bool(np.all(v == value))


def is_op(t: Tensor, op: object) -> bool:
    return t.op is op or t.op == op


def filled(like: Tensor, value: float) -> Tensor:
    """A broadcast constant with the shape and dtype of `like`."""
    return broadcast_like(constant(np.full((1,) * like.ndim, value, like.dtype)), like)


def same_type_as(x: Tensor, node: Tensor) -> Tensor:
    """`x` broadcast to `node`'s shape (rules must keep the node's type)."""
    if x.dtype != node.dtype:
        x = ew.cast(x, node.dtype)
    return x if x.shape == node.shape else broadcast_like(x, node)


def positive_valued(t: Tensor) -> bool:
    """Ops whose output is > 0 wherever finite: cancelling them in a ratio is the stable choice."""
    return t.op in (ew.EXP, ew.SIGMOID) or type(t.op) is Softmax
