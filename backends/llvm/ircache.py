"""Lowered IR cached on disk by a fingerprint of the kernel program, so a warm process skips IR generation.

Generating the IR (Python, llvmlite.ir) is the largest part of a warm compile
once the object code comes from the cache. The fingerprint is a sha256 over
everything `lower_program` reads: buffers (constants by their bytes), each
kernel's kind, op type and attributes, node shape and dtype, views, SymPy body
and lets (floats by their exact mantissa and exponent), the inputs, outputs,
updates and memory plan, plus the source of graphc and its backends (cache.sources:
the ops' rules and the schedule shape the IR as much as the lowering does) and the
llvmlite version. A loop kernel is described by its body's program (its fingerprint,
recursively), never by the body's per-process id; on a hit, the bodies of the
natively run loops are scheduled again and lowered through this cache too.
Anything it cannot fingerprint exactly (an attribute of an unknown type, a
field added to a dataclass it walks) makes the program uncacheable: a miss,
never a wrong hit. Checked builds (their sites hold source locations) are
always lowered afresh.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import lru_cache
from typing import Any

import llvmlite
import numpy as np
import sympy as sp
from sympy.core.singleton import Singleton

from graphc.control.loop import Scan
from graphc.ops import fused
from graphc.ops.scalar import Opaque
from graphc.schedule import KernelProgram
from graphc.schedule.program import Buffer, Kernel, MemoryPlan

from . import cache, validate
from .loop import NestedLoop, body_of
from .lowering import Lowered, lower_program

SUFFIX = ".low"
#: the dataclass fields the fingerprint covers: a new field makes programs uncacheable until it is covered
KNOWN_FIELDS = {KernelProgram: {"buffers", "kernels", "inputs", "outputs", "updates", "plan"},
                Kernel: {"kind", "node", "inputs", "output", "body", "lets"},
                Buffer: {"id", "shape", "dtype", "role", "name", "data"},
                MemoryPlan: {"offsets", "arena_bytes", "unplanned_bytes", "in_place"}}


class Unkeyable(Exception):
    """A value the fingerprint cannot describe exactly."""


def lower_cached(program: KernelProgram, blas: int, checked: bool) -> Lowered:
    """`lower_program`, through the disk cache when it is on and the program can be fingerprinted."""
    key = None if checked or not cache.enabled() else fingerprint(program, blas)
    data = cache.load(key, SUFFIX) if key is not None else None
    if data is not None:
        try:
            lowered = _lowered(data, program, blas)
            why = validate.lowered(lowered, program)
        except Exception as e:  # noqa: BLE001 - an entry that cannot be read back is rebuilt
            why = f"unreadable: {type(e).__name__}: {e}"
        if why is None:
            return lowered
        cache.reject(key, SUFFIX, why)
    lowered = lower_program(program, blas=blas, checked=checked, lower_body=lower_cached)
    if key is not None:
        fields = stored_fields(lowered)
        fields["loops"] = [(n.fn_slot, n.table_slot) for n in lowered.loops]
        cache.store(key, None, json.dumps(fields).encode(), SUFFIX)
    return lowered


def _lowered(data: bytes, program: KernelProgram, blas: int) -> Lowered:
    """An entry read back: its fields, and the natively run loops' bodies lowered through the cache."""
    fields = int_keys(json.loads(data))
    bodies = [body_of(k) for i, k in enumerate(program.kernels)
              if isinstance(k.node.op, Scan) and i not in fields["fallbacks"]]
    if len(bodies) != len(fields["loops"]):
        raise ValueError(f"{len(fields['loops'])} loops for a program with {len(bodies)}")
    fields["loops"] = [NestedLoop(fn, table, body, lower_cached(body, blas, False))
                       for (fn, table), body in zip(fields["loops"], bodies)]
    return Lowered(**fields)


def stored_fields(lowered: Lowered) -> dict:
    """The fields a cache entry keeps, as JSON values: all but the checked build's sites (never
    cached) and the loops (each cache stores its bodies its own way)."""
    return {f.name: getattr(lowered, f.name) for f in dataclasses.fields(lowered) if f.name not in ("sites", "loops")}


