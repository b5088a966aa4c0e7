"""The view of a graph every exporter draws: neutral node, edge and cluster records.

Building the view is where all the choices are made (stage, gradient marks,
groups, depth limit, highlighted path), so DOT, networkx and HTML only translate
records and never look at the IR themselves.

Gradient marks follow one rule: in every stage but "forward", a node is a
gradient node when it is *not* an ancestor of the forward outputs. The forward
outputs are a `Function`'s (or `Graph`'s) outputs, or the first of a list of
tensors, so `[loss, *gc.grad(loss, params)]` marks what `gc.grad` added. Nodes the
gradient shares with the forward pass (a sigmoid's output, say) stay forward nodes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence

from ..function import Function
from ..ir import Graph, Tensor, toposort
from ..ir.errors import InputError
from ..ops.elementwise import Elementwise
from ..ops.reduce import Reduce
from .stages import run_stage

Groups = Mapping[str, Iterable[Tensor]]


@dataclass(frozen=True)
class VizNode:
    """One drawn node: what its label, shape, color (`family`) and tooltip (`source`) show."""

    id: str
    label: str  # the op's name, or a leaf's name or value
    op: str
    family: str  # elementwise, reduce, linalg, shape, index, placeholder, parameter, constant, update, group
    shape: str
    dtype: str
    attrs: dict[str, str] = field(default_factory=dict)
    source: str = ""  # the user's line that declared it: "file:line: code"
    gradient: bool = False
    output: bool = False
    truncated: bool = False  # some inputs are cut off by the depth limit
    highlighted: bool = False
    cluster: str | None = None

    @property
    def type_str(self) -> str:
        """The node's dtype and shape, as drawn in its label."""
        return f"{self.dtype}{self.shape}"


@dataclass(frozen=True)
class VizEdge:
    """An edge from the node `src` to the node `dst` that reads it."""

    src: str
    dst: str
    highlighted: bool = False


@dataclass(frozen=True)
class VizCluster:
    """A box around nodes: a fused kernel with its `formula`, or a user's group."""

    id: str
    label: str
    formula: str = ""


@dataclass(frozen=True)
class VizGraph:
    """The view every exporter draws: one stage of a graph as nodes, edges and clusters."""

    stage: str
    nodes: tuple[VizNode, ...]
    edges: tuple[VizEdge, ...]
    clusters: tuple[VizCluster, ...] = ()


def declared(obj: Any) -> tuple[Graph, int]:
    """The graph of a Function, Graph, tensor or list of tensors, and how many leading outputs are forward."""
    if isinstance(obj, Function):
        return obj.graph, len(obj.outputs)
    if isinstance(obj, Graph):
        return obj, len(obj.outputs)
    tensors = [obj] if isinstance(obj, Tensor) else list(obj) if isinstance(obj, (list, tuple)) else None
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise InputError(f"viz: expected a tensor, a list of tensors, a Graph or a Function, "
                         f"got {type(obj).__name__}", locate=False)
    return Graph((), tuple(tensors)), 1


