"""Graph visualization: Graphviz (DOT, SVG, PNG, PDF), networkx (GraphML, JSON), and an HTML viewer.

    import graphc as gc
    gc.viz.save(step, "step.svg", stage="gradients")    # a compiled Function, or tensors
    gc.viz.save(step, "step.html")                      # every stage, interactive, offline
    g = gc.viz.to_networkx(loss)                         # for your own analysis

Everything is built from one view (`build`): pick the stage, collapse groups of
nodes, limit the depth, highlight a path. Nodes sit in boxes per module call (from `gc.nn`, the
losses, optimizers and imported ONNX names), their gradients in mirror `∇` boxes; the page opens
them in place, searches, and steps through passes. See docs/visualization.md.
"""
from .dot import to_dot
from .export import save
from .html import to_html, write_html
from .model import build, flatten
from .records import VizCluster, VizEdge, VizGraph, VizNode, VizScope
from .modules import module_groups
from .nxgraph import to_networkx, write_graphml, write_json
from .render import GraphvizNotFound, render
from .stages import Cluster, StageUnavailable, register_stage, stage_names

__all__ = [
    "to_dot", "save", "to_html", "write_html", "build", "flatten", "VizGraph", "VizNode", "VizEdge", "VizCluster",
    "VizScope",
    "to_networkx", "write_graphml", "write_json", "render", "GraphvizNotFound",
    "Cluster", "StageUnavailable", "register_stage", "stage_names", "module_groups",
]
