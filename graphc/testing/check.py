"""Checking gradients against finite differences (`gc.testing.check_grad`)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..autodiff import grad
from ..function import function
from ..ir import Tensor, placeholder


def numerical_grad(f: Callable[[list[np.ndarray]], float], args: list[np.ndarray], eps: float) -> list[np.ndarray]:
    """Central differences of a scalar function of arrays (float64)."""
    grads = []
    for a in args:
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            old = a[i]
            a[i] = old + eps
            up = f(args)
            a[i] = old - eps
            down = f(args)
            a[i] = old
            g[i] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def check_grad(fn: Callable[..., Tensor], args: Sequence[np.ndarray], *, order: int = 1,
               eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-6, backend: str = "numpy") -> float:
    """Assert that the symbolic gradients of `fn` match central differences, in float64.

    `fn` maps placeholders (one per array in `args`) to a scalar tensor. With
    `order=2` the gradient of each gradient (a Hessian-vector product along a
    random direction) is checked too. Returns the largest absolute error seen.
    """
    arrays = [np.array(a, dtype=np.float64) for a in args]
    xs = [placeholder(a.shape, "float64", name=f"arg{i}") for i, a in enumerate(arrays)]
    cost = fn(*xs)
    if not isinstance(cost, Tensor) or cost.shape != ():
        raise ValueError("check_grad: fn must return a scalar tensor")
    worst = _compare(xs, cost, arrays, eps, rtol, atol, "gradient", backend)
    if order >= 2:
        rng = np.random.default_rng(0)
        dirs = [rng.standard_normal(a.shape) for a in arrays]
        gs = grad(cost, xs, disconnected="zero")
        directional = sum(((g * d).sum() for g, d in zip(gs, dirs)), start=0.0 * cost)
        worst = max(worst, _compare(xs, directional, arrays, eps, rtol, atol, "second derivative", backend))
    return worst


def _compare(xs, cost, arrays, eps, rtol, atol, what, backend) -> float:
    f = function(xs, cost, backend=backend)
    g = function(xs, grad(cost, xs, disconnected="zero"), backend=backend)
    symbolic = g(*arrays)
    numeric = numerical_grad(lambda a: float(f(*a)), [a.copy() for a in arrays], eps)
    worst = 0.0
    for i, (s, n) in enumerate(zip(symbolic, numeric)):
        err = np.abs(s - n)
        worst = max(worst, float(err.max(initial=0.0)))
        if not np.all(err <= atol + rtol * np.abs(n)):
            k = np.unravel_index(np.argmax(err - rtol * np.abs(n)), err.shape) if err.size else ()
            raise AssertionError(f"{what} of argument {i} differs from finite differences at index {k}: "
                                 f"symbolic {s[k]!r}, numeric {n[k]!r} (max abs error {err.max():.3g})")
    return worst
