"""`derivatives`: every method on one problem, side by side, scored against one reference."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from ..autodiff import grad
from ..ir import Tensor
from .finite import SCHEMES, STEPS, Sweep, finite_difference, sweep_errors
from .graph_methods import forward, reverse
from .limits import Budget, Exceeded, Limits
from .problem import Problem, make_problem
from .result import MethodResult
from .scalarize import scalarize
from .symbolic import Derivative, mp_evaluate, symbolic

METHODS = ("symbolic", "reverse", "forward", "fd-forward", "fd-central")

_GRAPH_METHODS: dict[str, Callable[[Problem, Limits], MethodResult]] = {
    "reverse": reverse,
    "forward": forward,
    "fd-forward": lambda p, limits: finite_difference(p, limits, "forward"),
    "fd-central": lambda p, limits: finite_difference(p, limits, "central"),
}


@dataclass
class Comparison:
    """The results of each method on `problem`, and the reference they were scored against."""

    problem: Problem
    results: list[MethodResult]
    reference: list[np.ndarray] | None
    reference_label: str
    derivative: Derivative | None  # the symbolic derivative, when it stayed within the limits

    def __getitem__(self, method: str) -> MethodResult:
        return next(r for r in self.results if r.method == method)


def derivatives(cost: Tensor, wrt: Sequence[Tensor], inputs: Mapping[Tensor, np.ndarray],
                methods: Sequence[str] = METHODS, limits: Limits = Limits(), simplify: bool = False,
                name: str = "") -> Comparison:
    """Differentiate the scalar `cost` with respect to `wrt` at `inputs` by each method.

    Reports sizes, derive/compile/evaluate times and errors against mpmath at 50
    digits; a method that hits a limit reports where instead of running on.
    """
    problem = make_problem(cost, wrt, inputs, name)
    return compare_problem(problem, methods, limits, simplify)


def compare_problem(problem: Problem, methods: Sequence[str] = METHODS, limits: Limits = Limits(),
                    simplify: bool = False) -> Comparison:
    """`derivatives` for an already built `Problem`: each method's derivative, size, times and error
    against the reference."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"compare: unknown methods {unknown}; choose from {', '.join(METHODS)}")
    results, derivative = [], None
    for m in methods:
        if m == "symbolic":
            result, derivative = symbolic(problem, limits, simplify)
        else:
            result = _GRAPH_METHODS[m](problem, limits)
        results.append(result)
    ref, label = reference(problem, derivative, limits)
    for r in results:
        r.score(ref)
    return Comparison(problem, results, ref, label, derivative)


def reference(problem: Problem, derivative: Derivative | None,
              limits: Limits = Limits()) -> tuple[list[np.ndarray] | None, str]:
    """mpmath at 50 digits of the symbolic derivative, else of the scalarized reverse-mode graph.

    The reverse-mode graph shares its subexpressions, so it scalarizes to a small DAG
    even where the symbolic derivative's tree has swollen past the limits.
    """
    if derivative is not None:
        return mp_evaluate(derivative, problem), "mpmath (50 digits) of the symbolic derivative"
    try:
        Budget(limits).check_elements(problem.n_elements, "reference")
    except Exceeded:
        return None, "none (too many input elements)"
    grads = grad(problem.cost, list(problem.wrt))
    leaves = dict(zip(problem.placeholders, problem.symbols))
    exprs = [e for arr in scalarize(grads, leaves) for e in arr.flat]
    return mp_evaluate(Derivative.of(exprs), problem), "mpmath (50 digits) of the reverse-mode graph"


def fd_sweep(problem: Problem, steps: Sequence[float] = STEPS, schemes: Sequence[str] = SCHEMES,
             reference_values: Sequence[np.ndarray] | None = None) -> Sweep:
    """Finite-difference error against step size, in the problem's dtype, scored against its own
    50-digit reference (computed here unless given)."""
    if reference_values is None:
        reference_values, _ = reference(problem, None)
    return sweep_errors(problem, reference_values, steps, schemes)
