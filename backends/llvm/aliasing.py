"""Where each storage's bytes are, so that LLVM is told `noalias` only where it is true.

Temporaries share one arena by lifetime (graphc/schedule/memory.py): a buffer
read for the last time by one kernel and the output of a later kernel may occupy
the same bytes. A single kernel never touches such a pair, but a loop that runs
several kernels (groups.py) does, and an argument marked `noalias` whose bytes
another argument also reaches lets LLVM move a store before a load of the same
bytes. So a kernel function takes one argument per distinct start of memory
(storages that begin at the same arena byte share it, and LLVM sees the
sharing), and marks an argument `noalias` only when its bytes meet no other
argument's. Everything outside the arena (inputs, parameters, constants, output
arrays, the scratch and staging areas after the arena) is a slot of its own.
"""
from __future__ import annotations

from typing import Sequence

from graphc.schedule import KernelProgram

#: ("arena", first byte, end byte) or ("slot", slot, slot)
Region = tuple


class Memory:
    """The memory plan seen from the generated code: storage slot -> the bytes it occupies."""

    def __init__(self, program: KernelProgram):
        self.program = program
        self._regions: dict[int, Region] = {}  # every kernel argument asks: computed once per slot

    def where(self, slot: int) -> Region:
        """The bytes of a storage slot: a range of the arena for a planned temporary, else its own slot."""
        if slot not in self._regions:
            offsets = self.program.plan.offsets
            if slot < len(self.program.buffers) and slot in offsets:
                start = offsets[slot]
                self._regions[slot] = ("arena", start, start + self.program.buffers[slot].nbytes)
            else:
                self._regions[slot] = ("slot", slot, slot)
        return self._regions[slot]

    def meet(self, a: int, b: int) -> bool:
        """Whether slots a and b may share a byte."""
        return overlap(self.where(a), self.where(b))

    def arguments(self, storages: Sequence[int], merge: bool) -> list[int]:
        """For each storage, the storage whose pointer it is passed as: the first of those starting at
        the same byte when `merge` (the checked build keeps one per storage, to check each's extent)."""
        firsts: dict[Region, int] = {}
        out = []
        for s in storages:
            r = self.where(s)
            key = (r[0], r[1]) if merge else (r, s)
            out.append(firsts.setdefault(key, s))
        return out

    def apart(self, slot: int, others: Sequence[int]) -> bool:
        """Whether `slot`'s bytes meet none of the other slots' (then its argument may be `noalias`)."""
        return not any(o != slot and self.meet(slot, o) for o in others)


def overlap(a: Region, b: Region) -> bool:
    """Whether two regions may share a byte."""
    if a[0] != b[0]:
        return False
    return a[1] == b[1] if a[0] == "slot" else a[1] < b[2] and b[1] < a[2]
