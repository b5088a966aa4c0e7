"""Penalties added to a loss: L2 (weight decay as a loss term) and L1 (sparsity)."""
from __future__ import annotations

from typing import Callable, Iterable

from .. import ops
from ..ir import GraphcError, Tensor
from ..ops import args


def _total(name: str, params: Iterable[Tensor], term: Callable[[Tensor], Tensor]) -> Tensor:
    terms = [ops.sum(term(p)) for p in params]
    if not terms:
        raise GraphcError(f"{name}: got no parameters", fix="pass model.parameters()")
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def l2_penalty(params: Iterable[Tensor], weight: float) -> Tensor:
    """weight/2 * sum of squares, so its gradient is weight * p (plain weight decay)."""
    weight = args.number("l2_penalty", "weight", weight, low=0)
    return _total("l2_penalty", params, ops.square) * (weight / 2.0)


def l1_penalty(params: Iterable[Tensor], weight: float) -> Tensor:
    """weight * sum of absolute values (drives small weights to exactly zero)."""
    weight = args.number("l1_penalty", "weight", weight, low=0)
    return _total("l1_penalty", params, ops.abs) * weight
