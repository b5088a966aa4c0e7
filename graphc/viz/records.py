"""The neutral records every exporter draws: nodes, edges, clusters, the boxes of the hierarchy, a view."""
from __future__ import annotations

from dataclasses import dataclass, field


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
    scope: str | None = None  # the VizScope (module box, gradient box, optimizer box) it is drawn inside
    role: str = "forward"  # forward, gradient (built by gc.grad) or optimizer (an optimizer's update)
    grad_of: str | None = None  # for a gradient node: the forward node whose rule built it
    flops: int = 0
    bytes: int = 0
    changed: bool = False  # new in this pass's snapshot (the pass timeline marks it)

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
    """A box around nodes: a fused kernel with its `formula`, a user's group, or an open scope."""

    id: str
    label: str
    formula: str = ""
    parent: str | None = None  # the cluster it sits in (scopes nest)


@dataclass(frozen=True)
class VizScope:
    """A box of the hierarchy: a module call ("features.0"), a loss function, the gradient of one
    ("∇ features.0") or an optimizer's update of one parameter ("Adam: features.0.weight")."""

    id: str
    label: str
    kind: str  # module, function, gradient, optimizer
    type: str = ""  # the module's class ("Conv2d"), the loss function or optimizer
    parent: str | None = None
    depth: int = 0  # 0 for a box at the top level
    source: str = ""  # the user's lines that made the module and called it
    partner: str | None = None  # a forward box's gradient box, and the other way round
    nodes: int = 0  # nodes inside, nested boxes included
    flops: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class VizGraph:
    """The view every exporter draws: one stage of a graph as nodes, edges and clusters."""

    stage: str
    nodes: tuple[VizNode, ...]
    edges: tuple[VizEdge, ...]
    clusters: tuple[VizCluster, ...] = ()
    scopes: tuple[VizScope, ...] = ()
