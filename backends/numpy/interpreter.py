"""Graph interpretation with NumPy."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from graphc.backend import Backend
from graphc.ir import Constant, Graph, GraphcError, Parameter, Placeholder, Tensor


class NumpyBackend(Backend):
    name = "numpy"
    consumes = "graph"

    def available(self) -> str | None:
        return None

    def compile(self, graph: Graph) -> "Interpreter":
        return Interpreter(graph)


def _fits(shape: tuple, static: tuple) -> bool:
    return len(shape) == len(static) and all(s is None or s == d for d, s in zip(shape, static))


class Interpreter:
    """Runs one graph; values die after their last use."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.order = [n for n in graph.nodes if not isinstance(n.op, Placeholder)]
        roots = set(graph.roots())
        last_use: dict[Tensor, int] = {}
        for i, node in enumerate(self.order):
            for inp in node.inputs:
                last_use[inp] = i
        self.dead_after: list[list[Tensor]] = [[] for _ in self.order]
        for node, i in last_use.items():
            if node not in roots:
                self.dead_after[i].append(node)
        self.updated = [p.op.state for p, _ in graph.updates]
        self.states = [p.op.state for p in graph.parameters]

    def __call__(self, args: Sequence[np.ndarray]) -> list[np.ndarray]:
        env: dict[Tensor, np.ndarray] = dict(zip(self.graph.inputs, args))
        with np.errstate(all="ignore"):
            for i, node in enumerate(self.order):
                env[node] = self._eval(node, env)
                for dead in self.dead_after[i]:
                    env.pop(dead, None)
        g = self.graph
        outs = [self._own(env[o]) for o in g.outputs]
        news = [self._own(env[v]) for _, v in g.updates]
        for state, new in zip(self.updated, news):
            state.array[...] = new
        return outs

    def _own(self, a: np.ndarray) -> np.ndarray:
        """An array no parameter update can change: views and parameter buffers are copied."""
        shared = a.base is not None or not a.flags.owndata or not a.flags.writeable or \
            any(a is s.array for s in self.states)
        return a.copy() if shared else a

    @staticmethod
    def _eval(node: Tensor, env: dict) -> np.ndarray:
        op = node.op
        if isinstance(op, Parameter):
            return op.state.array
        if isinstance(op, Constant):
            return op.value
        args = [env[i] for i in node.inputs]
        try:
            val = np.asarray(op.numpy(*args))
        except GraphcError as e:  # the op's own run-time check (an index out of range)
            raise e.located(node.loc) from None
        except (ValueError, IndexError, TypeError) as e:
            shapes = ", ".join(f"{a.dtype}{list(a.shape)}" for a in args)
            raise GraphcError(f"{op.name} failed at run time on inputs {shapes}: {e}",
                              loc=node.loc) from None
        if val.dtype.name != node.dtype:
            val = val.astype(node.dtype)
        if not _fits(val.shape, node.shape):
            raise GraphcError(f"internal: {op.name} produced shape {val.shape}, "
                              f"its declared shape is {node.shape}", loc=node.loc)
        return val

