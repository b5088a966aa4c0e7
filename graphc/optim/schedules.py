"""Learning-rate schedules computed in the graph from the optimizer's step counter.

A schedule maps (steps done so far `k`, base rate) to the rate of the next step,
as torch's schedulers do when `scheduler.step()` follows each `optimizer.step()`.
Because `k` is graph state, the rate changes inside one compiled step function.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import ops
from ..ir import Tensor
from ..ops import args


class Schedule:
    """Base class: `schedule(k, lr)` is the learning rate (a float64 scalar tensor) at step k."""

    def __call__(self, k: Tensor, lr: float) -> Tensor:
        raise NotImplementedError


@dataclass(frozen=True)
class StepDecay(Schedule):
    """lr * gamma ** floor(k / step_size) (torch StepLR, stepped per iteration)."""

    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        args.size("StepDecay", "step_size", self.step_size, fix="the number of steps between decays, e.g. 1000")
        args.number("StepDecay", "gamma", self.gamma, low=0, low_open=True, fix="a decay factor such as 0.1")

    def __call__(self, k: Tensor, lr: float) -> Tensor:
        return ops.power(self.gamma, ops.floor(k / float(self.step_size))) * lr


@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    """lr * gamma ** k (torch ExponentialLR)."""

    gamma: float

    def __post_init__(self) -> None:
        args.number("ExponentialDecay", "gamma", self.gamma, low=0, low_open=True, fix="a factor such as 0.99")

    def __call__(self, k: Tensor, lr: float) -> Tensor:
        return ops.power(self.gamma, k) * lr


@dataclass(frozen=True)
class Cosine(Schedule):
    """Cosine annealing from lr to min_lr over total_steps, then min_lr (torch CosineAnnealingLR)."""

    total_steps: int
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        args.size("Cosine", "total_steps", self.total_steps, fix="the number of steps to anneal over, e.g. 1000")
        args.number("Cosine", "min_lr", self.min_lr, low=0, fix="min_lr=0 anneals to zero")

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
        args.size("Warmup", "warmup_steps", self.warmup_steps, fix="the number of warm-up steps, e.g. 100")
        args.number("Warmup", "start_factor", self.start_factor, low=0, high=1, low_open=True,
                    fix="the fraction of the rate to start from, e.g. 0.1")

    def __call__(self, k: Tensor, lr: float) -> Tensor:
        frac = ops.minimum(k, float(self.warmup_steps)) * (1.0 / self.warmup_steps)
        factor = frac * (1.0 - self.start_factor) + self.start_factor
        base = self.then(k, lr) if self.then is not None else lr
        return factor * base
