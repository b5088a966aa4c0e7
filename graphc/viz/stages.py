"""Stages: which graph a view shows, from the declared one down to fused kernels.

A stage is a function `Graph -> Graph`, or `Graph -> (Graph, [Cluster, ...])` when
it also groups nodes (fused kernels). "forward" and "gradients" show the graph as
declared (they differ in which nodes the view builder shows and marks).
"optimized" and "fused" call the optimizer (`graphc.passes`) and the scheduler
(`graphc.schedule`) when they are present; a project can also plug in its own
with `register_stage`, which is how the optimizer's owners can change them.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Sequence, Union

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


def _optimized(graph: Graph, stage: str = "optimized") -> Graph:
    """`graphc.passes.optimize(graph)`, which may also return a report: `(graph, report)`."""
    result = _function("graphc.passes", "optimize", stage)(graph)
    return result[0] if isinstance(result, tuple) else result


def _fused(graph: Graph) -> tuple[Graph, list[Cluster]]:
    """The optimized graph with each kernel from `graphc.schedule.fusion_groups` as a cluster.

    A group needs `.nodes`; `.name` and `.formula` (a SymPy expression or text) are shown if present.
    """
    optimized = _optimized(graph, "fused")
    groups = _function("graphc.schedule", "fusion_groups", "fused")(optimized)
    clusters = [Cluster(str(getattr(g, "name", f"kernel {i}")), tuple(g.nodes), str(getattr(g, "formula", "")))
                for i, g in enumerate(groups)]
    return optimized, clusters


_STAGES: dict[str, StageFn] = {
    "forward": _declared,
    "gradients": _declared,
    "optimized": _optimized,
    "fused": _fused,
}


def register_stage(name: str, fn: StageFn) -> None:
    """Make `name` a stage (replacing a built-in one of that name)."""
    _STAGES[name] = fn


def stage_names() -> list[str]:
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
