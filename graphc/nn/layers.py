"""Layers with parameters or state: Dense, Dropout, and the MLP built from them."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .. import ops
from ..ir import GraphcError, ShapeError, Tensor, is_float, parameter
from ..ir.modes import record
from ..ops import args
from . import activations, init
from .module import Module, Sequential


class Dense(Module):
    """y = act(x @ weight + bias), weight of shape (in_features, out_features)."""

    def __init__(self, in_features: int, out_features: int, activation: str | Callable | None = None, *,
                 bias: bool = True, weight_init: str | init.Initializer = "glorot_uniform",
                 bias_init: str | init.Initializer = "zeros", rng: init.Rng = None, dtype: str = "float32"):
        super().__init__()
        rng = init.as_rng(rng)
        self.in_features = args.size("Dense", "in_features", in_features)
        self.out_features = args.size("Dense", "out_features", out_features)
        dtype = args.float_dtype("Dense", dtype)
        shape = (self.in_features, self.out_features)
        self.weight = parameter(init.get(weight_init)(shape, rng, dtype), name="Dense.weight")
        self.bias = parameter(init.get(bias_init)((self.out_features,), rng, dtype), name="Dense.bias") \
            if bias else None
        self.activation = None if activation is None else activations.get(activation)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 1 or x.shape[-1] not in (None, self.in_features):
            raise ShapeError(f"Dense({self.in_features} -> {self.out_features}): input {x.type_str()} "
                             f"has {x.shape[-1] if x.ndim else 'no'} features, the layer takes {self.in_features}",
                             fix="make the previous layer's output size equal this layer's in_features")
        y = ops.matmul(x, self.weight)
        if self.bias is not None:
            y = y + self.bias
        return y if self.activation is None else self.activation(y)

    def extra_repr(self) -> str:
        act = f", {self.activation.__name__}" if self.activation else ""
        return f"{self.in_features} -> {self.out_features}{act}"


Linear = Dense


class Dropout(Module):
    """Zeroes each input with probability p in train mode and scales the rest by 1/(1-p).

    The mask comes from a counter-based key buffer that each train step advances
    (collect it with `model.state_updates()`); eval mode is the identity. One
    Dropout applied twice in one graph reuses its mask: use one module per site.
    The graph records the mode it was built in, and a compiled function refuses
    to run while the layer is in the other (`gc.ModeError`).
    """

    def __init__(self, p: float = 0.5, seed: int = 0):
        super().__init__()
        self.p = args.number("Dropout", "p", p, low=0, high=1, high_open=True, fix="p is the probability to drop")
        seed = args.size("Dropout", "seed", seed, minimum=0)
        if seed >= 2 ** 63:
            raise ShapeError(f"Dropout: seed {seed} does not fit in int64", fix="use a seed in [0, 2**63)")
        self.buffer("key", parameter(np.array([seed, 0], "int64"), name="Dropout.key"))

    def forward(self, x: Tensor) -> Tensor:
        if self.p == 0.0:
            return x
        if not self.training:
            if not is_float(x.dtype):  # no train mode to mistake it for: dropout draws float masks
                return x
            out = x / 1.0  # the identity as a node of its own to record (the passes remove it), not x itself
            record(self, [out])
            return out
        keep = ops.random_uniform(self.key, x, x.dtype) >= self.p
        out = ops.where(keep, x * (1.0 / (1.0 - self.p)), 0.0)
        record(self, [keep, out], state=(self.key,), stale="every call draws the same mask")
        return out

    def updates(self) -> list[tuple[Tensor, Tensor]]:
        return [(self.key, ops.next_key(self.key))] if self.training and self.p > 0.0 else []

    def extra_repr(self) -> str:
        return f"p={self.p}"


class MLP(Sequential):
    """Dense layers of the given sizes with `activation` between them (and optional dropout).

    The last layer applies `output_activation` (none by default: logits or raw regression).
    """

    def __init__(self, sizes: Sequence[int], activation: str | Callable = "relu", *,
                 output_activation: str | Callable | None = None, dropout: float = 0.0,
                 weight_init: str | init.Initializer | None = None, rng: init.Rng = None, dtype: str = "float32"):
        if len(sizes) < 2:
            raise GraphcError(f"MLP: needs at least an input and an output size, got {list(sizes)}",
                              fix="pass [inputs, hidden..., outputs], e.g. MLP([4, 16, 3])")
        for i, n in enumerate(sizes):
            args.size("MLP", f"sizes[{i}]", n)
        rng = init.as_rng(rng)
        if weight_init is None:
            weight_init = "he_uniform" if activation in ("relu", "leaky_relu", activations.relu) else "glorot_uniform"
        layers: list[Module] = []
        last = len(sizes) - 2
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            act = output_activation if i == last else activation
            layers.append(Dense(n_in, n_out, act, weight_init=weight_init, rng=rng, dtype=dtype))
            if dropout and i != last:
                layers.append(Dropout(dropout, seed=int(rng.integers(2 ** 31))))
        super().__init__(*layers)
