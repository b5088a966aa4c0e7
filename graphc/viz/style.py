"""How each kind of node looks, shared by the DOT and HTML renderers so both agree.

Families come from where an op is defined (`graphc/ops/<family>.py`); leaves are
split into their three kinds because they play different roles in a graph.
"""
from __future__ import annotations

#: Fill color per family (op families, leaf kinds, and the viewer's own node kinds).
FILL: dict[str, str] = {
    "elementwise": "#cfe3ff",
    "reduce": "#ffd9a8",
    "linalg": "#f7b7b7",
    "shape": "#e2e2e2",
    "index": "#cdeec4",
    "fused": "#bfe9e4",
    "placeholder": "#fff1a6",
    "parameter": "#9fdc98",
    "constant": "#ffffff",
    "update": "#f3e6ff",
    "group": "#e4d7ff",
    "module": "#dfe9f7",
    "function": "#dfe9f7",
    "gradient": "#f9dedc",
    "optimizer": "#ece3f7",
    "other": "#f4f4f4",
}

#: Graphviz node shape per family; ops not listed are rounded boxes.
DOT_SHAPE: dict[str, str] = {
    "placeholder": "invhouse",
    "parameter": "cylinder",
    "constant": "note",
    "update": "cds",
    "group": "box3d",
    "module": "box3d",
    "function": "box3d",
    "gradient": "box3d",
    "optimizer": "box3d",
}

#: Fill of a closed box per kind of scope: a module call (or loss function), its gradient, an optimizer's update.
SCOPE_FILL: dict[str, str] = {k: FILL[k] for k in ("module", "gradient", "optimizer")}

GRADIENT_COLOR = "#c0392b"  # border of gradient nodes
HIGHLIGHT_COLOR = "#e67e22"  # nodes and edges on a highlighted path
CLUSTER_COLOR = "#7d5ba6"  # outline of fused kernels and uncollapsed groups


def fill(family: str) -> str:
    return FILL.get(family, FILL["other"])
