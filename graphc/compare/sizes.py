"""How big a derivative is: operations in a SymPy tree, op nodes in a graph.

A SymPy expression shares subexpressions as Python objects, but written out as a
formula it is a tree: that tree is what "expression swell" is about. The count
is memoized over the shared DAG, so measuring a tree of 10^9 operations is cheap.
"""
from __future__ import annotations

from typing import Iterable

import sympy as sp

from ..ir import Tensor, toposort


class TreeSizer:
    """Operations in expression trees, without sharing: an n-ary + or * counts n - 1, any other call 1.

    On expressions free of subtraction and division this equals `sympy.count_ops`.
    """

    def __init__(self) -> None:
        self._memo: dict[sp.Basic, int] = {}

    def __call__(self, expr: sp.Basic) -> int:
        memo = self._memo
        stack = [expr]
        while stack:  # iterative post-order: deep trees do not hit the recursion limit
            e = stack[-1]
            if e in memo:
                stack.pop()
                continue
            todo = [a for a in e.args if a not in memo]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            memo[e] = _own_ops(e) + sum(memo[a] for a in e.args)
        return memo[expr]

    def total(self, exprs: Iterable[sp.Basic]) -> int:
        """The summed tree size of `exprs` (each counted as a tree, as printed)."""
        return sum(self(e) for e in exprs)


def _own_ops(e: sp.Basic) -> int:
    if not e.args or isinstance(e, sp.functions.elementary.piecewise.ExprCondPair):
        return 0
    if isinstance(e, (sp.Add, sp.Mul)):
        return len(e.args) - 1
    return 1


def graph_ops(outputs: Iterable[Tensor]) -> int:
    """Op nodes (not leaves) the outputs depend on."""
    return sum(1 for n in toposort(list(outputs)) if not n.op.is_leaf)


def new_graph_ops(outputs: Iterable[Tensor], forward: Iterable[Tensor]) -> int:
    """Op nodes of `outputs` that the forward graph does not already have."""
    known = set(toposort(list(forward)))
    return sum(1 for n in toposort(list(outputs)) if not n.op.is_leaf and n not in known)
