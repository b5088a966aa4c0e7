"""Canonical forms, so that equal computations become one (hash-consed) node.

Commutative ops get their operands in a fixed order (constants last, then by
position in the graph): with hash-consing, that is common-subexpression
elimination. Subtraction of a negation becomes addition, and `x * x` a square.
"""
from __future__ import annotations

from ..ir import Constant, Graph, Tensor, remake, toposort
from ..ops import elementwise as ew
from .rewrite import RewriteStats, RuleSet, map_graph, rewrite

COMMUTATIVE = (ew.ADD, ew.MUL, ew.MAXIMUM, ew.MINIMUM, ew.EQUAL, ew.NOT_EQUAL, ew.AND, ew.OR)
CANONICAL = RuleSet("canonicalize")


@CANONICAL.rule(ew.Subtract, name="x-(-y)")
def sub_negation(node: Tensor):
    a, b = node.inputs
    return ew.add(a, b.inputs[0]) if b.op is ew.NEG else None


@CANONICAL.rule(ew.Add, name="x+(-y)")
def add_negation(node: Tensor):
    a, b = node.inputs
    if b.op is ew.NEG:
        return ew.subtract(a, b.inputs[0])
    if a.op is ew.NEG:
        return ew.subtract(b, a.inputs[0])
    return None


@CANONICAL.rule(ew.Multiply, name="x*x")
def mul_self(node: Tensor):
    a, b = node.inputs
    return ew.square(a) if a is b else None


def canonicalize(graph: Graph, stats: RewriteStats) -> Graph:
    return rewrite(graph, CANONICAL, stats)


def cse(graph: Graph, stats: RewriteStats) -> Graph:
    """Order commutative operands canonically; hash-consing then merges the equal nodes."""
    position = {node: i for i, node in enumerate(toposort(graph.roots()))}

    def key(t: Tensor) -> tuple:
        return (isinstance(t.op, Constant), position.get(t, len(position)))

    def rebuild(node: Tensor, inputs: tuple[Tensor, ...]) -> Tensor:
        if node.op in COMMUTATIVE:
            order = sorted(range(2), key=lambda i: key(node.inputs[i]))
            if order != [0, 1]:
                stats.fired["commute"] += 1
                inputs = tuple(inputs[i] for i in order)
        return remake(node, inputs)

    return map_graph(graph, rebuild)
