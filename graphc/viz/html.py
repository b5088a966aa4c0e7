"""One self-contained, offline HTML page: every stage of a graph, and optionally each pass's result."""
from __future__ import annotations

import html
import json
import os
from typing import Any, Sequence

from ..ir import Graph, toposort
from . import style
from .files import write_atomic
from .layout import compound
from .model import build, declared
from .records import VizGraph
from .page import TEMPLATE
from .stages import StageUnavailable, kernel_program, stage_names


def to_html(obj: Any = None, stages: Sequence[str] | None = None, *,
            snapshots: Sequence[tuple[str, Graph]] = (), title: str = "graphc graph", expand: int = 0,
            search: str = "", **options: Any) -> str:
    """The viewer page for `obj` (a tensor, list of tensors, Graph or Function).

    `stages` lists the views to offer, the first shown first (by default every
    registered stage). The first must be available; later stages this installation
    cannot produce (no optimizer yet, say) are left out. `snapshots`
    is a timeline of `(pass name, Graph)` pairs, the graph after each pass, each drawn with what
    that pass changed marked. Module boxes deeper than `expand` start closed; `search` fills
    the search box. Other options go to `gc.viz.build` for every view (`hide_optimizer=True` also
    ticks the page's switch).
    """
    views = []
    if obj is not None:
        for i, stage in enumerate(stages or stage_names()):
            try:
                views.append(_view_data(stage, "stage", build(obj, stage, **options)))
            except StageUnavailable:
                if i == 0:
                    raise
    before: set = set()
    for k, (name, graph) in enumerate(snapshots):
        nodes = set(toposort(list(graph.outputs) + [v for _, v in graph.updates]))
        changed = nodes - before if k else set()
        view = build(graph, "gradients", changed=changed, **options)
        summary = f"{len(changed)} new, {len(before - nodes)} gone" if k else f"{len(nodes)} nodes"
        views.append(_view_data(name, "pass", view, summary))
        before = nodes
    if snapshots and obj is not None:  # the timeline ends with the kernel program
        try:
            _, program = kernel_program(declared(obj)[0])
            summary = (f"{len(program.kernels)} kernels, arena {program.plan.arena_bytes} B "
                       f"(without reuse {program.plan.unplanned_bytes} B)")
            views.append(_view_data("kernel program", "pass", build(obj, "kernels", **options), summary))
        except StageUnavailable:
            pass
    data = {
        "title": title,
        "views": views,
        "expand": expand,
        "search": search,
        "hideOptimizer": bool(options.get("hide_optimizer")),
        "colors": {"families": style.FILL, "gradient": style.GRADIENT_COLOR, "scopes": style.SCOPE_FILL,
                   "highlight": style.HIGHLIGHT_COLOR, "cluster": style.CLUSTER_COLOR},
    }
    script_safe = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return TEMPLATE.replace("__TITLE__", html.escape(title)).replace("__DATA__", script_safe)


def write_html(obj: Any, path: str | os.PathLike, stages: Sequence[str] | None = None, **options: Any) -> None:
    """Write `to_html(obj, stages, **options)` to `path`, atomically: one offline page."""
    write_atomic(path, to_html(obj, stages, **options))


def _human(x: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= size:
            return f"{x / size:.3g} {unit}"
    return str(x)


def scope_lines(view: VizGraph) -> dict[str, tuple[str, str]]:
    """The two lines a closed box shows: its name, and its type, size and FLOPs."""
    return {s.id: (s.label, " · ".join(part for part in (s.type, f"{s.nodes} ops",
                                                          f"{_human(s.flops)}FLOP" if s.flops else "") if part))
            for s in view.scopes}


def _view_data(name: str, kind: str, view: VizGraph, summary: str = "") -> dict[str, Any]:
    kernel = {c.id: c.label.split(" · ")[0].split(":")[0] for c in view.clusters if c.id.startswith("c")}
    labels = {n.id: (("\u2207 " if n.gradient else "") + n.label,
                     n.type_str + (f" {kernel[n.cluster]}" if n.cluster in kernel else "")) for n in view.nodes}
    boxes = scope_lines(view)
    lay = compound(view, {**labels, **boxes})
    sources: dict[str, int] = {}  # each distinct source line once: nodes name it by index
    nodes = []
    for n in view.nodes:
        box, layer, x, w = lay.items[n.id]
        text, sub = labels[n.id]
        rec = {"id": n.id, "text": text, "sub": sub, "family": n.family, "box": box, "L": layer, "X": x, "w": w,
               "label": n.label if n.label != text else None, "op": n.op if n.op != n.label else None,
               "role": n.role if n.role != "forward" else None, "grad_of": n.grad_of, "cluster": n.cluster,
               "flops": n.flops or None, "bytes": n.bytes or None, "attrs": n.attrs or None,
               "src": sources.setdefault(n.source, len(sources)) if n.source else None}
        rec.update({flag: True for flag in ("gradient", "output", "highlighted", "truncated", "changed")
                    if getattr(n, flag)})
        nodes.append({k: v for k, v in rec.items() if v is not None})
    scopes = []
    for s in view.scopes:
        box, layer, x, w = lay.items[s.id]
        scopes.append({"id": s.id, "label": s.label, "text": s.label, "sub": boxes[s.id][1], "kind": s.kind,
                       "type": s.type, "partner": s.partner, "depth": s.depth, "source": s.source.strip(),
                       "nodes": s.nodes, "flops": s.flops, "bytes": s.bytes, "box": box, "L": layer, "X": x, "w": w,
                       "role": "optimizer" if s.kind == "optimizer" else s.kind})
    bend_of = lay.edge_bends
    edges = [[e.src, e.dst, bend_of.get((e.src, e.dst), -1), e.highlighted] for e in view.edges]
    bends = [{"box": lay.items[b[0]][0] if b else None, "pts": [[lay.items[d][1], lay.items[d][2]] for d in b]}
             for b in lay.bends]
    return {"name": name, "kind": kind, "summary": summary, "nodes": nodes, "scopes": scopes, "edges": edges,
            "sources": list(sources),
            "bends": bends, "clusters": [{"id": c.id, "label": c.label, "formula": c.formula} for c in view.clusters]}
