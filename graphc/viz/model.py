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

from dataclasses import replace
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..bench.roofline import node_flops
from ..function import Function
from ..ir import Graph, Tensor, toposort
from ..ir.errors import InputError
from ..ir.source import SourceLoc
from ..ops.elementwise import Elementwise
from ..ops.reduce import Reduce
from .hierarchy import Hierarchy
from .paths import shown_path
from .records import VizCluster, VizEdge, VizGraph, VizNode
from .stages import run_stage

Groups = Mapping[str, Iterable[Tensor]]


def declared(obj: Any) -> tuple[Graph, int]:
    """The graph of a Function, Graph, imported model, tensor or list of tensors, and how many leading outputs
    are forward."""
    if isinstance(obj, Function):
        return obj.graph, len(obj.outputs)
    if isinstance(obj, Graph):
        return obj, len(obj.outputs)
    if isinstance(getattr(obj, "outputs", None), list) and isinstance(getattr(obj, "inputs", None), list):
        return Graph(tuple(obj.inputs), tuple(obj.outputs)), len(obj.outputs)  # an imported model (gc.onnx.load)
    tensors = [obj] if isinstance(obj, Tensor) else list(obj) if isinstance(obj, (list, tuple)) else None
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise InputError(f"viz: expected a tensor, a list of tensors, a Graph or a Function, "
                         f"got {type(obj).__name__}", locate=False)
    return Graph((), tuple(tensors)), 1


def build(obj: Any, stage: str = "forward", *, groups: Groups | None = None, collapse: bool = True,
          max_depth: int | None = None, highlight: tuple[Tensor, Tensor] | None = None,
          hide_optimizer: bool = False, changed: set[Tensor] | None = None) -> VizGraph:
    """The view of `obj` at `stage`.

    Every node sits in the box of the module call that built it (`gc.nn` records it in the node's
    location), gradient nodes in the gradient box of that module ("∇ features.0"), and an
    optimizer's update of each parameter in a box of its own ("Adam: features.0.weight");
    `hide_optimizer` leaves those out. `groups` names further sets of nodes: each is drawn as one
    box, or as a cluster around its nodes with `collapse=False`. `max_depth` keeps
    nodes at most that many edges above an output. `highlight=(a, b)` marks every
    node and edge on a path from `a` to `b` (a parameter and the loss, say). `changed` marks nodes
    (what a pass made, for the pass timeline).
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
    hier = Hierarchy(kept, forward)
    if hide_optimizer:
        kept = hier.without_optimizer(kept, outputs, graph.updates)

    ids: dict[Tensor, str] = {}
    records: dict[str, VizNode] = {}
    members: dict[str, list[VizNode]] = {}
    group_of = {t: name for name, ts in (groups or {}).items() for t in ts}
    cluster_of = {t: f"c{k}" for k, c in enumerate(clusters) for t in c.nodes}
    group_ids = {name: f"g{k}" for k, name in enumerate(groups or {})}
    forward_id: dict[int, str] = {}  # id(location) -> the forward node of that location
    for i, n in enumerate(kept):
        role = hier.role(n)
        if role == "forward" and n.loc is not None and hier.own(n):
            forward_id.setdefault(id(n.loc), f"n{i}")
    copies: dict[tuple[Tensor, str | None], str] = {}  # a leaf drawn in a box other than its own
    for i, n in enumerate(kept):
        role = hier.role(n)
        flops, nbytes = _cost(n)
        rec = VizNode(
            id=f"n{i}", label=hier.label(n), op=n.op.name, family=family(n.op),
            shape=n.type_str()[len(n.dtype):], dtype=n.dtype,
            attrs={k: str(v) for k, v in n.op.describe_attrs().items() if k != "name" and v is not None},
            source=_source(hier.loc(n)),
            gradient=role == "gradient", output=n in outputs,
            truncated=depth is not None and any(x not in depth for x in n.inputs),
            highlighted=n in on_path, cluster=cluster_of.get(n), role=role,
            grad_of=forward_id.get(id(n.loc)) if role == "gradient" and n.loc is not None and hier.own(n) else None,
            flops=flops, bytes=nbytes, changed=changed is not None and n in changed,
            scope=hier.box(n) if n not in group_of else None)
        group = group_of.get(n)
        if group is not None and collapse:
            ids[n] = group_ids[group]
            members.setdefault(group, []).append(rec)
            continue
        if group is not None:
            rec = replace(rec, cluster=group_ids[group])
        ids[n] = rec.id
        records[rec.id] = rec
    for name, recs in members.items():
        records[group_ids[name]] = _group_node(group_ids[name], name, recs)

    def source_id(x: Tensor, reader: Tensor) -> str:
        """The drawn node `reader` reads `x` from: a constant is drawn again in each box that reads it."""
        rec = records.get(ids[x])
        box = records[ids[reader]].scope if ids[reader] in records else None
        if rec is None or x.op.name != "constant" or rec.scope == box or rec.cluster is not None:
            return ids[x]
        key = (x, box)
        if key not in copies:
            copies[key] = f"{rec.id}.{len(copies)}"
            records[copies[key]] = replace(rec, id=copies[key], scope=box)
        return copies[key]

    edges: dict[tuple[str, str], VizEdge] = {}
    for n in kept:
        for x in n.inputs:
            if x in ids and ids[x] != ids[n]:
                src = source_id(x, n)
                if (src, ids[n]) not in edges:
                    edges[src, ids[n]] = VizEdge(src, ids[n], x in on_path and n in on_path)
    sources = {e.src for e in edges.values()}
    for n in kept:  # a constant every reader reads from a copy in its own box is drawn only there
        rid = ids.get(n)
        if n.op.name == "constant" and rid in records and rid not in sources and n not in outputs \
                and any(c in ids for c in hier.consumers.get(n, ())):
            del records[rid]
    for k, (p, v) in enumerate(graph.updates):
        if v in ids:
            uid = f"u{k}"
            role = hier.role(v)
            records[uid] = VizNode(uid, f"update {hier.label(p)}", "update", "update",
                                   p.type_str()[len(p.dtype):], p.dtype, source=_source(hier.loc(v)),
                                   gradient=forward is not None and role != "optimizer",
                                   scope=records[ids[v]].scope if ids[v] in records else None,
                                   role="optimizer" if role == "optimizer" else "gradient",
                                   bytes=_cost(p)[1])
            edges[ids[v], uid] = VizEdge(ids[v], uid)

    view_clusters = [VizCluster(f"c{k}", c.name, c.formula) for k, c in enumerate(clusters)]
    if not collapse:
        view_clusters += [VizCluster(gid, name) for name, gid in group_ids.items()]
    nodes = tuple(records.values())
    return VizGraph(stage, nodes, tuple(edges.values()), tuple(view_clusters), hier.scopes(nodes))


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


def _source(loc: SourceLoc | None) -> str:
    """The user's line as `file:line: code`, the file relative to the working directory when inside it."""
    if loc is None:
        return ""
    path = shown_path(loc.filename)
    code = loc.code
    return f"{path}:{loc.lineno}: {code}" if code else f"{path}:{loc.lineno}"


