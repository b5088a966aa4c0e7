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
    kernel of its output shape, unless a kernel between them reads its output.

    Kernels are visited from the last to the first; a kernel that moves goes just before the first
    elementwise kernel of its shape among those after it (a chain's head), and later moves only go in
    front of it. So a kernel's place is a rank: (index, 0) where it stays, (the chain's first component,
    a count that falls with each move) where it moves, and a reader comes before the chain's head
    exactly when its rank is lower. Each kernel and each edge is looked at once (a forward scan per
    kernel was quadratic: an output read far away, the scan ran to the reader)."""
    readers: dict[int, list[int]] = {}
    for j, x in enumerate(kernels):
        for v in x.inputs:
            readers.setdefault(v.buffer, []).append(j)
    rank: list[tuple[int, int]] = [(j, 0) for j in range(len(kernels))]
    head: dict[tuple, int] = {}  # output shape -> the first elementwise kernel of that shape after this one
    moves = 0
    for i in range(len(kernels) - 1, -1, -1):
        k = kernels[i]
        if k.kind != "elementwise":
            continue
        shape = buffers[k.output].shape
        target = head.get(shape)
        if target is not None and all(rank[r] >= rank[target] for r in readers.get(k.output, ())):
            moves += 1
            rank[i] = (rank[target][0], -moves)
        head[shape] = i
    return [kernels[j] for j in sorted(range(len(kernels)), key=rank.__getitem__)]
