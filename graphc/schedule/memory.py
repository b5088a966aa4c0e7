"""Memory planning: temporaries share one arena by liveness; updates may happen in place."""
from __future__ import annotations

from typing import Sequence

from .program import Buffer, Kernel, MemoryPlan, View

ALIGN = 64  # bytes: cache lines, and the widest vector loads


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _lifetimes(buffers: Sequence[Buffer], kernels: Sequence[Kernel], pinned: set[int]) -> dict[int, list[int]]:
    """[first kernel that writes, last kernel that reads] of each temporary (pinned ones live to the end)."""
    end = len(kernels)
    life: dict[int, list[int]] = {}
    for i, k in enumerate(kernels):
        life[k.output] = [i, i]
        for v in k.inputs:
            if v.buffer in life:
                life[v.buffer][1] = i
    for b in pinned:
        if b in life:
            life[b][1] = end
    return life


def _in_place(buffers, kernels, outputs, updates) -> dict[int, int]:
    """Updates whose new value can be written straight into the parameter's buffer.

    Safe when the value is the whole, dense output of an elementwise kernel, no
    kernel after it reads the parameter, the kernel itself reads the parameter
    only at the element it writes, and nothing else keeps the old value.
    """
    producer = {k.output: i for i, k in enumerate(kernels)}
    roots = {v.buffer for v in outputs} | {v.buffer for _, v in updates}
    chosen: dict[int, int] = {}
    for param, value in updates:
        k = producer.get(value.buffer)
        if k is None or not _writes_elementwise(kernels[k], param) or not value.is_dense() or value.offset:
            continue
        if value.buffer in {v.buffer for v in outputs} or param in roots - {value.buffer}:
            continue
        if buffers[param].shape != buffers[value.buffer].shape or buffers[param].dtype != buffers[value.buffer].dtype:
            continue
        readers = [i for i, kern in enumerate(kernels) for v in kern.inputs if v.buffer == param]
        same_place = all(v.is_dense() and v.offset == 0 and v.shape == buffers[param].shape
                         for v in kernels[k].inputs if v.buffer == param)
        if all(i <= k for i in readers) and same_place:
            chosen[value.buffer] = param
    return chosen


def _writes_elementwise(kernel: Kernel, param: int) -> bool:
    """Whether `kernel` reads `param` only element by element (a matmul only in its epilogue)."""
    if kernel.kind == "elementwise":
        return True
    return kernel.kind == "matmul" and kernel.body is not None and \
        all(v.buffer != param for v in kernel.inputs[:2])


def plan_memory(buffers: Sequence[Buffer], kernels: Sequence[Kernel], outputs: Sequence[View],
                updates: Sequence[tuple[int, View]], in_place: bool = True) -> MemoryPlan:
    """Greedy-by-size placement of temporaries whose lifetimes do not overlap."""
    aliased = _in_place(buffers, kernels, outputs, updates) if in_place else {}
    pinned = {v.buffer for v in outputs} | {v.buffer for _, v in updates}
    life = _lifetimes(buffers, kernels, pinned)
    temps = sorted((b for b in buffers if b.role == "temp" and b.id not in aliased),
                   key=lambda b: (-b.nbytes, b.id))
    placed: list[tuple[int, int, int]] = []  # (offset, size, buffer id)
    offsets: dict[int, int] = {}
    for b in temps:
        size = _align(b.nbytes)
        start, last = life[b.id]
        busy = sorted((o, s) for o, s, other in placed
                      if not (life[other][1] < start or last < life[other][0]))
        offset = 0
        for o, s in busy:
            if offset + size <= o:
                break
            offset = max(offset, o + s)
        offsets[b.id] = offset
        placed.append((offset, size, b.id))
    arena = max((o + s for o, s, _ in placed), default=0)
    unplanned = sum(_align(b.nbytes) for b in buffers if b.role == "temp")
    return MemoryPlan(offsets, arena, unplanned, aliased)
