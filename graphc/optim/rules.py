"""Update rules, each the exact formula of its torch.optim counterpart."""
from __future__ import annotations

from typing import Any

from .. import ops
from ..ir import GraphcError, Tensor
from ..ops import args
from .base import Optimizer


def _cast(x: Tensor, like: Tensor) -> Tensor:
    return ops.cast(x, like.dtype)


def _eps(opt: object, eps: Any) -> float:
    """The term that keeps a rule's division finite: a positive number."""
    return args.number(type(opt).__name__, "eps", eps, low=0, low_open=True,
                       fix="a small positive number such as eps=1e-8")


class SGD(Optimizer):
    """p -= lr * g; with momentum, v = mu v + g and p -= lr * v (or lr * (g + mu v) for Nesterov)."""

    def __init__(self, params: Any, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False, **kw: Any):
        self.momentum = args.number(type(self).__name__, "momentum", momentum, low=0, fix="momentum=0 for none")
        if nesterov and not self.momentum:
            raise GraphcError("SGD: nesterov=True needs momentum > 0", fix="pass momentum=0.9")
        self.nesterov = nesterov
        super().__init__(params, lr, **kw)

    def slot_names(self):
        return ("velocity",) if self.momentum else ()

    def rule(self, p, g, lr, t, slots):
        if not self.momentum:
            return p - lr * g, {}
        v = slots["velocity"] * self.momentum + g
        step = g + v * self.momentum if self.nesterov else v
        return p - lr * step, {"velocity": v}


class Momentum(SGD):
    """SGD with (heavy-ball) momentum."""

    def __init__(self, params: Any, lr: float = 0.01, momentum: float = 0.9, **kw: Any):
        super().__init__(params, lr, momentum=momentum, **kw)


class Nesterov(SGD):
    """SGD with Nesterov momentum (the gradient is taken after the velocity step)."""

    def __init__(self, params: Any, lr: float = 0.01, momentum: float = 0.9, **kw: Any):
        super().__init__(params, lr, momentum=momentum, nesterov=True, **kw)


class AdaGrad(Optimizer):
    """s += g^2; p -= lr * g / (sqrt(s) + eps): per-weight rates that only shrink."""

    def __init__(self, params: Any, lr: float = 0.01, eps: float = 1e-10, **kw: Any):
        self.eps = _eps(self, eps)
        super().__init__(params, lr, **kw)

    def slot_names(self):
        return ("sum_sq",)

    def rule(self, p, g, lr, t, slots):
        s = slots["sum_sq"] + g * g
        return p - lr * g / (ops.sqrt(s) + self.eps), {"sum_sq": s}


class RMSProp(Optimizer):
    """s = rho s + (1 - rho) g^2; p -= lr * g / (sqrt(s) + eps): AdaGrad that forgets old gradients."""

    def __init__(self, params: Any, lr: float = 0.01, rho: float = 0.99, eps: float = 1e-8, **kw: Any):
        self.rho = args.number(type(self).__name__, "rho", rho, low=0, high=1, high_open=True,
                               fix="rho=0.99: the weight of the running mean of squared gradients")
        self.eps = _eps(self, eps)
        super().__init__(params, lr, **kw)

    def slot_names(self):
        return ("mean_sq",)

    def rule(self, p, g, lr, t, slots):
        s = slots["mean_sq"] * self.rho + g * g * (1.0 - self.rho)
        return p - lr * g / (ops.sqrt(s) + self.eps), {"mean_sq": s}


class Adam(Optimizer):
    """Bias-corrected first and second moment estimates (Kingma & Ba), torch's arithmetic."""

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, **kw: Any):
        name = type(self).__name__
        pair = args.items(betas)
        if len(pair) != 2:
            raise GraphcError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}", fix="betas=(0.9, 0.999)")
        self.beta1, self.beta2 = (args.number(name, f"betas[{i}]", b, low=0, high=1, high_open=True,
                                              fix="betas=(0.9, 0.999): moment decay rates in [0, 1)")
                                  for i, b in enumerate(pair))
        self.eps = _eps(self, eps)
        super().__init__(params, lr, **kw)

    def slot_names(self):
        return ("m", "v")

    def rule(self, p, g, lr, t, slots):
        m = slots["m"] * self.beta1 + g * (1.0 - self.beta1)
        v = slots["v"] * self.beta2 + g * g * (1.0 - self.beta2)
        step_size = lr / _cast(1.0 - ops.power(self.beta1, t), p)
        bc2_sqrt = _cast(ops.sqrt(1.0 - ops.power(self.beta2, t)), p)
        denom = ops.sqrt(v) / bc2_sqrt + self.eps
        return p - step_size * (m / denom), {"m": m, "v": v}


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * wd before the Adam step."""

    decoupled_weight_decay = True

    def __init__(self, params: Any, lr: float = 1e-3, weight_decay: float = 1e-2, **kw: Any):
        super().__init__(params, lr, weight_decay=weight_decay, **kw)

    def rule(self, p, g, lr, t, slots):
        return super().rule(p * (1.0 - lr * self.weight_decay), g, lr, t, slots)