def build(obj: Any, stage: str = "forward", *, groups: Groups | None = None, collapse: bool = True,
          max_depth: int | None = None, highlight: tuple[Tensor, Tensor] | None = None) -> VizGraph:
    """The view of `obj` at `stage`.

    `groups` names sets of nodes (e.g. one per `gc.nn` module): each is drawn as one
    box, or as a cluster around its nodes with `collapse=False`. `max_depth` keeps
    nodes at most that many edges above an output. `highlight=(a, b)` marks every
    node and edge on a path from `a` to `b` (a parameter and the loss, say).
    """
    graph, n_forward = declared(obj)
    if stage == "forward":
        graph = Graph(graph.inputs, graph.outputs)
    graph, clusters = run_stage(stage, graph)
    forward = None if stage == "forward" else set(toposort(graph.outputs[:n_forward]))
    depth = _depths(graph.roots(), max_depth)
    kept = [n for n in graph.nodes if depth is None or n in depth]
    on_path = _path(highlight, kept)
    outputs = set(graph.outputs)

    ids: dict[Tensor, str] = {}
    records: dict[str, VizNode] = {}
    members: dict[str, list[VizNode]] = {}
    group_of = {t: name for name, ts in (groups or {}).items() for t in ts}
    cluster_of = {t: f"c{k}" for k, c in enumerate(clusters) for t in c.nodes}
    group_ids = {name: f"g{k}" for k, name in enumerate(groups or {})}
    for i, n in enumerate(kept):
        rec = VizNode(
            id=f"n{i}", label=_label(n), op=n.op.name, family=family(n.op),
            shape=n.type_str()[len(n.dtype):], dtype=n.dtype,
            attrs={k: str(v) for k, v in n.op.describe_attrs().items() if k != "name" and v is not None},
            source=_source(n),
            gradient=forward is not None and n not in forward, output=n in outputs,
            truncated=depth is not None and any(x not in depth for x in n.inputs),
            highlighted=n in on_path, cluster=cluster_of.get(n))
        group = group_of.get(n)
        if group is not None and collapse:
            ids[n] = group_ids[group]
            members.setdefault(group, []).append(rec)
        else:
            if group is not None:
                rec = replace(rec, cluster=group_ids[group])
            ids[n] = rec.id
            records[rec.id] = rec
    for name, recs in members.items():
        records[group_ids[name]] = _group_node(group_ids[name], name, recs)

    edges: dict[tuple[str, str], VizEdge] = {}
    for n in kept:
        for x in n.inputs:
            if x in ids and ids[x] != ids[n] and (ids[x], ids[n]) not in edges:
                edges[ids[x], ids[n]] = VizEdge(ids[x], ids[n], x in on_path and n in on_path)
    for k, (p, v) in enumerate(graph.updates):
        if v in ids:
            uid = f"u{k}"
            records[uid] = VizNode(uid, f"update {_label(p)}", "update", "update", p.type_str()[len(p.dtype):],
                                   p.dtype, source=_source(v),
                                   gradient=forward is not None)
            edges[ids[v], uid] = VizEdge(ids[v], uid)

    view_clusters = [VizCluster(f"c{k}", c.name, c.formula) for k, c in enumerate(clusters)]
    if not collapse:
        view_clusters += [VizCluster(gid, name) for name, gid in group_ids.items()]
    return VizGraph(stage, tuple(records.values()), tuple(edges.values()), tuple(view_clusters))


def family(op: Any) -> str:
    """An op's family: the kind of leaf, elementwise or reduce for those ops wherever they are defined
    (a user's own included), else the module of graphc.ops it is defined in (the broadcasting and axis
    bookkeeping of `axes.py` drawn as shape ops)."""
    if op.is_leaf:
        return op.name
    if isinstance(op, Elementwise):
        return "elementwise"
    if isinstance(op, Reduce):
        return "reduce"
    module = type(op).__module__
    if not module.startswith("graphc.ops."):
        return "other"
    name = module.rsplit(".", 1)[-1]
    return "shape" if name == "axes" else name


def _source(n: Tensor) -> str:
    """The user's line as `file:line: code`, the file relative to the working directory when inside it."""
    if n.loc is None:
        return ""
    path = os.path.relpath(n.loc.filename) if os.path.isabs(n.loc.filename) else n.loc.filename
    if path.startswith(".."):
        path = n.loc.filename
    code = n.loc.code
    return f"{path}:{n.loc.lineno}: {code}" if code else f"{path}:{n.loc.lineno}"


def _label(n: Tensor) -> str:
    return n.op.format([]) if n.op.is_leaf else n.op.name


def _group_node(gid: str, name: str, recs: Sequence[VizNode]) -> VizNode:
    outs = [r for r in recs if r.output] or recs[-1:]
    ops = sorted({r.op for r in recs})
    return VizNode(gid, name, "group", "group", outs[-1].shape, outs[-1].dtype,
                   attrs={"nodes": str(len(recs)), "ops": ", ".join(ops)},
                   source=recs[-1].source, gradient=all(r.gradient for r in recs),
                   output=any(r.output for r in recs), highlighted=any(r.highlighted for r in recs))


def _depths(roots: Sequence[Tensor], max_depth: int | None) -> dict[Tensor, int] | None:
    """Each node within `max_depth` edges above a root, with its distance (None: no limit)."""
    if max_depth is None:
        return None
    depth = {r: 0 for r in roots}
    frontier = list(depth)
    for d in range(1, max_depth + 1):
        frontier = [x for n in frontier for x in n.inputs if x not in depth]
        for x in frontier:
            depth.setdefault(x, d)
    return depth


def _path(highlight: tuple[Tensor, Tensor] | None, order: Sequence[Tensor]) -> set[Tensor]:
    """The nodes on some path from `highlight[0]` down to `highlight[1]`."""
    if highlight is None:
        return set()
    start, end = highlight
    below = set(toposort([end]))
    reached: set[Tensor] = set()
    for n in order:
        if n is start or any(x in reached for x in n.inputs):
            reached.add(n)
    return reached & below
