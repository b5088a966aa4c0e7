"""Reverse mode: gradients as graphs, from each op's `pullback` rule."""
from __future__ import annotations

from typing import Sequence

from ..ir import Tensor, toposort
from ..ir.dtypes import is_float
from ..ir.errors import GradientError
from ..ir.source import inherit_location
from ..ops import add, cast, ones_like, zeros_like


def _check_wrt(wrt: Sequence[Tensor]) -> None:
    for w in wrt:
        if not isinstance(w, Tensor):
            raise GradientError(f"grad: wrt must hold tensors, got {type(w).__name__}")
        if not is_float(w.dtype):
            raise GradientError(f"grad: cannot differentiate with respect to {w!r}: its dtype is {w.dtype}",
                                fix="gradients exist only for float tensors; cast the input to float32")


def vjp(outputs: Sequence[Tensor], seeds: Sequence[Tensor], wrt: Sequence[Tensor]) -> list[Tensor | None]:
    """Vector-Jacobian products: for each of `wrt`, sum over outputs of seed . d output / d wrt.

    None marks a `wrt` the outputs do not depend on (through differentiable paths).
    """
    grads: dict[Tensor, Tensor] = {}
    for out, seed in zip(outputs, seeds):
        grads[out] = add(grads[out], seed) if out in grads else seed
    targets = set(wrt)
    # Only nodes on a path from a wrt to an output need a rule applied.
    order = toposort(outputs)
    reaches: set[Tensor] = set()
    for node in order:
        if node in targets or any(i in reaches for i in node.inputs):
            reaches.add(node)
    for node in reversed(order):
        g = grads.get(node)
        if g is None or node.op.is_leaf or node not in reaches or not node.op.differentiable:
            continue
        with inherit_location(node.loc):  # the user's line and module scope of the node differentiated
            pulled = node.op.pullback(node, g)
            for inp, gi in zip(node.inputs, pulled):
                if gi is None or inp not in reaches or not is_float(inp.dtype):
                    continue
                if gi.dtype != inp.dtype:
                    gi = cast(gi, inp.dtype)
                grads[inp] = add(grads[inp], gi) if inp in grads else gi
    return [grads.get(w) for w in wrt]


def grad(cost: Tensor, wrt, disconnected: str = "raise"):
    """The gradient of a scalar `cost` with respect to `wrt` (a tensor or a list of them).

    The result is made of ordinary graph nodes: it can be printed, optimized,
    compiled and differentiated again. `disconnected="zero"` gives zeros for a
    `wrt` the cost does not depend on, instead of an error.
    """
    if not isinstance(cost, Tensor):
        raise GradientError(f"grad: the cost must be a tensor, got {type(cost).__name__}")
    if cost.shape != ():
        raise GradientError(f"grad: the cost must be a scalar, got shape {cost.shape}",
                            fix="reduce it first (gc.sum or gc.mean), or use gc.vjp for a non-scalar output")
    if not is_float(cost.dtype):
        raise GradientError(f"grad: the cost must be float, got {cost.dtype}")
    if disconnected not in ("raise", "zero"):
        raise ValueError(f"grad: disconnected must be 'raise' or 'zero', got {disconnected!r}")
    single = isinstance(wrt, Tensor)
    wrt_list = [wrt] if single else list(wrt)
    _check_wrt(wrt_list)
    with inherit_location(cost.loc):
        seed = ones_like(cost)
    grads = vjp([cost], [seed], wrt_list)
    out = []
    for w, g in zip(wrt_list, grads):
        if g is None:
            if disconnected == "raise":
                raise GradientError(f"grad: the cost does not depend on {w!r}",
                                    fix="pass disconnected='zero' to get zeros for it", loc=w.loc)
            g = zeros_like(w)
        out.append(g)
    return out[0] if single else out
