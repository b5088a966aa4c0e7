"""Weight initializers: seeded NumPy arrays for `gc.parameter`.

Glorot/Xavier keeps activation variance steady through tanh/sigmoid layers;
He/Kaiming does the same for ReLU-like layers (they zero half the inputs). Fans
are read from a `(fan_in, fan_out)` weight shape, as `Dense` stores weights.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..ir import GraphcError

Rng = np.random.Generator | int | None
Initializer = Callable[..., np.ndarray]


def as_rng(rng: Rng) -> np.random.Generator:
    """A Generator from a Generator, a seed, or None (seed 0: runs repeat by default)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)


def fans(shape: tuple) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (in, out, ...) or a vector."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    rest = int(np.prod(shape[2:]))
    return shape[0] * rest, shape[1] * rest


def zeros(shape: tuple, rng: Rng = None, dtype: str = "float32") -> np.ndarray:
    return np.zeros(shape, dtype)


def ones(shape: tuple, rng: Rng = None, dtype: str = "float32") -> np.ndarray:
    return np.ones(shape, dtype)


def normal(shape: tuple, rng: Rng = None, dtype: str = "float32", std: float = 0.01) -> np.ndarray:
    return (as_rng(rng).standard_normal(shape) * std).astype(dtype)


def uniform(shape: tuple, rng: Rng = None, dtype: str = "float32", low: float = -0.05,
            high: float = 0.05) -> np.ndarray:
    return as_rng(rng).uniform(low, high, shape).astype(dtype)


def glorot_normal(shape: tuple, rng: Rng = None, dtype: str = "float32", gain: float = 1.0) -> np.ndarray:
    fan_in, fan_out = fans(shape)
    return normal(shape, rng, dtype, std=gain * np.sqrt(2.0 / (fan_in + fan_out)))


def glorot_uniform(shape: tuple, rng: Rng = None, dtype: str = "float32", gain: float = 1.0) -> np.ndarray:
    fan_in, fan_out = fans(shape)
    limit = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, rng, dtype, -limit, limit)


def he_normal(shape: tuple, rng: Rng = None, dtype: str = "float32") -> np.ndarray:
    return normal(shape, rng, dtype, std=np.sqrt(2.0 / fans(shape)[0]))


def he_uniform(shape: tuple, rng: Rng = None, dtype: str = "float32") -> np.ndarray:
    limit = np.sqrt(6.0 / fans(shape)[0])
    return uniform(shape, rng, dtype, -limit, limit)


xavier_normal, xavier_uniform = glorot_normal, glorot_uniform
kaiming_normal, kaiming_uniform = he_normal, he_uniform

INITIALIZERS: dict[str, Initializer] = {
    f.__name__: f for f in (zeros, ones, normal, uniform, glorot_normal, glorot_uniform, he_normal, he_uniform)
}
INITIALIZERS.update(xavier_normal=glorot_normal, xavier_uniform=glorot_uniform,
                    kaiming_normal=he_normal, kaiming_uniform=he_uniform)


def get(init: str | Initializer) -> Initializer:
    """An initializer by name (e.g. 'he_uniform') or the callable itself."""
    if callable(init):
        return init
    if init not in INITIALIZERS:
        raise GraphcError(f"nn.init: unknown initializer {init!r}",
                          fix=f"use one of {', '.join(sorted(INITIALIZERS))}, or pass a function")
    return INITIALIZERS[init]
