"""Whole graphs: iterative traversal, substitution, and the `Graph` a function compiles."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from .leaves import Parameter, Placeholder
from .node import Tensor


def toposort(outputs: Iterable[Tensor]) -> list[Tensor]:
    """Every node the outputs depend on, inputs before users (iterative: no recursion limit)."""
    order: list[Tensor] = []
    seen: set[int] = set()
    for root in outputs:
        if id(root) in seen:
            continue
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for inp in reversed(node.inputs):
                if id(inp) not in seen:
                    stack.append((inp, False))
    return order


def substitute(outputs: Sequence[Tensor], mapping: Mapping[Tensor, Tensor],
               rebuild: Callable[[Tensor, tuple[Tensor, ...]], Tensor] | None = None) -> list[Tensor]:
    """The outputs with each key of `mapping` replaced by its value, types re-inferred.

    Nodes keep their source location. `rebuild(old, new_inputs)` may build a node
    differently (passes use this); by default the same op is applied to the new inputs.
    """
    rebuild = rebuild or remake
    new: dict[Tensor, Tensor] = dict(mapping)
    for node in toposort(outputs):
        if node not in new:
            new[node] = rebuild(node, tuple(new[i] for i in node.inputs))
    return [new[o] for o in outputs]


def remake(node: Tensor, inputs: tuple[Tensor, ...]) -> Tensor:
    """`node`'s op applied to new inputs (the node itself when they are unchanged)."""
    if all(a is b for a, b in zip(inputs, node.inputs)):
        return node
    return Tensor.make(node.op, inputs, loc=node.loc)


def placeholders_of(outputs: Iterable[Tensor]) -> list[Tensor]:
    return [n for n in toposort(outputs) if isinstance(n.op, Placeholder)]


def parameters_of(outputs: Iterable[Tensor]) -> list[Tensor]:
    return [n for n in toposort(outputs) if isinstance(n.op, Parameter)]


@dataclass(frozen=True)
class Graph:
    """What a backend compiles: inputs, outputs, and parameter updates.

    Updates are evaluated from the old parameter values and applied after the
    outputs are computed, as one step.
    """

    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    updates: tuple[tuple[Tensor, Tensor], ...] = ()
    nodes: tuple[Tensor, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        roots = list(self.outputs) + [v for _, v in self.updates] + list(self.inputs)
        object.__setattr__(self, "nodes", tuple(toposort(roots)))

    @property
    def parameters(self) -> list[Tensor]:
        """Every parameter the graph reads or updates, once each."""
        read = [n for n in self.nodes if isinstance(n.op, Parameter)]
        seen = set(read)
        return read + [p for p, _ in self.updates if p not in seen]

    def roots(self) -> list[Tensor]:
        return list(self.outputs) + [v for _, v in self.updates]

    def replace(self, mapping: Mapping[Tensor, Tensor]) -> "Graph":
        """The same graph with nodes substituted (inputs and updated parameters follow `mapping`)."""
        roots = self.roots()
        new_roots = substitute(roots + list(self.inputs), mapping)
        n_out = len(self.outputs)
        outs = new_roots[:n_out]
        vals = new_roots[n_out:len(roots)]
        ins = new_roots[len(roots):]
        ups = tuple((mapping.get(p, p), v) for (p, _), v in zip(self.updates, vals))
        return Graph(tuple(ins), tuple(outs), ups)

    def __len__(self) -> int:
        return len(self.nodes)
