"""The kernel program of a `scan` body, for backends that run the loop natively.

A scan node carries its step as a closed subgraph. To run the loop without
interpreting that subgraph op by op, a backend compiles the body like any
function: specialized to the concrete shapes of the loop's operands,
optimized by the same passes, and scheduled into a program whose inputs are
(carry, per-step slices..., constants...) and whose one output is the new carry.
A backend may take some matrix constants transposed (stored with their last
two axes swapped, the body reading them through a transpose view): the loop
then lays a weight out once the way its products inside want it.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from ..ir import Graph, placeholder, substitute
from ..ops.loop import Body
from ..ops.shape import transpose
from .lower import lower
from .program import KernelProgram


def body_program(body: Body, shapes: Sequence[tuple[int, ...]], transposed: Sequence[int] = ()) -> KernelProgram:
    """The program of one step for the operand shapes (carry, step slices..., constants...); the
    constants numbered `transposed` are inputs with their last two axes swapped."""
    return _body_program(body, tuple(tuple(s) for s in shapes), tuple(sorted(transposed)))


def swapped(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape[:-2] + shape[-2:][::-1]


@lru_cache(maxsize=64)
def _body_program(body: Body, shapes: tuple[tuple[int, ...], ...], transposed: tuple[int, ...]) -> KernelProgram:
    from ..passes import optimize  # passes come before scheduling; only a nested body needs them here
    inputs = (body.carry, *body.steps, *body.consts)
    flip = {len(inputs) - len(body.consts) + c for c in transposed}
    mapping, new_inputs = {}, []
    for i, (x, s) in enumerate(zip(inputs, shapes)):
        if i in flip:
            ph = placeholder(swapped(s), x.dtype, name=x.name)
            mapping[x] = transpose(ph, tuple(range(len(s) - 2)) + (len(s) - 1, len(s) - 2))
        else:
            ph = placeholder(s, x.dtype, name=x.name) if s != x.shape else x
            if ph is not x:
                mapping[x] = ph
        new_inputs.append(ph)
    out = substitute([body.out], mapping)[0] if mapping else body.out
    optimized, _ = optimize(Graph(tuple(new_inputs), (out,), ()), "O2")
    return lower(optimized, in_place=False)
