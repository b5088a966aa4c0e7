"""Automatic differentiation as graphc does it: reverse mode (one pass) and forward mode (one per input).

Both build derivative *graphs* that share the forward graph's nodes; their size is
counted in op nodes, and they run as built on the NumPy reference backend.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..autodiff import grad, jvp
from ..ir import Tensor, constant
from .compile import compile_plain
from .limits import Budget, Exceeded, Limits
from .problem import Problem
from .result import MethodResult
from .sizes import graph_ops, new_graph_ops
from .timing import best_time, timed


def reverse(problem: Problem, limits: Limits) -> MethodResult:
    """`gc.grad`: every partial derivative from one backward pass."""
    grads, derive_s = timed(lambda: grad(problem.cost, list(problem.wrt)))
    return _run("reverse", problem, grads, derive_s, lambda outs: outs)


def forward(problem: Problem, limits: Limits) -> MethodResult:
    """`gc.jvp` along each unit vector: one forward pass per input element."""
    budget = Budget(limits)
    try:
        budget.check_elements(problem.n_elements, "forward")
        tangents, derive_s = timed(lambda: _unit_tangents(problem, budget))
    except Exceeded as e:
        return MethodResult("forward", status=f"exceeded at {e.at}")

    def assemble(outs: list[np.ndarray]) -> list[np.ndarray]:
        grads, k = [], 0
        for w in problem.wrt:
            n = int(np.prod(w.shape))
            grads.append(np.array(outs[k:k + n]).reshape(w.shape))
            k += n
        return grads
    passes = f"{problem.n_elements} pass" + ("es" if problem.n_elements != 1 else "")
    return _run("forward", problem, tangents, derive_s, assemble, note=passes)


def _unit_tangents(problem: Problem, budget: Budget) -> list[Tensor]:
    outs = []
    for w in problem.wrt:
        for i in np.ndindex(*w.shape):
            e = np.zeros(w.shape, w.dtype)
            e[i] = 1
            outs.append(jvp(problem.cost, w, constant(e)))
            budget.check_time(f"jvp {len(outs)}/{problem.n_elements}")
    return outs


def _run(method: str, problem: Problem, outputs: list[Tensor], derive_s: float,
         assemble: Callable[[list[np.ndarray]], list[np.ndarray]], note: str = "") -> MethodResult:
    args = list(problem.values)
    fn, build_s = timed(lambda: compile_plain(problem.placeholders, outputs))
    values, first_s = timed(lambda: fn(*args))
    return MethodResult(
        method, shared=graph_ops(outputs), new=new_graph_ops(outputs, [problem.cost]),
        derive_s=derive_s, compile_s=build_s + first_s, eval_s=best_time(lambda: fn(*args)),
        gradient=[np.asarray(g, dtype=np.float64) for g in assemble(list(values))], note=note)
