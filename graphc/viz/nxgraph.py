"""networkx interop: the view as an `nx.DiGraph`, and GraphML / node-link JSON files from it.

Attributes are flattened to strings and booleans (None becomes "") so GraphML
can hold them; op attributes appear as `attr_<name>`.
"""
from __future__ import annotations

import json
import os
from typing import Any

import networkx as nx

from .files import write_atomic
from .model import build
from .records import VizGraph


def to_networkx(obj: Any, stage: str = "forward", **options: Any) -> nx.DiGraph:
    """A DiGraph of `obj` at `stage` (options: see `gc.viz.build`)."""
    return view_networkx(build(obj, stage, **options))


def view_networkx(view: VizGraph) -> nx.DiGraph:
    g = nx.DiGraph(stage=view.stage)
    formulas = {c.id: c.formula for c in view.clusters}
    cluster_labels = {c.id: c.label for c in view.clusters}
    scopes = {s.id: s.label for s in view.scopes}
    for n in view.nodes:
        data = dict(label=n.label, op=n.op, family=n.family, shape=n.shape, dtype=n.dtype, source=n.source,
                    gradient=n.gradient, output=n.output, truncated=n.truncated, highlighted=n.highlighted,
                    cluster=cluster_labels.get(n.cluster, ""), formula=formulas.get(n.cluster, ""),
                    scope=scopes.get(n.scope, ""), role=n.role, flops=n.flops, bytes=n.bytes)
        data.update({f"attr_{k}": v for k, v in n.attrs.items()})
        g.add_node(n.id, **data)
    for e in view.edges:
        g.add_edge(e.src, e.dst, highlighted=e.highlighted)
    return g


def write_graphml(graph: nx.DiGraph, path: str | os.PathLike) -> None:
    """Write a `to_networkx` graph as GraphML (yEd, Gephi, Cytoscape), atomically."""
    write_atomic(path, "\n".join(nx.generate_graphml(graph)) + "\n")


def write_json(graph: nx.DiGraph, path: str | os.PathLike) -> None:
    """Node-link JSON (networkx's `node_link_data`), which `nx.node_link_graph` reads back."""
    write_atomic(path, json.dumps(nx.node_link_data(graph), indent=1) + "\n")
