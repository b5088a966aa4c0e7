"""Memory planning: temporaries share one arena by liveness; updates may happen in place."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
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
    last_reader = {v.buffer: i for i, k in enumerate(kernels) for v in k.inputs}
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
        same_place = all(v.is_dense() and v.offset == 0 and v.shape == buffers[param].shape
                         for v in kernels[k].inputs if v.buffer == param)
        if last_reader.get(param, -1) <= k and same_place:
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
    """Greedy-by-size placement of temporaries whose lifetimes do not overlap: each, largest first,
    at the lowest offset where it meets no placed temporary alive at the same time."""
    aliased = _in_place(buffers, kernels, outputs, updates) if in_place else {}
    pinned = {v.buffer for v in outputs} | {v.buffer for _, v in updates}
    life = _lifetimes(buffers, kernels, pinned)
    temps = sorted((b for b in buffers if b.role == "temp" and b.id not in aliased),
                   key=lambda b: (-b.nbytes, b.id))
    placed = Placed(len(kernels) + 1)
    offsets: dict[int, int] = {}
    for b in temps:
        size = _align(b.nbytes)
        start, last = life[b.id]
        offsets[b.id] = placed.lowest(start, last, size)
        placed.add(start, last, offsets[b.id], size)
    arena = max((o + _align(buffers[b].nbytes) for b, o in offsets.items()), default=0)
    unplanned = sum(_align(b.nbytes) for b in buffers if b.role == "temp")
    return MemoryPlan(offsets, arena, unplanned, aliased)


class Bytes:
    """A union of byte ranges [lo, hi), kept as sorted, disjoint, non-touching ranges."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, lo: int, hi: int) -> None:
        i, j = bisect_left(self.ends, lo), bisect_right(self.starts, hi)  # ranges i..j-1 meet or touch it
        if i < j:
            lo, hi = min(lo, self.starts[i]), max(hi, self.ends[j - 1])
        self.starts[i:j], self.ends[i:j] = [lo], [hi]

    def blocker(self, offset: int, size: int) -> int | None:
        """The end of the range that meets [offset, offset + size), if one does."""
        k = bisect_left(self.starts, offset + size) - 1
        return self.ends[k] if k >= 0 and self.ends[k] > offset else None


class Placed:
    """Placed temporaries as (lifetime, byte range) rectangles, in a segment tree over kernel indices.

    A rectangle is stored in the nodes that tile its lifetime (`cover`) and noted in all their
    ancestors (`below`); the rectangles alive at some time of a query's lifetime are then the
    covers of the nodes tiling it and of their ancestors, and what is below the tiling nodes.
    Finding the lowest free offset walks those O(log n) unions of byte ranges instead of every
    placed temporary (which made planning quadratic: a deep network's activations all live from
    the forward pass to the backward pass)."""

    def __init__(self, times: int) -> None:
        self.size = 1 << max(times - 1, 0).bit_length()
        self.cover: dict[int, Bytes] = {}
        self.below: dict[int, Bytes] = {}

    def _tiles(self, start: int, last: int) -> list[int]:
        """The tree nodes whose ranges tile [start, last]."""
        lo, hi, nodes = start + self.size, last + self.size + 1, []
        while lo < hi:
            if lo & 1:
                nodes.append(lo)
                lo += 1
            if hi & 1:
                hi -= 1
                nodes.append(hi)
            lo, hi = lo >> 1, hi >> 1
        return nodes

    def _ancestors(self, nodes: list[int]) -> set[int]:
        up: set[int] = set()
        for n in nodes:
            n >>= 1
            while n and n not in up:
                up.add(n)
                n >>= 1
        return up

    def add(self, start: int, last: int, offset: int, size: int) -> None:
        if size == 0:
            return  # occupies no byte
        tiles = self._tiles(start, last)
        for n in tiles:
            self.cover.setdefault(n, Bytes()).add(offset, offset + size)
        for n in self._ancestors(tiles):
            self.below.setdefault(n, Bytes()).add(offset, offset + size)

    def lowest(self, start: int, last: int, size: int) -> int:
        """The lowest offset at which `size` bytes meet nothing placed alive during [start, last]."""
        tiles = self._tiles(start, last)
        unions = [self.cover[n] for n in (*tiles, *self._ancestors(tiles)) if n in self.cover] + \
            [self.below[n] for n in tiles if n in self.below]
        offset, moved = 0, True
        while moved:
            moved = False
            for u in unions:
                end = u.blocker(offset, size)
                if end is not None:
                    offset, moved = end, True
        return offset
