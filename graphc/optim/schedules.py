"""Learning-rate schedules computed in the graph from the optimizer's step counter.

A schedule maps (steps done so far `k`, base rate) to the rate of the next step,
as torch's schedulers do when `scheduler.step()` follows each `optimizer.step()`.
Because `k` is graph state, the rate changes inside one compiled step function.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import ops
from ..ir import GraphcError, Tensor


class Schedule:
    """Base class: `schedule(k, lr)` is the learning rate (a float64 scalar tensor) at step k."""

    def __call__(self, k: Tensor, lr: float) -> Tensor:
        raise NotImplementedError


def _positive(name: str, **values: float) -> None:
    for key, v in values.items():
        if v <= 0:
            raise GraphcError(f"{name}: {key} must be positive, got {v}")


@dataclass(frozen=True)
class StepDecay(Schedule):
    """lr * gamma ** floor(k / step_size) (torch StepLR, stepped per iteration)."""

    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _positive("StepDecay", step_size=self.step_size)

    def __call__(self, k: Tensor, lr: float) -> Tensor:
        return ops.power(self.gamma, ops.floor(k / float(self.step_size))) * lr


@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    """lr * gamma ** k (torch ExponentialLR)."""

    gamma: float

    def __call__(self, k: Tensor, lr: float) -> Tensor:
        return ops.power(self.gamma, k) * lr


@dataclass(frozen=True)
class Cosine(Schedule):
    """Cosine annealing from lr to min_lr over total_steps, then min_lr (torch CosineAnnealingLR)."""

    total_steps: int
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        _positive("Cosine", total_steps=self.total_steps)

    def __call__(self, k: Tensor, lr: float) -> Tensor:
        progress = ops.minimum(k, float(self.total_steps)) * (math.pi / self.total_steps)
        return (ops.cos(progress) + 1.0) * (0.5 * (lr - self.min_lr)) + self.min_lr


@dataclass(frozen=True)
class Warmup(Schedule):
    """Linear warm-up: factor start_factor -> 1 over warmup_steps, times `then` (torch LinearLR)."""

    warmup_steps: int
    start_factor: float = 0.1
    then: Schedule | None = None

    def __post_init__(self) -> None:
        _positive("Warmup", warmup_steps=self.warmup_steps, start_factor=self.start_factor)

    def __call__(self, k: Tensor, lr: float) -> Tensor:
        frac = ops.minimum(k, float(self.warmup_steps)) * (1.0 / self.warmup_steps)
        factor = frac * (1.0 - self.start_factor) + self.start_factor
        base = self.then(k, lr) if self.then is not None else lr
        return factor * base
