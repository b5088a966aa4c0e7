"""Compiled steps on disk, keyed by the graph before the passes, so a warm start skips the passes.

The object-code and IR caches (cache.py, ircache.py) are keyed by what the graph
passes produce, so a warm start still ran the passes over the step and over every
loop body: about half of W5's warm start. This cache is keyed by the specialized
graph the passes start from (every node's op and attributes, inputs, shape and
dtype; constants by content; a loop body by its own subgraph), the optimization
level, the BLAS's integer width, the source of graphc and its backends, and the
llvmlite, NumPy and SymPy versions. Its
entry is what the runtime needs to run the step: the kernel program without its
kernels (buffers, constant data, inputs, outputs, updates, memory plan) and the
lowered IR, for the step and each natively run loop body.

A hit builds the executable from the entry; the kernels themselves (error
messages name a kernel and its source line, `fn.profile` and `fn.kernel_program()`
compile them) come from running the passes when first asked for: the passes are
deterministic, so that program is the one the entry was made from. Anything the
key cannot describe exactly (an attribute of an unknown type) makes the step
uncacheable; steps with NumPy-callback kernels are not stored.
"""
from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Callable, Sequence

import llvmlite
import numpy as np
import sympy

from graphc.ir import Graph, Tensor
from graphc.ir.leaves import Constant, Parameter, Placeholder
from graphc.control.loop import Body, Scan
from graphc.schedule import KernelProgram, View
from graphc.schedule.program import Buffer, MemoryPlan

from . import blas, cache, validate
from .ircache import Unkeyable, describe, int_keys, stored_fields
from .loop import NestedLoop, body_of
from .lowering import Lowered
from .runtime import Executable

SUFFIX = ".step"


def graph_key(graph: Graph, level: str | int) -> str | None:
    """The hex sha256 naming the compiled step of this specialized graph, or None if the graph holds
    something the key cannot describe exactly."""
    try:
        index: dict[int, int] = {}
        nodes = _subgraph(graph.nodes, index)
        parts = (cache.sources(), llvmlite.__version__, np.__version__, sympy.__version__, blas.int_bits(), str(level),
                 nodes, [index[id(x)] for x in graph.inputs], [index[id(o)] for o in graph.outputs],
                 [(index[id(p)], index[id(v)]) for p, v in graph.updates])
    except (Unkeyable, KeyError):  # KeyError: a body reading a node outside it
        return None
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _subgraph(nodes: Sequence[Tensor], index: dict[int, int]) -> list:
    """Each node as (op, input positions, shape, dtype); `index` maps the nodes to their positions."""
    rows = []
    for n in nodes:
        rows.append((_op(n.op), tuple(index[id(i)] for i in n.inputs), n.shape, n.dtype))
        index[id(n)] = len(index)
    return rows


def _op(op: Any) -> Any:
    name = (type(op).__module__, type(op).__qualname__)
    if not name[0].startswith("graphc."):  # a user's op (gc.ops.elementwise.define): its code is not in the key
        raise Unkeyable(f"the op class {name[0]}.{name[1]}")
    if isinstance(op, Placeholder):
        return name, op.shape, op.dtype, op.label
    if isinstance(op, Parameter):  # its value is read at run time, not compiled in
        return name, op.state.array.shape, op.state.array.dtype.str, op.label
    if isinstance(op, Constant):
        return name, describe(op.value)
    if isinstance(op, Scan):
        return name, _body(op.body), op.length, op.reverse, op.last
    return name, describe(op.attrs())  # a reduction's monoid is its class, in `name`, or an attribute


def _body(body: Body) -> Any:
    """A loop body by its subgraph: its inputs by position, then the nodes its output depends on."""
    index: dict[int, int] = {}
    leaves = [body.carry, *body.steps, *body.consts]
    for x in leaves:
        index[id(x)] = len(index)
    ins = [(x.shape, x.dtype) for x in leaves]
    return ins, _subgraph(body.order, index), index[id(body.out)], len(body.steps), \
        _body(body.extends) if body.extends is not None else None


def load(key: str, graph: Graph, program: Callable[[], KernelProgram]) -> Executable | None:
    """The executable stored under `key`, bound to this graph's parameters; `program` makes the full
    kernel program when something asks for the kernels."""
    data = cache.load(key, SUFFIX)
    if data is None:
        return None
    try:
        entry = json.loads(data)
        step, lowered = _program(entry, _states(graph), program), _lowered(entry, program)
        why = validate.step(step, lowered, graph)
        if why is None:
            return Executable(step, lowered=lowered)
    except Exception as e:  # noqa: BLE001 - an entry that cannot be read back (or its IR parsed) is rebuilt
        why = f"unreadable: {type(e).__name__}: {e}"
    cache.reject(key, SUFFIX, why)
    return None


