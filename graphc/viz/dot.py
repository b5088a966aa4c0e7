"""Graphviz DOT text for a view: shapes and colors from `style`, kernels and groups as clusters."""
from __future__ import annotations

from typing import Any

from . import style
from .model import build, flatten
from .records import VizGraph, VizNode


def to_dot(obj: Any, stage: str = "forward", *, expand: int | None = 0, **options: Any) -> str:
    """DOT text for a tensor, list of tensors, Graph or Function: module boxes `expand` levels down are one
    node each, those above them clusters (None: all clusters). Other options: see `gc.viz.build`."""
    return dot_source(build(obj, stage, **options), expand)


def dot_source(view: VizGraph, expand: int | None = 0) -> str:
    view = flatten(view, expand)
    lines = [
        "digraph graphc {",
        f'  graph [rankdir=TB, label={_q(view.stage)}, labelloc=t, fontname="Helvetica", nodesep=0.25, ranksep=0.35];',
        '  node [fontname="Helvetica", fontsize=10, height=0.3];',
        '  edge [color="#555555", arrowsize=0.6];',
    ]
    children: dict[str | None, list] = {}
    for c in view.clusters:
        children.setdefault(c.parent, []).append(c)

    def cluster(c: Any, indent: str) -> None:
        label = f"{c.label}\n{c.formula}" if c.formula else c.label
        lines.append(f"{indent}subgraph cluster_{c.id} {{")
        lines.append(f'{indent}  label={_q(label)}; style="dashed,rounded"; color="{style.CLUSTER_COLOR}"; '
                     'fontsize=10;')
        for inner in children.get(c.id, []):
            cluster(inner, indent + "  ")
        lines.extend(f"{indent}{_node(n)}" for n in view.nodes if n.cluster == c.id)
        lines.append(f"{indent}}}")

    for c in children.get(None, []):
        cluster(c, "  ")
    known = {c.id for c in view.clusters}
    lines += [_node(n) for n in view.nodes if n.cluster is None or n.cluster not in known]
    for e in view.edges:
        extra = f' [color="{style.HIGHLIGHT_COLOR}", penwidth=2.5]' if e.highlighted else ""
        lines.append(f"  {e.src} -> {e.dst}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node(n: VizNode) -> str:
    grad = "∇ " if n.gradient and not n.label.startswith("∇") else ""
    label = f"{grad}{n.label}\n{n.type_str}"
    if n.truncated:
        label += "\n(inputs cut)"
    box = n.family not in style.DOT_SHAPE
    styles = ["filled"] + (["rounded"] if box else []) + (["dashed"] if n.gradient or n.truncated else [])
    attrs = {
        "label": label,
        "shape": style.DOT_SHAPE.get(n.family, "box"),
        "style": ",".join(styles),
        "fillcolor": style.fill(n.family),
        "tooltip": n.source or n.op,
    }
    if n.gradient:
        attrs["color"] = style.GRADIENT_COLOR
    if n.highlighted:
        attrs.update(color=style.HIGHLIGHT_COLOR, penwidth="3")
    text = ", ".join(f"{k}={_q(v)}" for k, v in attrs.items())
    return f"  {n.id} [{text}{', peripheries=2' if n.output else ''}];"


def _q(s: str) -> str:
    """A DOT string literal."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
