"""Kernel order: elementwise kernels of one shape moved next to each other, before memory planning.

Any topological order computes the same values; the graph's depth-first order
interleaves work that a backend could run as one loop (the LLVM backend fuses
runs of elementwise kernels over one domain: backends/llvm/groups.py). Adam's
step for a weight is three kernels (moment m, moment v, parameter), and the
step-count scalars the last one reads come between them. Sinking each
elementwise kernel to just before the next elementwise kernel of its shape,
past kernels that do not read its output, puts the three together. It runs
before memory planning, so liveness and in-place updates see the final order.
"""
from __future__ import annotations

from typing import Sequence

from .program import Buffer, Kernel


def cluster_elementwise(kernels: Sequence[Kernel], buffers: Sequence[Buffer]) -> list[Kernel]:
    """The kernels in an order where each elementwise kernel runs just before the next elementwise
    kernel of its output shape, unless a kernel between them reads its output."""
    order = list(kernels)
    for i in range(len(order) - 2, -1, -1):
        k = order[i]
        if k.kind != "elementwise":
            continue
        shape = buffers[k.output].shape
        target = None
        for j in range(i + 1, len(order)):
            x = order[j]
            if x.kind == "elementwise" and buffers[x.output].shape == shape:
                target = j
                break
            if any(v.buffer == k.output for v in x.inputs):
                break
        if target is not None and target > i + 1:
            order.insert(target - 1, order.pop(i))
    return order
