"""Symbolic differentiation: scalarize the graph, `sympy.diff` each element, CSE, lambdify.

Also the high-precision reference: the same expressions evaluated by mpmath at 50 digits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import mpmath
import numpy as np
import sympy as sp

from .limits import Budget, Exceeded, Limits
from .problem import Problem
from .result import MethodResult
from .scalarize import scalarize
from .sizes import TreeSizer
from .timing import best_time, timed

REFERENCE_DIGITS = 50


@dataclass
class Derivative:
    """d cost / d w for every element of every `wrt`, as SymPy expressions (flat, in order)."""

    exprs: list[sp.Expr]
    replacements: list[tuple[sp.Symbol, sp.Expr]]
    reduced: list[sp.Expr]

    @classmethod
    def of(cls, exprs: list[sp.Expr]) -> "Derivative":
        # order='none': the canonical ordering walks whole trees, which is what swell makes huge.
        replacements, reduced = sp.cse(exprs, order="none")
        return cls(exprs, replacements, reduced)

    def shared_size(self) -> int:
        size = TreeSizer()
        return size.total(e for _, e in self.replacements) + size.total(self.reduced)

    def lambdify(self, problem: Problem, modules: str):
        args = [s for arr in problem.symbols for s in arr.flat]
        # Handing lambdify the reduced forms keeps it from printing the (huge) trees for a docstring.
        return sp.lambdify(args, self.reduced, modules=modules, cse=lambda reduced: (self.replacements, reduced))

    def unflatten(self, values: Sequence, problem: Problem) -> list[np.ndarray]:
        out, k = [], 0
        for w in problem.wrt:
            n = int(np.prod(w.shape))
            out.append(np.array([float(v) for v in values[k:k + n]], dtype=np.float64).reshape(w.shape))
            k += n
        return out


def differentiate(problem: Problem, budget: Budget, sizer: TreeSizer,
                  simplify: bool = False) -> tuple[list[sp.Expr], str]:
    """The derivative expressions (flat over the wrt elements) and a note on simplification."""
    budget.check_elements(problem.n_elements, "symbolic")
    leaves = dict(zip(problem.placeholders, problem.symbols))
    (cost,) = scalarize([problem.cost], leaves, budget, sizer)
    expr = cost[()]
    out = []
    for k, s in enumerate(problem.wrt_symbols()):
        d = sp.diff(expr, s)
        budget.check_tree(sizer(d), f"diff {k + 1}/{problem.n_elements}")
        out.append(d)
    if not simplify:
        return out, ""
    largest = max((sizer(d) for d in out), default=0)
    if largest > budget.limits.simplify_max_tree:
        return out, f"not simplified (tree {largest} > {budget.limits.simplify_max_tree})"
    simplified = []
    for k, d in enumerate(out):
        simplified.append(sp.simplify(d))
        budget.check_time(f"simplify {k + 1}/{len(out)}")
    return simplified, "simplified"


def symbolic(problem: Problem, limits: Limits, simplify: bool = False) -> tuple[MethodResult, Derivative | None]:
    """The "symbolic" method, and its derivative (None when a limit was hit)."""
    budget = Budget(limits)
    sizer = TreeSizer()
    result = MethodResult("symbolic")
    try:
        exprs, result.note = differentiate(problem, budget, sizer, simplify)
        result.derive_s = budget.elapsed()
        result.tree = sizer.total(exprs)
        (derivative, fn), result.compile_s = timed(lambda: _compiled(exprs, problem))
        result.shared = derivative.shared_size()
        budget.check_time("cse and lambdify")
    except Exceeded as e:
        result.status = f"exceeded at {e.at}"
        return result, None
    args = problem.flat_values()
    result.gradient = derivative.unflatten(fn(*args), problem)
    result.eval_s = best_time(lambda: fn(*args))
    return result, derivative


def _compiled(exprs: list[sp.Expr], problem: Problem):
    derivative = Derivative.of(exprs)
    return derivative, derivative.lambdify(problem, "numpy")


def mp_evaluate(derivative: Derivative, problem: Problem) -> list[np.ndarray]:
    """The derivative at the problem's values, evaluated with mpmath at 50 digits (exact inputs)."""
    fn = derivative.lambdify(problem, "mpmath")
    with mpmath.workdps(REFERENCE_DIGITS):
        values = fn(*[mpmath.mpf(float(v)) for v in problem.flat_values()])
    return derivative.unflatten(values, problem)
