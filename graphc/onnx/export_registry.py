"""The table of ONNX converters, keyed by graphc op class, and the walk that applies them to a graph.

`converts` registers a converter (export_ops.py, export_windows.py, export_loops.py hold them, by
family); `UNEXPORTABLE` says, per op class, why it has no ONNX form, and `unexportable` lists every
such op of a graph (loop bodies included) at once. `emit_nodes` emits a graph or a loop body.
"""
from __future__ import annotations

from typing import Callable, Iterable

from ..control.loop import Scan
from ..distributed.collective import AllReduce
from ..ir import Tensor
from ..ir.graph import toposort
from ..ir.leaves import Constant, Parameter, Placeholder
from ..ops import fused, random
from . import export_patterns
from .emitter import Emitter, value_info

Converter = Callable[[Emitter, Tensor, list], str]
#: op class -> its converter
CONVERTERS: dict[type, Converter] = {}
#: op class -> why it has no ONNX form
UNEXPORTABLE: dict[type, str] = {
    random.RandomUniform: "graphc's counter-based Philox numbers cannot be reproduced by ONNX's RandomUniform "
                          "(export a model in eval mode, where dropout draws none)",
    fused.FusedElementwise: "made by the fusion pass: export the graph as declared, not a compiled variant's",
    fused.FusedReduce: "made by the fusion pass: export the graph as declared, not a compiled variant's",
    fused.MatMulEpilogue: "made by the fusion pass: export the graph as declared, not a compiled variant's",
    AllReduce: "a sum over the ranks of an MPI job, which one ONNX model running in one process has no form "
               "for: export the step of one rank without graphc.distributed",
}
LEAVES = (Placeholder, Parameter, Constant)


def converts(*classes: type) -> Callable[[Converter], Converter]:
    """Register a converter for op classes."""
    def register(fn: Converter) -> Converter:
        for cls in classes:
            CONVERTERS[cls] = fn
        return fn
    return register


def emit_nodes(e: Emitter, roots: list) -> None:
    """Emit what the roots' ONNX forms read, transitively (a pooling op reads its image, not the graphc
    parts it stands for), inputs first; leaves already named in `e.values` stay as they are."""
    needed: set[int] = set()
    stack = list(roots)
    while stack:
        t = stack.pop()
        if id(t) not in needed:
            needed.add(id(t))
            stack.extend(export_patterns.reads(t))
    for t in toposort(roots):
        if id(t) not in needed or id(t) in e.values:
            continue
        if isinstance(t.op, Constant):
            e.values[id(t)] = e.const(t.op.value, hint="const")
        else:
            e.values[id(t)] = convert(e, t, [e.values.get(id(i)) for i in t.inputs])
            e.typed.append(value_info(e.values[id(t)], t))


def convert(e: Emitter, node: Tensor, ins: list) -> str:
    """Emit `node` (what it reads, `export_patterns.reads`, already emitted; `ins` its inputs' names, None
    for those a pattern skipped); the name of its value."""
    found = export_patterns.match(node)
    return found[1](e) if found is not None else CONVERTERS[type(node.op)](e, node, ins)


def unexportable(nodes: Iterable[Tensor]) -> list[str]:
    """One line per op class of `nodes` with no converter: the class, one node of it, and why."""
    found: dict[type, Tensor] = {}
    pending = list(nodes)
    while pending:
        t = pending.pop()
        if isinstance(t.op, Scan):  # and the ops of its body
            pending.extend(toposort([t.op.body.out]))
        cls = type(t.op)
        if cls not in CONVERTERS and not issubclass(cls, LEAVES):
            found.setdefault(cls, t)
    lines = []
    for cls, t in found.items():
        reason = UNEXPORTABLE.get(cls, "no ONNX converter is registered for this op class")
        where = f" at {t.loc.describe().splitlines()[0]}" if t.loc is not None else ""
        lines.append(f"{t.op.name} ({cls.__module__}.{cls.__name__}, {t.type_str()}{where}): {reason}")
    return lines
