"""Small model builders shared by the tests and the benchmarks, so both measure the same graph."""
from __future__ import annotations

import numpy as np

from ..autodiff import grad
from ..ir import Tensor
from ..ir.leaves import parameter, placeholder
from ..ops import mean, tanh


def deep_tanh_mlp(layers: int) -> tuple[Tensor, Tensor, list[tuple[Tensor, Tensor]]]:
    """`(x, loss, updates)` of one SGD step on a tanh MLP `layers` deep (8 wide, batch 4, float32):
    activations live from the forward to the backward pass, about 19 nodes a layer."""
    rng = np.random.default_rng(0)
    x = placeholder((4, 8), "float32", "x")
    h, params = x, []
    for _ in range(layers):
        w = parameter(rng.uniform(-0.3, 0.3, (8, 8)).astype(np.float32))
        b = parameter(np.zeros(8, np.float32))
        params += [w, b]
        h = tanh(h @ w + b)
    loss = mean(h * h)
    grads = grad(loss, params)
    return x, loss, [(p, p - 0.01 * g) for p, g in zip(params, grads)]