def store(key: str, graph: Graph, exe: Executable) -> None:
    """Write the executable's entry (not for steps with NumPy-callback kernels: they need the kernels)."""
    if _has_fallbacks(exe.lowered):
        return
    params = {id(state): i for i, state in enumerate(_states(graph))}
    try:
        entry = _entry(exe.program, exe.lowered, params)
    except KeyError:  # a parameter the graph does not hold (a loop body's): not cacheable
        return
    cache.store(key, None, json.dumps(entry).encode(), SUFFIX)


def _states(graph: Graph) -> list:
    """The graph's parameter buffers in node order: an entry names a parameter by its place here."""
    return [n.op.state for n in graph.nodes if isinstance(n.op, Parameter)]


def _has_fallbacks(lowered: Lowered) -> bool:
    return bool(lowered.fallbacks) or any(_has_fallbacks(n.lowered) for n in lowered.loops)


def _entry(program: KernelProgram, lowered: Lowered, params: dict[int, int]) -> dict:
    buffers = []
    for b in program.buffers:
        data = None
        if b.role == "const":
            data = base64.b64encode(np.ascontiguousarray(b.data).tobytes()).decode("ascii")
        elif b.role == "param":
            data = params[id(b.data)]
        buffers.append([b.id, list(b.shape), b.dtype, b.role, b.name, data])
    plan = program.plan
    fields = stored_fields(lowered)
    return {"buffers": buffers, "inputs": program.inputs, "outputs": [_view(v) for v in program.outputs],
            "updates": [[p, _view(v)] for p, v in program.updates], "kernels": len(program.kernels),
            "plan": [sorted(plan.offsets.items()), plan.arena_bytes, plan.unplanned_bytes,
                     sorted(plan.in_place.items())],
            "lowered": fields,
            "loops": [[n.fn_slot, n.table_slot, _entry(n.program, n.lowered, params)] for n in lowered.loops]}


def _view(v: View) -> list:
    return [v.buffer, list(v.shape), list(v.strides), v.offset]


def _program(entry: dict, params: list, full: Callable[[], KernelProgram]) -> KernelProgram:
    buffers = []
    for bid, shape, dtype, role, name, data in entry["buffers"]:
        if role == "const":
            data = np.frombuffer(base64.b64decode(data), dtype=dtype).reshape(shape)
        elif role == "param":
            data = params[data]
        buffers.append(Buffer(bid, tuple(shape), dtype, role, name, data))
    offsets, arena, unplanned, in_place = entry["plan"]
    return KernelProgram(buffers, LazyKernels(entry["kernels"], lambda: full().kernels), entry["inputs"],
                         [_unview(v) for v in entry["outputs"]], [(p, _unview(v)) for p, v in entry["updates"]],
                         MemoryPlan(dict(map(tuple, offsets)), arena, unplanned, dict(map(tuple, in_place))))


def _unview(v: list) -> View:
    return View(v[0], tuple(v[1]), tuple(v[2]), v[3])


def _lowered(entry: dict, full: Callable[[], KernelProgram]) -> Lowered:
    fields = int_keys(dict(entry["lowered"]))
    loops = []
    for j, (fn_slot, table_slot, body) in enumerate(entry["loops"]):
        def body_full(j: int = j) -> KernelProgram:
            return program_loops(full())[j]
        loops.append(NestedLoop(fn_slot, table_slot, _program(body, [], body_full), _lowered(body, body_full)))
    return Lowered(loops=loops, **fields)


def program_loops(program: KernelProgram) -> list[KernelProgram]:
    """The body programs of a program's natively run loops, in order (a cached step has no fallbacks)."""
    return [body_of(k) for k in program.kernels if isinstance(k.node.op, Scan)]


class LazyKernels(Sequence):
    """A cached program's kernels: their number at once, the kernels themselves when first read."""

    def __init__(self, count: int, make: Callable[[], list]):
        self._count, self._make, self._kernels = count, make, None

    def _all(self) -> list:
        if self._kernels is None:
            self._kernels = list(self._make())
        return self._kernels

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i):
        return self._all()[i]


class StepCache:
    """The LLVM backend's step cache, as `gc.function` uses it (unchecked builds, disk cache on)."""

    def __init__(self):
        self._last: tuple[Graph, str | int, str | None] | None = None  # a miss is stored right after

    def _key(self, graph: Graph, level: str | int) -> str | None:
        if not cache.enabled():
            return None
        last = self._last
        if last is None or last[0] is not graph or last[1] != level:
            last = self._last = (graph, level, graph_key(graph, level))
        return last[2]

    def load(self, graph: Graph, level: str | int, program: Callable[[], KernelProgram]) -> Executable | None:
        key = self._key(graph, level)
        return None if key is None else load(key, graph, program)

    def store(self, graph: Graph, level: str | int, exe: Executable) -> None:
        key = self._key(graph, level)
        if key is not None:
            store(key, graph, exe)
