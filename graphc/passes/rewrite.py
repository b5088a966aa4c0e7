"""Rewrite rules as data, and the capped fixed-point engine that applies them.

A rule is a named function `node -> replacement or None`, listed under the op
classes it looks at. The engine rebuilds the graph bottom-up, so a rule sees
inputs that are already rewritten; it repeats until nothing fires, with hard
caps on rounds and on node growth that name the rule responsible when hit.
"""
from __future__ import annotations

from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..ir import Graph, GraphcError, Tensor, remake, substitute, toposort
from ..ir.source import INHERITED


class _Readers:
    """Readers of each node of the graph a rewrite round started from (graph outputs count as readers),
    counted when a rule first asks: most rule sets never do.

    A node rebuilt in this round (its inputs were rewritten) stands for the nodes it replaced: their
    readers now read it. Without that, a rule that asks (`adjacent slices` opening a sum tree) could
    not fire below a rewritten node until the next round, and a chain of T steps (an unrolled
    recurrence's gradient) took T rounds to settle."""

    def __init__(self, graph: Graph | None):
        self.graph, self._count = graph, None
        self._replaced: dict[Tensor, list[Tensor]] = {}

    def replaced(self, old: Tensor, new: Tensor) -> None:
        """Record that the readers of `old` (a node of the round's graph) read `new` from now on."""
        if new is not old:
            self._replaced.setdefault(new, []).append(old)

    def of(self, node: Tensor) -> int | None:
        if self._count is None:
            roots = self.graph.roots() if self.graph is not None else []
            self._count = Counter({n: 0 for n in toposort(roots)})
            for n in list(self._count):
                self._count.update(n.inputs)
            self._count.update(roots)
        olds = self._replaced.get(node, [])
        if node not in self._count and not olds:
            return None
        return sum(self._count[n] for n in olds) + self._count.get(node, 0)


_READERS: ContextVar[_Readers] = ContextVar("readers", default=_Readers(None))  # noqa: B039 - it reads no graph: its count is empty


def uses(node: Tensor) -> int | None:
    """How many nodes (and graph outputs) read `node`; None for a node a rule built during this round."""
    return _READERS.get().of(node)


class RewriteError(GraphcError):
    """A rule set did not settle within its caps."""


@dataclass(frozen=True)
class Rule:
    name: str
    ops: tuple[type, ...]
    fn: Callable[[Tensor], Tensor | None]
    doc: str = ""


class RuleSet:
    """Rules indexed by the op classes they look at (subclasses match too)."""

    def __init__(self, name: str, rules: Iterable[Rule] = ()):
        self.name = name
        self.rules: list[Rule] = list(rules)
        self._by_type: dict[type, list[Rule]] = {}

    def rule(self, *ops: type, name: str | None = None) -> Callable:
        """Decorator: register `fn(node)` as a rule for nodes of `ops`."""
        def register(fn: Callable[[Tensor], Tensor | None]) -> Callable:
            self.rules.append(Rule(name or fn.__name__, ops, fn, (fn.__doc__ or "").strip()))
            self._by_type.clear()
            return fn
        return register

    def for_op(self, op: object) -> list[Rule]:
        rules = self._by_type.get(type(op))
        if rules is None:
            rules = self._by_type[type(op)] = [r for r in self.rules if isinstance(op, r.ops)]
        return rules


@dataclass
class RewriteStats:
    fired: Counter = field(default_factory=Counter)


def map_graph(graph: Graph, rebuild: Callable[[Tensor, tuple[Tensor, ...]], Tensor]) -> Graph:
    """The graph rebuilt node by node through `rebuild(old_node, new_inputs)`."""
    roots = graph.roots()
    new = substitute(roots + list(graph.inputs), {x: x for x in graph.inputs}, rebuild=rebuild, order=graph.nodes)
    n = len(graph.outputs)
    values = new[n:len(roots)]
    return Graph(graph.inputs, tuple(new[:n]), tuple((p, v) for (p, _), v in zip(graph.updates, values)))


def rewrite(graph: Graph, rules: RuleSet, stats: RewriteStats, max_rounds: int = 20,
            max_growth: float = 4.0, per_node: int = 32) -> Graph:
    """Apply `rules` to a fixed point, within caps on rounds and graph growth."""
    limit = int(max_growth * len(graph)) + 64

    for _ in range(max_rounds):
        fired_now: Counter = Counter()
        readers = _Readers(graph)

        def rebuild(node: Tensor, inputs: tuple[Tensor, ...]) -> Tensor:
            current = remake(node, inputs)
            for _ in range(per_node):
                for rule in rules.for_op(current.op):
                    token = INHERITED.set(current.loc)
                    try:
                        out = rule.fn(current)
                    finally:
                        INHERITED.reset(token)
                    if out is not None and out is not current:
                        _check_type(rule, current, out)
                        fired_now[rule.name] += 1  # noqa: B023 - called in this iteration
                        current = out
                        break
                else:
                    readers.replaced(node, current)  # noqa: B023 - called in this iteration
                    return current
            raise RewriteError(f"{rules.name}: node {node!r} kept being rewritten; last rules: "
                               f"{', '.join(r for r, _ in fired_now.most_common(3))}", loc=node.loc)  # noqa: B023 - called in this iteration

        token = _READERS.set(readers)
        try:
            graph = map_graph(graph, rebuild)
        finally:
            _READERS.reset(token)
        stats.fired.update(fired_now)
        if len(graph) > limit:
            culprit = fired_now.most_common(1)[0][0] if fired_now else "?"
            raise RewriteError(f"{rules.name}: the graph grew to {len(graph)} nodes (cap {limit}); "
                               f"rule {culprit!r} fired most", locate=False)
        if not fired_now:
            return graph
    raise RewriteError(f"{rules.name}: no fixed point after {max_rounds} rounds; still firing: "
                       f"{', '.join(r for r, _ in fired_now.most_common(3))}", locate=False)


def _check_type(rule: Rule, old: Tensor, new: Tensor) -> None:
    if new.shape != old.shape or new.dtype != old.dtype:
        raise RewriteError(f"rule {rule.name!r} changed {old.type_str()} into {new.type_str()} "
                           f"at {old.op.name}", loc=old.loc)
