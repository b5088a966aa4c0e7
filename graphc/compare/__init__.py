"""Symbolic differentiation, automatic differentiation and finite differences, side by side.

    import graphc as gc
    cmp = gc.compare.derivatives(cost, [w1, b1], {x: 0.5, y: 1.0})
    print(gc.compare.table(cmp))

A tool on top of graphc: the core never imports it.
"""
from .comparison import METHODS, Comparison, compare_problem, derivatives, fd_sweep, reference
from .finite import Sweep, optimal_step
from .limits import Exceeded, Limits
from .problem import Problem, make_problem
from .result import MethodResult
from .scalarize import scalarize, symbols_like
from .sizes import TreeSizer, graph_ops, new_graph_ops

__all__ = [
    "METHODS", "Comparison", "compare_problem", "derivatives", "reference",
    "Sweep", "fd_sweep", "optimal_step", "Exceeded", "Limits", "Problem", "make_problem",
    "MethodResult", "scalarize", "symbols_like", "TreeSizer", "graph_ops", "new_graph_ops",
]
