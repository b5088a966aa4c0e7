"""A layered (Sugiyama-style) layout in plain Python, so the HTML viewer needs no layout library.

Each box of the hierarchy (the top level, every module scope) is laid out on its own (`compound`).
Layers by longest path from the inputs, with leaves pulled down next to their
first user; edges pass through dummy points, one per layer crossed for edges up to
`LONG` layers and only one, just above the target, for longer ones (so the work
and the page grow linearly with the graph: one constant shared by n ops down a
chain of n would otherwise need n**2 / 2 dummies); a few barycenter sweeps order
each layer to cut crossings, and a few more move nodes toward their neighbours'
mean x (so long edges run straight). Time and memory are linear in nodes + edges.
"""
from __future__ import annotations

from dataclasses import dataclass

from .records import VizGraph

CHAR_W, NODE_H, GAP_X, GAP_Y, SWEEPS = 7.4, 38.0, 22.0, 46.0, 8  # as the page draws: 12 px monospace
LONG = 8  # an edge crossing more layers than this gets one dummy point (above its target), not one per layer


def node_width(label: str, sub: str) -> float:
    return max(len(label), len(sub)) * CHAR_W + 24.0


def _layers(nodes: list[str], preds: dict[str, list[str]], succs: dict[str, list[str]]) -> dict[str, int]:
    """Longest path from the sources; then each source moves down to just above its first user."""
    layer: dict[str, int] = {}
    pending = {n: len(preds[n]) for n in nodes}
    ready = [n for n in nodes if pending[n] == 0]
    while ready:
        n = ready.pop()
        layer[n] = max((layer[p] + 1 for p in preds[n]), default=0)
        for s in succs[n]:
            pending[s] -= 1
            if pending[s] == 0:
                ready.append(s)
    for n in nodes:
        if not preds[n] and succs[n]:
            layer[n] = min(layer[s] for s in succs[n]) - 1
    return layer


def _number(rows: list[list[str]], pos: dict[str, float]) -> None:
    for row in rows:
        for i, n in enumerate(row):
            pos[n] = float(i)


def _barycenter(n: str, neighbours: dict[str, list[str]], pos: dict[str, float]) -> float:
    ns = neighbours[n]
    return sum(pos[m] for m in ns) / len(ns) if ns else pos[n]


def _place(row: list[str], neighbours: dict[str, list[str]], xs: dict[str, float], width: dict[str, float]) -> None:
    """Move each node of a row toward the mean x of its neighbours, keeping order and spacing.

    Pushing overlaps rightward and, separately, leftward gives two valid rows; their mean is valid too.
    """
    want = [sum(xs[m] for m in neighbours[n]) / len(neighbours[n]) if neighbours[n] else xs[n] for n in row]
    gap = [(width[a] + width[b]) / 2 + GAP_X for a, b in zip(row, row[1:])]
    right, left = list(want), list(want)
    for i in range(1, len(row)):
        right[i] = max(right[i], right[i - 1] + gap[i - 1])
    for i in range(len(row) - 2, -1, -1):
        left[i] = min(left[i], left[i + 1] - gap[i])
    for n, a, b in zip(row, right, left):
        xs[n] = (a + b) / 2


@dataclass(frozen=True)
class Compound:
    """A layered layout per box (the top level and every scope), each with its nested boxes collapsed.

    `items[id] = (box, layer, left x, width)` for nodes, scopes and bend points (ids `d<k>`) alike;
    `bends[k]` are the bend points of the k-th box-level edge, `edge_bends[(src, dst)]` which of them a
    node-level edge follows. The viewer stacks the rows and pushes right what an opened box
    overlaps, so opening one moves only what lies right of it in its row and below it.
    """

    items: dict[str, tuple[str | None, int, float, float]]
    bends: list[list[str]]
    edge_bends: dict[tuple[str, str], int]


