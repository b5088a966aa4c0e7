"""Stages: which graph a view shows, from the declared one down to fused kernels.

A stage is a function `Graph -> Graph`, or `Graph -> (Graph, [Cluster, ...])` when
it also groups nodes (fused kernels). "forward" and "gradients" show the graph as
declared (they differ in which nodes the view builder shows and marks).
"optimized" runs the optimizer (`graphc.passes.optimize`) without its fusion
pass, "fused" runs all of it and boxes each fused kernel with its formula, "kernels" shows the
kernel program (each kernel in run order with its memory-plan slot); they
raise `StageUnavailable` when the optimizer is missing. `register_stage` adds a
stage or replaces one.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, Union

from ..ir import Graph, Tensor
from ..ir.errors import BackendError


@dataclass(frozen=True)
class Cluster:
    """Nodes drawn inside one box: a fused kernel (with its scalar formula) or a user group."""

    name: str
    nodes: Sequence[Tensor]
    formula: str = ""


StageResult = Union[Graph, tuple[Graph, Sequence[Cluster]]]
StageFn = Callable[[Graph], StageResult]


class StageUnavailable(BackendError):
    """A stage needs a part of graphc (or a plugin) that this installation lacks."""


def _declared(graph: Graph) -> Graph:
    return graph


def _module(name: str, stage: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise StageUnavailable(f"viz: the {stage!r} stage needs {name}, which is not part of this "
                               f"graphc installation yet", locate=False,
                               fix="use stage 'forward' or 'gradients', or register your own with "
                                   "gc.viz.register_stage(name, fn)") from None


def _function(module: str, attr: str, stage: str) -> Callable:
    fn = getattr(_module(module, stage), attr, None)
    if fn is None:
        raise StageUnavailable(f"viz: the {stage!r} stage calls {module}.{attr}(graph), which does not exist",
                               fix="register the stage with gc.viz.register_stage", locate=False)
    return fn


def _optimize(graph: Graph, stage: str, **options: Any) -> Graph:
    """`graphc.passes.optimize(graph)`, which may also return a report: `(graph, report)`."""
    result = _function("graphc.passes", "optimize", stage)(graph, **options)
    return result[0] if isinstance(result, tuple) else result


def _optimized(graph: Graph) -> Graph:
    """The optimizer's pipeline up to, not including, fusion."""
    return _optimize(graph, "optimized", disable=("fuse",))


def _fused(graph: Graph) -> tuple[Graph, list[Cluster]]:
    """The fully optimized graph, each fused kernel (an op with a SymPy `body`) in a cluster with its formula."""
    fused = _optimize(graph, "fused")
    names = {n: f"kernel {k}" for k, n in enumerate(t for t in fused.nodes if hasattr(t.op, "body"))}
    return fused, [Cluster(f"{name}: {n.op.name}", [n], kernel_formula(n, names)) for n, name in names.items()]


def kernel_program(graph: Graph) -> tuple[Graph, Any]:
    """The fully optimized graph and the kernel program the native backends compile from it."""
    fused = _optimize(graph, "kernels")
    lower = _function("graphc.schedule", "lower", "kernels")
    try:
        return fused, lower(fused)
    except ValueError as e:  # a free dim: the program exists per call shape
        raise StageUnavailable(f"viz: the 'kernels' stage needs every shape known ({e})", locate=False,
                               fix="draw the Function after a call, or declare placeholders without None dims"
                               ) from None


def _kernels(graph: Graph) -> tuple[Graph, list[Cluster]]:
    """The kernel program: each kernel (in run order) boxed with its kind, what it fused (its formula) and
    where the memory plan puts its output (an arena offset, or a parameter's buffer for an in-place update)."""
    fused, program = kernel_program(graph)
    plan, buffers = program.plan, program.buffers
    names = {k.node: f"k{i}" for i, k in enumerate(program.kernels)}
    clusters = []
    for i, k in enumerate(program.kernels):
        out = buffers[k.output]
        if k.output in plan.in_place:
            slot = f"in place into {buffers[plan.in_place[k.output]].name or 'a parameter'}"
        elif k.output in plan.offsets:
            slot = f"arena @{plan.offsets[k.output]} B, {out.nbytes} B"
        else:
            slot = f"own buffer, {out.nbytes} B"
        if hasattr(k.node.op, "body"):
            formula = kernel_formula(k.node, names)
        elif k.body is not None:  # one op's own scalar body
            inputs = ", ".join(f"in{j}={_short(t, names)}" for j, t in enumerate(k.node.inputs))
            formula = "".join(f"{sym} = {value}; " for sym, value in k.lets) + f"{k.body}  ({inputs})"
        else:
            formula = ""
        clusters.append(Cluster(f"k{i} {k.kind} · b{k.output} {slot}", [k.node], formula))
    return fused, clusters


def kernel_formula(node: Tensor, names: Mapping[Tensor, str] = {}) -> str:
    """A kernel's scalar body with its inputs named: `sigmoid(in0*in1 + in2)  (in0=w1, in1=x, in2=b1)`.

    Values the body uses more than once are bound first (`t0 = ...; `).

    The body's `in<i>` are the last `n_inputs` (or `n_extra`) inputs; any before them are the
    operands of `acc`, the matmul a kernel's epilogue is applied to. `names` names other kernels.
    """
    op = node.op
    n = getattr(op, "n_inputs", getattr(op, "n_extra", len(node.inputs)))
    head, tail = node.inputs[:len(node.inputs) - n], node.inputs[len(node.inputs) - n:]
    parts = [f"in{i}={_short(t, names)}" for i, t in enumerate(tail)]
    if head:
        parts.insert(0, "acc=" + " @ ".join(_short(t, names) for t in head))
    body = "".join(f"{sym} = {value}; " for sym, value in getattr(op, "lets", ())) + str(op.body)
    return f"{body}  ({', '.join(parts)})" if parts else body


def _short(t: Tensor, names: Mapping[Tensor, str]) -> str:
    return names.get(t) or t.name or (t.op.format([]) if t.op.is_leaf else t.op.name)


_STAGES: dict[str, StageFn] = {
    "forward": _declared,
    "gradients": _declared,
    "optimized": _optimized,
    "fused": _fused,
    "kernels": _kernels,
}


def register_stage(name: str, fn: StageFn) -> None:
    """Make `name` a stage (replacing a built-in one of that name)."""
    _STAGES[name] = fn


def stage_names() -> list[str]:
    """The stages `stage=` accepts: the built-in ones and those added by `register_stage`."""
    return list(_STAGES)


def run_stage(name: str, graph: Graph) -> tuple[Graph, list[Cluster]]:
    """The graph a stage shows, and the clusters it draws."""
    fn = _STAGES.get(name)
    if fn is None:
        raise StageUnavailable(f"viz: unknown stage {name!r}; the stages are {', '.join(_STAGES)}", locate=False)
    result = fn(graph)
    if isinstance(result, Graph):
        return result, []
    out, clusters = result
    return out, list(clusters)
