"""One self-contained, offline HTML page: every stage of a graph, and optionally each pass's result."""
from __future__ import annotations

import html
import json
import os
from typing import Any, Sequence

from ..ir import Graph
from . import style
from .files import write_atomic
from .layout import layered
from .model import VizGraph, build
from .page import TEMPLATE
from .stages import StageUnavailable, stage_names


def to_html(obj: Any = None, stages: Sequence[str] | None = None, *,
            snapshots: Sequence[tuple[str, Graph]] = (), title: str = "graphc graph", **options: Any) -> str:
    """The viewer page for `obj` (a tensor, list of tensors, Graph or Function).

    `stages` lists the views to offer, the first shown first (by default every
    registered stage). The first must be available; later stages this installation
    cannot produce (no optimizer yet, say) are left out. `snapshots`
    is a timeline of `(pass name, Graph)` pairs, the graph after each pass.
    Other options go to `gc.viz.build` for every view.
    """
    views = []
    if obj is not None:
        for i, stage in enumerate(stages or stage_names()):
            try:
                views.append(_view_data(stage, "stage", build(obj, stage, **options)))
            except StageUnavailable:
                if i == 0:
                    raise
    views += [_view_data(name, "pass", build(graph, "gradients", **options)) for name, graph in snapshots]
    data = {
        "title": title,
        "views": views,
        "colors": {"families": style.FILL, "gradient": style.GRADIENT_COLOR,
                   "highlight": style.HIGHLIGHT_COLOR, "cluster": style.CLUSTER_COLOR},
    }
    script_safe = json.dumps(data).replace("</", "<\\/")
    return (TEMPLATE.replace("__TITLE__", html.escape(title)).replace("__HIGHLIGHT__", style.HIGHLIGHT_COLOR)
            .replace("__DATA__", script_safe))


def write_html(obj: Any, path: str | os.PathLike, stages: Sequence[str] | None = None, **options: Any) -> None:
    """Write `to_html(obj, stages, **options)` to `path`, atomically: one offline page."""
    write_atomic(path, to_html(obj, stages, **options))


def _view_data(name: str, kind: str, view: VizGraph) -> dict[str, Any]:
    labels = {n.id: (("\u2207 " if n.gradient else "") + n.label, n.type_str) for n in view.nodes}
    layout = layered(view, labels)
    clusters = {c.id: c for c in view.clusters}
    nodes = []
    for n in view.nodes:
        x, y, w, h = layout.boxes[n.id]
        cluster = clusters.get(n.cluster) if n.cluster else None
        nodes.append({
            "id": n.id, "label": n.label, "sub": n.type_str, "family": n.family, "fill": style.fill(n.family),
            "gradient": n.gradient, "output": n.output, "highlighted": n.highlighted, "truncated": n.truncated,
            "cluster": n.cluster, "x": x, "y": y, "w": w, "h": h,
            "details": {"op": n.op, "attrs": n.attrs, "source": n.source,
                        "cluster": cluster.label if cluster else "", "formula": cluster.formula if cluster else ""},
        })
    edges = [{"points": layout.routes[e.src, e.dst], "highlighted": e.highlighted} for e in view.edges]
    return {"name": name, "kind": kind, "nodes": nodes, "edges": edges, "width": layout.width,
            "height": layout.height, "clusters": [{"id": c.id, "label": c.label, "formula": c.formula}
                                                  for c in view.clusters]}
