"""Problem families of growing depth, for the expression-swell study.

Each builder takes a depth and a dtype and returns a `Problem`. Depth is the
number of iterations of a map, or of layers of an MLP.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import ops
from ..ir import Tensor, parameter, placeholder
from .problem import Problem, make_problem


def iterated(depth: int, dtype: str = "float64") -> Problem:
    """x -> sin(x) * x, `depth` times, from x = 1.5 (it drifts slowly towards 0)."""
    x = placeholder((), dtype, name="x")
    f: Tensor = x
    for _ in range(depth):
        f = ops.mul(ops.sin(f), f)
    return make_problem(f, [x], {x: 1.5}, name=f"iterated sin(x)*x, depth {depth}")


def logistic(depth: int, dtype: str = "float64") -> Problem:
    """The logistic map x -> 3.7 x (1 - x), `depth` times, from x = 0.3 (chaotic, bounded)."""
    x = placeholder((), dtype, name="x")
    f: Tensor = x
    for _ in range(depth):
        f = ops.mul(ops.mul(3.7, f), ops.subtract(1.0, f))
    return make_problem(f, [x], {x: 0.3}, name=f"logistic map, depth {depth}")


def mlp(depth: int, dtype: str = "float64", width: int = 1, seed: int = 0) -> Problem:
    """The lectures' MLP made deeper: h = sigmoid(h W_k + b_k), L = sum((y - h)^2), wrt every W_k, b_k.

    With `width` 1 the weights are scalars and depth 2 is exactly the lecture's
    simplest MLP (n = sigmoid(w1 x + b1), m = sigmoid(w2 n + b2), L = (y - m)^2).
    """
    rng = np.random.default_rng(seed)
    shape = () if width == 1 else (width,)
    x = placeholder(shape, dtype, name="x")
    y = placeholder(shape, dtype, name="y")
    params, h = [], x
    for k in range(1, depth + 1):
        w_shape = () if width == 1 else (width, width)
        w = parameter(rng.normal(0, 1.5 / np.sqrt(width), w_shape).astype(dtype), name=f"w{k}")
        b = parameter(rng.normal(0, 0.5, shape).astype(dtype), name=f"b{k}")
        z = ops.mul(w, h) if width == 1 else ops.matmul(h, w)
        h = ops.sigmoid(ops.add(z, b))
        params += [w, b]
    loss = ops.sum(ops.square(ops.subtract(y, h)))
    values = {x: rng.uniform(-1, 1, shape).astype(dtype), y: rng.uniform(0, 1, shape).astype(dtype)}
    return make_problem(loss, params, values, name=f"MLP width {width}, depth {depth}")


def simplest(depth: int = 2, dtype: str = "float64") -> Problem:
    """The lecture's simplest MLP (depth is ignored: it is always two neurons)."""
    return mlp(2, dtype)


FAMILIES: dict[str, Callable[..., Problem]] = {
    "iterated": iterated, "logistic": logistic, "mlp": mlp, "simplest": simplest,
}