def compound(view: VizGraph, labels: dict[str, tuple[str, str]]) -> Compound:
    """Lay out every box of `view` on its own; gradient edges point up, so the backward pass climbs
    beside the forward pass instead of doubling the height (a training step is as tall as its model)."""
    parent = {s.id: s.parent for s in view.scopes}
    up = {s.id for s in view.scopes if s.kind == "gradient"} | {n.id for n in view.nodes if n.gradient}

    def chain(item: str | None) -> list[str]:
        out = []
        while item is not None:
            out.append(item)
            item = parent.get(item)
        return out[::-1]

    members: dict[str | None, list[str]] = {}
    box_of: dict[str, str | None] = {}
    for s in view.scopes:
        members.setdefault(s.parent, []).append(s.id)
        box_of[s.id] = s.parent
    for n in view.nodes:
        members.setdefault(n.scope, []).append(n.id)
        box_of[n.id] = n.scope
    local: dict[str | None, dict[tuple[str, str], None]] = {}
    via: dict[tuple[str, str], tuple[str | None, tuple[str, str]]] = {}
    for e in view.edges:
        a, b = chain(box_of[e.src]) + [e.src], chain(box_of[e.dst]) + [e.dst]
        k = 0
        while a[k] == b[k]:
            k += 1
        box = a[k - 1] if k else None
        key = (a[k], b[k])
        local.setdefault(box, {})[key] = None
        via[e.src, e.dst] = (box, key)

    items: dict[str, tuple[str | None, int, float, float]] = {}
    bends: list[list[str]] = []
    index: dict[tuple[str | None, tuple[str, str]], int] = {}
    for box, ids in members.items():
        width = {i: node_width(*labels[i]) for i in ids}
        edges = list(local.get(box, {}))
        flip = {(a, b) for a, b in edges if a in up and b in up}
        lay, chains = _rows(ids, edges, flip, width)
        for (a, b), chain_ in chains.items():
            index[box, (a, b)] = len(bends)
            bends.append(chain_)
        for i, (layer, x) in lay.items():
            items[i] = (box, layer, x, width.get(i, 0.0))
    edge_bends = {e: index[box, key] for e, (box, key) in via.items() if (box, key) in index}
    return Compound(items, bends, edge_bends)


def _rows(ids: list[str], edges: list[tuple[str, str]], flip: set[tuple[str, str]],
          width: dict[str, float]) -> tuple[dict[str, tuple[int, float]], dict[tuple[str, str], list[str]]]:
    """Layer and left x of each item and bend point of one box; the bend points of each edge."""
    succs: dict[str, list[str]] = {i: [] for i in ids}
    preds: dict[str, list[str]] = {i: [] for i in ids}
    for a, b in edges:
        a, b = (b, a) if (a, b) in flip else (a, b)
        succs[a].append(b)
        preds[b].append(a)
    layer = _layers(ids, preds, succs)
    down: dict[str, list[str]] = {i: [] for i in ids}
    upn: dict[str, list[str]] = {i: [] for i in ids}
    chains: dict[tuple[str, str], list[str]] = {}
    for a, b in edges:
        s, t = (b, a) if (a, b) in flip else (a, b)
        crossed = range(layer[s] + 1, layer[t])
        marks = crossed if len(crossed) <= LONG else crossed[-1:]
        chain = [s] + [f"d{s}>{t}#{k}" for k in marks] + [t]
        for k, d in zip(marks, chain[1:-1]):
            layer[d] = k
            down[d], upn[d] = [], []
            width[d] = 0.0
        for x, y in zip(chain, chain[1:]):
            down[x].append(y)
            upn[y].append(x)
        inner = chain[1:-1]
        chains[a, b] = inner[::-1] if (a, b) in flip else inner
    rows: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for i in layer:
        rows[layer[i]].append(i)
    pos: dict[str, float] = {}
    _number(rows, pos)
    for sweep in range(SWEEPS):
        neighbours, ordered = (upn, rows[1:]) if sweep % 2 == 0 else (down, rows[-2::-1])
        for row in ordered:
            row.sort(key=lambda n: _barycenter(n, neighbours, pos))
            _number([row], pos)
    xs: dict[str, float] = {}
    for row in rows:
        x = 0.0
        for n in row:
            xs[n] = x + width[n] / 2
            x += width[n] + GAP_X
    for sweep in range(SWEEPS):
        neighbours, ordered = (upn, rows) if sweep % 2 == 0 else (down, rows[::-1])
        for row in ordered:
            _place(row, neighbours, xs, width)
    left = min((xs[n] - width[n] / 2 for n in xs), default=0.0)
    return {n: (layer[n], round(xs[n] - width[n] / 2 - left, 1)) for n in layer}, chains