def _label(n: Tensor) -> str:
    return n.op.format([]) if n.op.is_leaf else n.op.name


def _cost(n: Tensor) -> tuple[int, int]:
    """The node's FLOPs (as the roofline counts them) and the bytes of its value (0 while a dim is free)."""
    if n.size is None:
        return 0, 0
    try:
        flops = 0 if n.op.is_leaf else node_flops(n)[1] or 0
    except (TypeError, AttributeError, IndexError):  # an op the roofline does not know the operands of
        flops = 0
    return int(flops), int(n.size * np.dtype(n.dtype).itemsize)


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


def flatten(view: VizGraph, expand: int | None = 0) -> VizGraph:
    """`view` for drawers without boxes that open: a box `expand` levels down (0: the top level) becomes one
    node standing for everything in it, the boxes above it clusters around their contents (None: every
    box a cluster)."""
    if not view.scopes:
        return view
    scopes = {s.id: s for s in view.scopes}

    def rep(box: str | None, own: str) -> str:
        chain = []
        while box is not None:
            chain.append(box)
            box = scopes[box].parent
        for sid in reversed(chain):
            if expand is not None and scopes[sid].depth >= expand:
                return sid
        return own

    nodes: dict[str, VizNode] = {}
    members: dict[str, list[VizNode]] = {}
    ids: dict[str, str] = {}
    for n in view.nodes:
        r = rep(n.scope, n.id)
        ids[n.id] = r
        if r == n.id:
            nodes[n.id] = replace(n, cluster=n.cluster or n.scope)
        else:
            members.setdefault(r, []).append(n)
    for sid, recs in members.items():
        s = scopes[sid]
        box = _group_node(sid, s.label, recs)
        nodes[sid] = replace(box, family=s.kind, cluster=s.parent, flops=s.flops, bytes=s.bytes, role=s.kind,
                             gradient=s.kind == "gradient", source=s.source.strip(),
                             attrs={**box.attrs, "type": s.type})
    edges: dict[tuple[str, str], VizEdge] = {}
    for e in view.edges:
        a, b = ids[e.src], ids[e.dst]
        if a != b:
            old = edges.get((a, b))
            edges[a, b] = VizEdge(a, b, e.highlighted or (old is not None and old.highlighted))
    opened = [VizCluster(s.id, f"{s.label}  ({s.type})", parent=s.parent) for s in view.scopes
              if expand is None or s.depth < expand]
    used = {n.cluster for n in nodes.values()}
    keep = set()
    for c in opened:  # a cluster is drawn when it holds something, itself or through a nested cluster
        if c.id in used:
            box: str | None = c.id
            while box is not None and box not in keep:
                keep.add(box)
                box = scopes[box].parent
    return replace(view, nodes=tuple(nodes.values()), edges=tuple(edges.values()),
                   clusters=view.clusters + tuple(c for c in opened if c.id in keep), scopes=())


def marked(view: VizGraph, term: str) -> VizGraph:
    """`view` with the nodes whose label, op, module path or source line contains `term` highlighted (and
    the boxes holding them: a closed box stands for what it holds)."""
    term = term.strip().lower()
    if not term:
        return view
    scopes = {s.id: s for s in view.scopes}

    def path(box: str | None) -> str:
        names = []
        while box is not None:
            names.append(scopes[box].label)
            box = scopes[box].parent
        return " ".join(names)

    nodes = tuple(replace(n, highlighted=True) if term in " ".join((n.label, n.op, path(n.scope), n.source)).lower()
                  else n for n in view.nodes)
    return replace(view, nodes=nodes)
