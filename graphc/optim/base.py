"""The optimizer contract: gradients in, `(parameter, new_value)` updates out.

Everything an update needs (moments, the step counter, the scheduled rate, the
clipping factor) is graph state or graph, so the whole step compiles into the
one function that also computes the loss. Gradient processing follows PyTorch's
order: loss gradient (+ L1 term) -> clip by global norm -> L2 weight decay ->
update rule, so trajectories match torch.optim step for step.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from .. import ops
from ..autodiff import grad
from ..ir import GraphcError, Tensor, constant, parameter
from ..ir.source import Scope, construction_site, in_scope, user_location
from ..ops import args
from .schedules import Schedule

Update = tuple[Tensor, Tensor]


def _param_list(params: Any) -> list[Tensor]:
    if hasattr(params, "parameters"):
        params = params.parameters()
    out = list(params)
    if not out:
        raise GraphcError("optimizer: got no parameters", fix="pass model.parameters() (or a list of gc.parameter)")
    for p in out:
        if not isinstance(p, Tensor) or not hasattr(p, "value"):
            raise GraphcError(f"optimizer: {p!r} is not a parameter", fix="pass tensors made by gc.parameter")
    return out


def clip_by_global_norm(grads: Sequence[Tensor], max_norm: float) -> list[Tensor]:
    """Scale all gradients by min(1, max_norm / (norm + 1e-6)), the norm over all of them together."""
    total = None
    for g in grads:
        sq = ops.cast(ops.sum(ops.square(g)), "float64")
        total = sq if total is None else total + sq
    coef = ops.minimum(max_norm / (ops.sqrt(total) + 1e-6), 1.0)
    return [g * ops.cast(coef, g.dtype) for g in grads]


class Optimizer:
    """Base class: subclasses name their per-parameter `slots` and define `rule`."""

    #: AdamW-style decay shrinks the weights directly instead of adding to the gradient.
    decoupled_weight_decay = False

    def __init__(self, params: Any, lr: float, *, weight_decay: float = 0.0, l1: float = 0.0,
                 clip_norm: float | None = None, schedule: Schedule | None = None):
        name = type(self).__name__
        self.params = _param_list(params)
        self.lr = args.number(name, "lr", lr, low=0, fix="pass a learning rate such as lr=1e-3")
        self.weight_decay = args.number(name, "weight_decay", weight_decay, low=0, fix="weight_decay=0 for none")
        self.l1 = args.number(name, "l1", l1, low=0, fix="l1=0 for none")
        self.clip_norm = None if clip_norm is None else \
            args.number(name, "clip_norm", clip_norm, low=0, low_open=True, fix="clip_norm=None for no clipping")
        self.schedule = schedule
        self.declared = construction_site(self)
        self.step_count = parameter(np.array(0.0), name=f"{name}.step")
        self.slots: list[dict[str, Tensor]] = [
            {s: parameter(np.zeros_like(p.value), name=f"{name}.{s}") for s in self.slot_names()}
            for p in self.params]

    def slot_names(self) -> tuple[str, ...]:
        """Per-parameter state this rule keeps (moments, accumulators)."""
        return ()

    def rule(self, p: Tensor, g: Tensor, lr: Tensor, t: Tensor, slots: dict[str, Tensor]
             ) -> tuple[Tensor, dict[str, Tensor]]:
        """The new parameter and new slot values, for gradient g at step t (1-based)."""
        raise NotImplementedError

    def learning_rate(self) -> Tensor:
        """The rate of the next step (float64 scalar tensor), after the schedule."""
        if self.schedule is None:
            return constant(np.float64(self.lr))
        return ops.cast(self.schedule(self.step_count, self.lr), "float64")

    def gradients(self, loss_or_grads: Tensor | Sequence[Tensor]) -> list[Tensor]:
        """The processed gradients: loss gradient, + L1 term, clipped."""
        if isinstance(loss_or_grads, Tensor):
            grads = grad(loss_or_grads, self.params, disconnected="zero")
        else:
            grads = list(loss_or_grads)
            if len(grads) != len(self.params):
                raise GraphcError(f"{type(self).__name__}.updates: got {len(grads)} gradients for "
                                  f"{len(self.params)} parameters", fix="pass one gradient per parameter, in order")
        with in_scope(self.scope()):
            if self.l1:
                grads = [g + ops.sign(p) * self.l1 for p, g in zip(self.params, grads)]
            if self.clip_norm is not None:
                grads = clip_by_global_norm(grads, self.clip_norm)
        return grads

    def scope(self, param: Tensor | None = None) -> Scope:
        """The scope the update's nodes carry: the optimizer's own (step counter, rate, clipping), or
        the update of one parameter, so views fold each into a box ("Adam: features.0.weight")."""
        name = type(self).__name__
        top = Scope(name, "optimizer", name, self.declared, user_location())
        return top if param is None else Scope(name, "optimizer", name, self.declared, top.called, top,
                                                (("", param),))

    def updates(self, loss_or_grads: Tensor | Sequence[Tensor]) -> list[Update]:
        """(parameter, new_value) pairs for gc.function: parameters, slots and the step counter."""
        grads = self.gradients(loss_or_grads)
        with in_scope(self.scope()):
            lr64 = self.learning_rate()
            t = self.step_count + 1.0
        out: list[Update] = []
        for p, g, slots in zip(self.params, grads, self.slots):
            with in_scope(self.scope(p)):
                lr = ops.cast(lr64, p.dtype)
                if self.weight_decay and not self.decoupled_weight_decay:
                    g = g + p * self.weight_decay
                new_p, new_slots = self.rule(p, g, lr, t, slots)
            out.append((p, new_p))
            out.extend((slots[name], value) for name, value in new_slots.items())
        out.append((self.step_count, t))
        return out

    def state_parameters(self) -> Iterable[Tensor]:
        """The optimizer's own state (counter and slots), e.g. to checkpoint it."""
        yield self.step_count
        for slots in self.slots:
            yield from slots.values()
