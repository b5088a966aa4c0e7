"""Cheap checks that what a disk-cache entry hands the loader is what the loader expects.

A cache entry is code (docs/backends.md, "Trust model of the disk cache"): these
checks do not make a forged entry safe (ownership and permissions do that), but
they turn an entry that is damaged in a way its checksum cannot see (edited and
re-checksummed, written by a buggy graphc) into a rebuild instead of a crash:
the object file's layout, and every count, slot, view and arena offset the
native code is handed, recomputed from the program or the graph and compared.
Each check returns why the entry is unusable, or None.
"""
from __future__ import annotations

import struct
import sys
from typing import Any

import numpy as np

from graphc.schedule import KernelProgram, View

from .lowering import Lowered, direct_outputs

ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")  # e_ident, type, machine, ..., shoff, ..., shnum, shstrndx
ELF_SECTION = struct.Struct("<IIQQQQIIQQ")  # name, type, flags, addr, offset, size, link, info, align, entsize
SHT_NOBITS, SHT_RELOCS = 8, (4, 9)  # .bss (no bytes in the file); RELA, REL (sh_info names a section)
ROLES = ("input", "param", "const", "temp")


def object_code(obj: bytes) -> str | None:
    """Why `obj` is not a whole ELF relocatable object (on Linux: what the JIT links; a cut or shifted
    section table makes LLVM read past the buffer)."""
    if not sys.platform.startswith("linux"):
        return None
    if len(obj) < ELF_HEADER.size or obj[:6] != b"\x7fELF\x02\x01":
        return "not a 64-bit little-endian ELF object"
    _, kind, *_, shoff, _, ehsize, _, _, shentsize, shnum, shstrndx = ELF_HEADER.unpack_from(obj)
    if kind != 1 or ehsize != ELF_HEADER.size or shentsize != ELF_SECTION.size or shstrndx >= shnum:
        return "a bad ELF header"
    if shoff + shnum * shentsize > len(obj):
        return f"its section table ends past the file's {len(obj)} bytes"
    for i in range(shnum):
        _, kind, _, _, offset, size, link, info, _, entsize = ELF_SECTION.unpack_from(obj, shoff + i * shentsize)
        if kind != SHT_NOBITS and offset + size > len(obj):
            return f"section {i} ends past the file's {len(obj)} bytes"
        if link >= shnum or (kind in SHT_RELOCS and (info >= shnum or not entsize or size % entsize)):
            return f"section {i} is malformed"
    return None


def lowered(low: Lowered, program: KernelProgram) -> str | None:
    """Why `low` does not fit `program`: its slot counts, outputs written in place, kernel indices and
    loop slots, recomputed from the program."""
    n_buf, n_out, n_kernels = len(program.buffers), len(program.outputs), len(program.kernels)
    if (low.n_buffers, low.n_outputs) != (n_buf, n_out):
        return f"{low.n_buffers} buffers and {low.n_outputs} outputs for a program of {n_buf} and {n_out}"
    if not isinstance(low.ir, str) or min(low.scratch_bytes, low.staging_bytes, low.private_slots) < 0:
        return "bad scratch, staging or slot sizes"
    if low.direct != direct_outputs(program):
        return "outputs written in place that the program does not have"
    if not all(0 <= i < n_kernels for i in [*low.fallbacks, *low.grouped, *low.grouped.values()]):
        return "a kernel index out of range"
    private = range(low.staging_slot + 1, low.n_slots)
    if not all(n.fn_slot in private and n.table_slot in private for n in low.loops):
        return "a loop's slot outside the slot table"
    return None


def step(program: KernelProgram, low: Lowered, graph: Any) -> str | None:
    """Why a cached step does not fit the graph it is loaded for: its inputs, outputs and updates, then
    (for the step and each loop body) every buffer, view and arena offset, and the lowered fields."""
    want = [(tuple(x.shape), str(x.dtype)) for x in graph.inputs]
    if [(program.buffers[i].shape, program.buffers[i].dtype) for i in program.inputs] != want:
        return "its inputs differ from the graph's"
    got = [(v.shape, program.buffers[v.buffer].dtype) for v in program.outputs]
    if got != [(tuple(o.shape), str(o.dtype)) for o in graph.outputs] or len(program.updates) != len(graph.updates):
        return "its outputs or updates differ from the graph's"
    return _program(program, low)


def _program(program: KernelProgram, low: Lowered) -> str | None:
    buffers = program.buffers
    if [b.id for b in buffers] != list(range(len(buffers))):
        return "its buffers are out of order"
    for b in buffers:
        if b.role not in ROLES or not all(isinstance(d, int) and d >= 0 for d in b.shape):
            return f"buffer {b.id} has a bad role or shape"
        if b.role == "param" and (b.data.array.shape, b.data.array.dtype) != (b.shape, np.dtype(b.dtype)):
            return f"parameter {b.name or b.id} is {b.data.array.dtype}{list(b.data.array.shape)} in the graph"
    plan = program.plan
    for b, offset in plan.offsets.items():
        if buffers[b].role != "temp" or offset < 0 or offset + buffers[b].nbytes > plan.arena_bytes:
            return f"buffer {b} lies outside the {plan.arena_bytes}-byte arena"
    for t, p in plan.in_place.items():
        if buffers[t].role != "temp" or buffers[p].role != "param" or buffers[t].nbytes > buffers[p].nbytes:
            return f"buffer {t} is written in place into buffer {p}, which cannot hold it"
    for b in buffers:
        if b.role == "temp" and not (b.id in plan.offsets or b.id in plan.in_place or b.id in low.direct):
            return f"temporary buffer {b.id} has no storage"
    if any(buffers[i].role != "input" for i in program.inputs):
        return "an input that is not an input buffer"
    for p, v in program.updates:
        if buffers[p].role != "param" or v.shape != buffers[p].shape or buffers[v.buffer].dtype != buffers[p].dtype:
            return f"the update of buffer {p} does not fit it"
    for v in [*program.outputs, *(v for _, v in program.updates)]:
        if not _within(v, buffers[v.buffer].shape):
            return f"a view of buffer {v.buffer} reaches outside it"
    why = lowered(low, program)
    for n in low.loops:
        why = why or _program(n.program, n.lowered)
    return why


def _within(v: View, shape: tuple[int, ...]) -> bool:
    """Whether every element the view reads lies inside a buffer of `shape`."""
    if len(v.strides) != len(v.shape) or any(d < 0 for d in v.shape):
        return False
    if 0 in v.shape:
        return True
    lo = v.offset + sum((d - 1) * s for d, s in zip(v.shape, v.strides) if s < 0)
    hi = v.offset + sum((d - 1) * s for d, s in zip(v.shape, v.strides) if s > 0)
    return 0 <= lo and hi < int(np.prod(shape, dtype=np.int64))
