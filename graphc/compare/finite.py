"""Finite differences: truncation error falls with the step h, rounding error grows as 1/h.

Forward differences err by ~h f''/2 + eps f/h, best near h = sqrt(eps); central
differences by ~h^2 f'''/6 + eps f/h, best near h = cbrt(eps). `fd_sweep` shows
both curves over h = 1e-1 .. 1e-15 in the problem's own dtype (`sweep_errors`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .compile import compile_plain
from .limits import Budget, Exceeded, Limits
from .problem import Problem
from .result import MethodResult
from .sizes import graph_ops
from .timing import best_time, timed

SCHEMES = ("forward", "central")
STEPS = tuple(10.0 ** -k for k in range(1, 16))


def optimal_step(scheme: str, dtype: str) -> float:
    """The textbook step: sqrt(eps) for forward, cbrt(eps) for central differences."""
    eps = float(np.finfo(dtype).eps)
    return eps ** (1 / 2) if scheme == "forward" else eps ** (1 / 3)


def fd_gradient(f: Callable[[list[np.ndarray]], float], problem: Problem, h: float,
                scheme: str) -> list[np.ndarray]:
    """Every partial derivative by one (forward) or two (central) extra evaluations per element."""
    args = [np.array(v) for v in problem.values]
    base = f(args) if scheme == "forward" else None
    grads = []
    for k, w in enumerate(problem.wrt):
        g = np.zeros(w.shape, np.float64)
        x = args[k]
        for i in np.ndindex(*w.shape):
            old = x[i]
            x[i] = old + x.dtype.type(h)
            up = f(args)
            if scheme == "forward":
                g[i] = (up - base) / h
            else:
                x[i] = old - x.dtype.type(h)
                g[i] = (up - f(args)) / (2 * h)
            x[i] = old
        grads.append(g)
    return grads


def compiled_cost(problem: Problem) -> Callable[[list[np.ndarray]], float]:
    fn = compile_plain(problem.placeholders, [problem.cost])
    return lambda args: float(fn(*args)[0])


def finite_difference(problem: Problem, limits: Limits, scheme: str) -> MethodResult:
    """The "fd-forward" / "fd-central" method at its textbook step."""
    method = f"fd-{scheme}"
    try:
        Budget(limits).check_elements(problem.n_elements, method)
    except Exceeded as e:
        return MethodResult(method, status=f"exceeded at {e.at}")
    h = optimal_step(scheme, problem.dtype)
    f, compile_s = timed(lambda: _warm(compiled_cost(problem), problem))
    grads = fd_gradient(f, problem, h, scheme)
    evals = problem.n_elements * (1 if scheme == "forward" else 2) + (scheme == "forward")
    return MethodResult(method, shared=graph_ops([problem.cost]), new=0, derive_s=0.0, compile_s=compile_s,
                        eval_s=best_time(lambda: fd_gradient(f, problem, h, scheme), runs=3),
                        gradient=grads, note=f"h={h:.1e}, {evals} evaluations")


def _warm(f: Callable[[list[np.ndarray]], float], problem: Problem) -> Callable[[list[np.ndarray]], float]:
    f(list(problem.values))  # the first call compiles
    return f


@dataclass
class Sweep:
    """Normwise relative error of each scheme at each step, in one dtype."""

    dtype: str
    steps: tuple[float, ...]
    errors: dict[str, list[float]]

    def best_step(self, scheme: str) -> float:
        """The step with the smallest error for `scheme` (NaN errors ignored)."""
        return self.steps[int(np.nanargmin(self.errors[scheme]))]


def sweep_errors(problem: Problem, reference: Sequence[np.ndarray], steps: Sequence[float] = STEPS,
                 schemes: Sequence[str] = SCHEMES) -> Sweep:
    """Finite-difference error against `reference` for each step size, in the problem's dtype."""
    f = compiled_cost(problem)
    errors: dict[str, list[float]] = {}
    for scheme in schemes:
        errors[scheme] = []
        for h in steps:
            r = MethodResult(scheme, gradient=fd_gradient(f, problem, h, scheme))
            r.score(list(reference))
            errors[scheme].append(r.rel_err)
    return Sweep(problem.dtype, tuple(steps), errors)
