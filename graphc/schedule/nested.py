"""The kernel program of a `scan` body, for backends that run the loop natively.

A scan node carries its step as a closed subgraph. To run the loop without
interpreting that subgraph op by op, a backend compiles the body like any
function: specialized to the concrete shapes of the loop's operands,
optimized by the same passes, and scheduled into a program whose inputs are
(carry, per-step slices..., constants...) and whose one output is the new carry.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from ..ir import Graph, placeholder
from ..control.loop import Body
from .lower import lower
from .program import KernelProgram


def body_program(body: Body, shapes: Sequence[tuple[int, ...]]) -> KernelProgram:
    """The program of one step for the operand shapes (carry, step slices..., constants...)."""
    return _body_program(body, tuple(tuple(s) for s in shapes))


@lru_cache(maxsize=64)
def _body_program(body: Body, shapes: tuple[tuple[int, ...], ...]) -> KernelProgram:
    from ..passes import optimize  # passes come before scheduling; only a nested body needs them here
    inputs = (body.carry, *body.steps, *body.consts)
    graph = Graph(inputs, (body.out,), ())
    mapping = {x: placeholder(s, x.dtype, name=x.name) for x, s in zip(inputs, shapes) if s != x.shape}
    if mapping:
        graph = graph.replace(mapping)
    optimized, _ = optimize(graph, "O2")
    return lower(optimized, in_place=False)
