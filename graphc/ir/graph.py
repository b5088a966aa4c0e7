"""Whole graphs: iterative traversal, substitution, and the `Graph` a function compiles."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from .leaves import Parameter, Placeholder
from .node import Tensor


def toposort(outputs: Iterable[Tensor]) -> list[Tensor]:
    """Every node the outputs depend on, inputs before users (iterative: no recursion limit).

    Depth first, each node's inputs in order; passes call this dozens of times per compile, so
    it walks each edge once with one iterator per node and keys by id (Tensor.__hash__ is Python)."""
    order: list[Tensor] = []
    seen: set[int] = set()
    for root in outputs:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(root.inputs))]
        while stack:
            node, pending = stack[-1]
            for inp in pending:
                if id(inp) not in seen:
                    seen.add(id(inp))
                    stack.append((inp, iter(inp.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def substitute(outputs: Sequence[Tensor], mapping: Mapping[Tensor, Tensor],
               rebuild: Callable[[Tensor, tuple[Tensor, ...]], Tensor] | None = None,
               order: Sequence[Tensor] | None = None) -> list[Tensor]:
    """The outputs with each key of `mapping` replaced by its value, types re-inferred.

    Nodes keep their source location. `rebuild(old, new_inputs)` may build a node
    differently (passes use this); by default the same op is applied to the new inputs.
    `order` is `toposort(outputs)` when the caller has it already (a Graph's `nodes`).
    """
    rebuild = rebuild or remake
    new = {id(k): v for k, v in mapping.items()}  # by id: the nodes stay alive in `outputs`
    for node in toposort(outputs) if order is None else order:
        if id(node) not in new:
            new[id(node)] = rebuild(node, tuple([new[id(i)] for i in node.inputs]))
    return [new[id(o)] for o in outputs]


def remake(node: Tensor, inputs: tuple[Tensor, ...]) -> Tensor:
    """`node`'s op applied to new inputs (the node itself when they are unchanged)."""
    for a, b in zip(inputs, node.inputs):
        if a is not b:
            return Tensor.make(node.op, inputs, loc=node.loc)
    return node


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
        """The outputs and the updates' new values: everything the graph computes."""
        return list(self.outputs) + [v for _, v in self.updates]

    def replace(self, mapping: Mapping[Tensor, Tensor],
                rebuild: Callable[[Tensor, tuple[Tensor, ...]], Tensor] | None = None) -> "Graph":
        """The same graph with nodes substituted (inputs and updated parameters follow `mapping`;
        `rebuild` as in `substitute`)."""
        roots = self.roots()
        new_roots = substitute(roots + list(self.inputs), mapping, rebuild)
        n_out = len(self.outputs)
        outs = new_roots[:n_out]
        vals = new_roots[n_out:len(roots)]
        ins = new_roots[len(roots):]
        ups = tuple((mapping.get(p, p), v) for (p, _), v in zip(self.updates, vals))
        return Graph(tuple(ins), tuple(outs), ups)

    def __len__(self) -> int:
        return len(self.nodes)