def int_keys(fields: dict) -> dict:
    """Lowered fields read back from JSON (`stored_fields`), whose object keys are strings: the kernel
    and buffer indices that key `fallbacks`, `direct` and `grouped` as ints again."""
    for name in ("fallbacks", "direct", "grouped"):
        if name in fields:
            fields[name] = {int(k): v for k, v in fields[name].items()}
    return fields


def fingerprint(program: KernelProgram, blas: int) -> str | None:
    """The hex sha256 that names this program's lowered IR, or None if it cannot be fingerprinted exactly."""
    try:
        for cls in {type(program), type(program.plan), *map(type, program.buffers), *map(type, program.kernels)}:
            if not _covered(cls):
                raise Unkeyable(cls.__name__)
        plan = program.plan
        parts = (_source_version(), blas,
                 [(b.id, b.shape, b.dtype, b.role, b.name, describe(b.data) if b.role == "const" else None)
                  for b in program.buffers],
                 [(k.kind, type(k.node.op).__module__, type(k.node.op).__qualname__, k.node.op.name,
                   _op_key(k, blas), k.node.shape, k.node.dtype, k.inputs, k.output, describe(k.body),
                   describe(k.lets), k.domain) for k in program.kernels],
                 program.inputs, program.outputs, program.updates,
                 sorted(plan.offsets.items()), plan.arena_bytes, sorted(plan.in_place.items()))
    except Unkeyable:
        return None
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _op_key(k: Kernel, blas: int) -> Any:
    """A kernel's op attributes; a loop's body (an object with a per-process id) by its program's fingerprint."""
    op = k.node.op
    if not isinstance(op, Scan):
        return describe(op.attrs()), describe(fused.monoid_of(op))
    body = fingerprint(body_of(k), blas) if op.length else "empty"
    if body is None:
        raise Unkeyable("a loop body")
    return (body, op.length, op.reverse, op.last)


@lru_cache(maxsize=None)
def _covered(cls: type) -> bool:
    return {f.name for f in dataclasses.fields(cls)} == KNOWN_FIELDS.get(cls)


def _source_version() -> str:
    """The hash of graphc's and its backends' source (any change to code that shapes the IR must miss)
    and llvmlite's version."""
    return llvmlite.__version__ + ":" + cache.sources()


def describe(x: Any) -> Any:
    """An exact, deterministic description of an attribute value (no ids, no rounding), for cache keys;
    Unkeyable for a value it cannot describe exactly."""
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, float):
        return ("float", x.hex())
    if isinstance(x, (tuple, list)):
        return tuple(describe(v) for v in x)
    if isinstance(x, (np.ndarray, np.generic)):
        a = np.asarray(x)
        return ("array", a.dtype.str, a.shape, hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest())
    if isinstance(x, sp.Basic):
        return _expr(x)
    if isinstance(x, type):  # a monoid a reduction folds with: its facts shape the IR, its source must be keyed
        if not x.__module__.startswith("graphc."):
            raise Unkeyable(f"{x.__qualname__}, defined outside graphc (no source hash covers it)")
        return ("class", x.__module__, x.__qualname__)
    raise Unkeyable(type(x).__name__)


def _expr(e: sp.Basic) -> Any:
    if e.is_Symbol:
        return ("symbol", type(e).__name__, e.name, getattr(e, "dummy_index", None))
    if e.is_Float:
        return ("Float", tuple(int(v) for v in e._mpf_))
    if e.is_Rational:
        return ("Rational", int(e.p), int(e.q))
    if isinstance(e, Opaque):  # a user's function may change under its name: keyed by what it computes
        return ("opaque", type(e).__name__, _expr(e.expanded()))
    if not e.args:
        if isinstance(type(e), Singleton):  # pi, E, nan, oo, true, ...: the type names the value
            return ("atom", type(e).__name__)
        raise Unkeyable(type(e).__name__)
    return (type(e).__name__, tuple(_expr(a) for a in e.args))
