"""Activation functions (composed from graphc ops) and their module wrappers."""
from __future__ import annotations

import math
from typing import Any, Callable

from .. import ops
from ..ir import GraphcError, Tensor
from .module import Module

sigmoid, tanh, relu, softplus = ops.sigmoid, ops.tanh, ops.relu, ops.softplus
softmax, log_softmax = ops.softmax, ops.log_softmax


def leaky_relu(x: Tensor, alpha: float = 0.01) -> Tensor:
    """x where x > 0, else alpha * x (keeps a gradient for negative inputs)."""
    return ops.where(x > 0.0, x, x * alpha)


def silu(x: Tensor) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return x * ops.sigmoid(x)


swish = silu


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x where x > 0, else alpha * (exp(x) - 1); expm1 of min(x, 0) so no branch overflows."""
    return ops.where(x > 0.0, x, ops.expm1(ops.minimum(x, 0.0)) * alpha)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), exactly with erf, or torch's tanh approximation when approximate='tanh'."""
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (ops.tanh(inner) + 1.0)
    if approximate != "none":
        raise GraphcError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}",
                          fix="approximate='none' for the exact erf form, 'tanh' for torch's approximation")
    return x * 0.5 * (ops.erf(x * (1.0 / math.sqrt(2.0))) + 1.0)


ACTIVATIONS: dict[str, Callable[..., Tensor]] = {
    "sigmoid": sigmoid, "tanh": tanh, "relu": relu, "softplus": softplus, "leaky_relu": leaky_relu,
    "silu": silu, "swish": swish, "elu": elu, "gelu": gelu, "softmax": softmax, "log_softmax": log_softmax,
}


def get(fn: str | Callable[..., Tensor]) -> Callable[..., Tensor]:
    """An activation function by name, or the callable itself."""
    if callable(fn):
        return fn
    if fn not in ACTIVATIONS:
        raise GraphcError(f"nn: unknown activation {fn!r}", fix=f"use one of {', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[fn]


class Activation(Module):
    """A parameter-free module applying `fn(x, **options)`."""

    def __init__(self, fn: str | Callable[..., Tensor], **options: Any):
        super().__init__()
        self.fn = get(fn)
        self.options = options

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x, **self.options)

    def extra_repr(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"{self.fn.__name__}{opts}"


def _activation_class(name: str, fn: Callable[..., Tensor]) -> type[Activation]:
    def __init__(self, **options: Any) -> None:
        Activation.__init__(self, fn, **options)
    return type(name, (Activation,), {"__init__": __init__, "__doc__": f"Module form of `{fn.__name__}`."})


Sigmoid = _activation_class("Sigmoid", sigmoid)
Tanh = _activation_class("Tanh", tanh)
ReLU = _activation_class("ReLU", relu)
Softplus = _activation_class("Softplus", softplus)
LeakyReLU = _activation_class("LeakyReLU", leaky_relu)
SiLU = Swish = _activation_class("SiLU", silu)
ELU = _activation_class("ELU", elu)
GELU = _activation_class("GELU", gelu)
Softmax = _activation_class("Softmax", softmax)
LogSoftmax = _activation_class("LogSoftmax", log_softmax)
