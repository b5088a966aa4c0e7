"""The boxes of a view: module calls, loss functions, their gradients and an optimizer's updates.

A node's location carries the scope it was built in (`graphc.ir.source.Scope`: `gc.nn` modules,
`gc.losses` functions and optimizers push one), so a compiled training step still knows that a
convolution belongs to `features.0`. A box is a path of names from the top level:
`("features", "features.0")`; the model the user called is no box of its own (its direct nodes are
at the top level). Gradient nodes (built by `gc.grad` under the location of the node they
differentiate) go in the mirror box `("∇ features", "∇ features.0")`, and an optimizer's nodes in
`("Adam", "Adam: features.0.weight")`. Parameters are named by their module path.

Nodes that depend on no input or parameter (constants, and what is computed from constants alone, such
as `arange(10)` in a loss or the cast of a learning rate) are hash-consed across every graph built in
the process, so their location is that of whichever graph built them first: a notebook's earlier
model, another test's. Their location is never read: such a node is drawn in the innermost box of the
nodes that read it in this graph, takes its role from them (an optimizer's when only the optimizer
reads it) and shows the line of its first reader, so a drawing never depends on what was built before.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from ..ir import Tensor, toposort
from ..ir.source import Scope, SourceLoc
from .records import VizNode, VizScope
from .paths import shown_path

Key = tuple[str, ...]
GRAD = "\u2207 "


class Hierarchy:
    """Which box each node of `nodes` is drawn in, and what each box is (`scopes`)."""

    def __init__(self, nodes: Sequence[Tensor], forward: set[Tensor] | None):
        self.forward = forward
        self.info: dict[Key, tuple[str, str, str]] = {}  # box -> (kind, type, source)
        self.param_path: dict[Tensor, tuple[str, Key]] = {}  # parameter -> (dotted path, its module's box)
        self._keys: dict[int, Key] = {}
        # What depends on an input or a parameter was built for this graph (placeholders and parameters are
        # never shared); the rest is hash-consed across graphs and its location may be another graph's.
        self.live: set[Tensor] = set()
        for n in toposort(nodes):  # every ancestor, also those a depth limit leaves out of `nodes`
            if n.op.name in ("placeholder", "parameter") or any(x in self.live for x in n.inputs):
                self.live.add(n)
        scopes = {id(n.loc.scope): n.loc.scope for n in nodes
                  if n in self.live and n.loc is not None and n.loc.scope is not None}
        self.roots = _root_names(scopes.values())
        for s in scopes.values():
            self._key(s)
        self.consumers: dict[Tensor, list[Tensor]] = {}
        for n in nodes:
            for x in n.inputs:
                self.consumers.setdefault(x, []).append(n)
        self._boxes: dict[Tensor, Key] = {}
        self._roles: dict[Tensor, str] = {}
        self._locs: dict[Tensor, SourceLoc | None] = {}
        self.ids: dict[Key, str] = {}
        for n in reversed(nodes):  # readers first: a shared node's role, box and line come from them
            if n not in self.live:
                self.role(n)
                self.box_key(n)
                self.loc(n)

    def own(self, n: Tensor) -> bool:
        """Whether `n`'s location is this graph's: it depends on an input or a parameter, so no other graph
        shares it (constants and what is computed from them alone may have been built by another)."""
        return n in self.live

    def loc(self, n: Tensor) -> SourceLoc | None:
        """The user's line `n` stands for in this graph: its own, or for a shared node its first reader's."""
        if n in self.live:
            return n.loc
        if n not in self._locs:
            self._locs[n] = next((loc for c in self.consumers.get(n, ()) if (loc := self.loc(c)) is not None),
                                 None)
        return self._locs[n]

    # -- scopes to boxes ---------------------------------------------------------------------------
    def _key(self, s: Scope) -> Key:
        """The forward (or optimizer) box of a scope, registering its ancestors' boxes and parameters."""
        if id(s) in self._keys:
            return self._keys[id(s)]
        parent: Key = self._key(s.parent) if s.parent is not None else ()
        if s.kind == "module":
            outer = s
            while outer.parent is not None and outer.parent.kind == "module":
                outer = outer.parent
            root = self.roots.get(_module_identity(outer), "") if not outer.path else ""
            name = s.path or self.roots.get(_module_identity(s), "")
            for attr, p in s.params:
                path = ".".join(part for part in (root, s.path, attr) if part)
                self.param_path.setdefault(p, (path, parent + (name,) if name else parent))
        elif s.kind == "optimizer":
            parent, name = (), s.type
        else:
            name = s.path
        key = parent + (name,) if name else parent
        if name and key not in self.info:
            self.info[key] = (s.kind, s.type, _where("declared", s.declared) + _where("called", s.called))
        self._keys[id(s)] = key
        return key

    def _param_box(self, s: Scope) -> Key:
        """An optimizer's box for one parameter, named by the parameter's module path."""
        p = s.params[0][1]
        label = f"{s.type}: {self.label(p)}"
        key = (s.type, label)
        if key not in self.info:
            self.info.setdefault((s.type,), ("optimizer", s.type, _where("declared", s.declared)))
            self.info[key] = ("optimizer", s.type, _where("declared", s.declared) + _where("called", s.called))
        return key

    # -- nodes ---------------------------------------------------------------------------------------
    def role(self, n: Tensor) -> str:
        """forward, gradient (what gc.grad added) or optimizer (an optimizer's update); leaves are neither
        gradient nor update: a learning rate is a constant, not a gradient. A node shared with other graphs
        (computed from constants alone) is the optimizer's when only the optimizer reads it here."""
        if self.forward is None or n in self.forward or n.op.is_leaf:
            return "forward"
        if n not in self.live:
            if n not in self._roles:
                readers = [self.role(c) for c in self.consumers.get(n, ())]
                self._roles[n] = "optimizer" if readers and all(r == "optimizer" for r in readers) else "gradient"
            return self._roles[n]
        s = n.loc.scope if n.loc is not None else None
        while s is not None:
            if s.kind == "optimizer":
                return "optimizer"
            s = s.parent
        return "gradient"

    def label(self, n: Tensor) -> str:
        """A parameter by its module path (`features.0.weight`); other nodes by their op or value."""
        if n in self.param_path:
            return self.param_path[n][0]
        return n.op.format([]) if n.op.is_leaf else n.op.name

    def box_key(self, n: Tensor) -> Key:
        if n in self._boxes:
            return self._boxes[n]
        s = n.loc.scope if n.loc is not None else None
        if n.op.is_leaf or n not in self.live:
            key = self._leaf_box(n)
        elif s is None:
            key = ()
        else:
            role = self.role(n)
            if role == "optimizer":
                while s.kind != "optimizer":
                    s = s.parent
                key = self._param_box(s) if s.params else self._key(s)
            else:
                key = self._key(s)
                if role == "gradient":
                    key = self._gradient_box(key)
        self._boxes[n] = key
        return key

    def _gradient_box(self, key: Key) -> Key:
        """The gradient's mirror of a forward box: `("∇ features", "∇ features.0")`."""
        for i in range(1, len(key) + 1):
            mirror = tuple(GRAD + k for k in key[:i])
            if mirror not in self.info:
                kind, type_, source = self.info[key[:i]]
                self.info[mirror] = ("gradient", type_, source)
        return tuple(GRAD + k for k in key)

    def _leaf_box(self, n: Tensor) -> Key:
        """A module's parameter in its module's box; a placeholder at the top; another leaf (a constant,
        an optimizer's moment) or a node computed from constants alone in the innermost box holding every
        node that reads it."""
        if n in self.param_path:
            return self.param_path[n][1]
        if n.op.name == "placeholder":
            return ()
        readers = [self.box_key(c) for c in self.consumers.get(n, ())]
        if not readers:
            return ()
        common = readers[0]
        for r in readers[1:]:
            k = 0
            while k < min(len(common), len(r)) and common[k] == r[k]:
                k += 1
            common = common[:k]
        return common

    def box(self, n: Tensor) -> str | None:
        """The id of the box `n` is drawn in (None: the top level)."""
        return self.box_id(self.box_key(n))

    def box_id(self, key: Key) -> str | None:
        if not key:
            return None
        if key not in self.ids:
            self.box_id(key[:-1])
            self.ids[key] = f"s{len(self.ids)}"
        return self.ids[key]

    def without_optimizer(self, nodes: Sequence[Tensor], outputs: set[Tensor],
                          updates: Sequence[tuple[Tensor, Tensor]]) -> list[Tensor]:
        """`nodes` less the optimizer's (and the leaves only they read, its moments and step counter)."""
        hidden = {n for n in nodes if self.role(n) == "optimizer"}
        return [n for n in nodes if n not in hidden and not (
            n.op.is_leaf and n not in outputs and self.consumers.get(n) and
            all(c in hidden for c in self.consumers[n]))]

    # -- the boxes as records ------------------------------------------------------------------------
    def scopes(self, nodes: Sequence[VizNode]) -> tuple[VizScope, ...]:
        """A VizScope per box that holds a drawn node (and its ancestors), with counts and costs inside."""
        totals: dict[str, list[int]] = {}
        by_id = {v: k for k, v in self.ids.items()}
        for rec in nodes:
            key = by_id.get(rec.scope) if rec.scope else None
            while key:
                t = totals.setdefault(self.ids[key], [0, 0, 0])
                t[0] += 1
                t[1] += rec.flops
                t[2] += rec.bytes
                key = key[:-1]
        out = []
        for key, sid in self.ids.items():
            if sid not in totals:
                continue
            kind, type_, source = self.info.get(key, ("module", "", ""))
            if kind == "gradient":
                forward = tuple(k[len(GRAD):] for k in key)
            else:
                forward = tuple(GRAD + k for k in key)
            partner = self.ids.get(forward)
            n, flops, nbytes = totals[sid]
            out.append(VizScope(sid, key[-1], kind, type_, self.ids.get(key[:-1]), len(key) - 1, source,
                                partner if partner in totals else None, n, flops, nbytes))
        return tuple(out)


def _module_identity(s: Scope) -> object:
    """What tells two modules apart: the line that made each (a new location object per module)."""
    return id(s.declared) if s.declared is not None else s.type


def _root_names(scopes: Iterable[Scope]) -> dict[object, str]:
    """Names for the outermost modules (path ""): none when one model holds everything (its direct nodes
    are the top level), else each its class name ("Encoder", "Decoder", "Encoder#2") so that two models'
    `layers.0` stay apart."""
    roots: dict[object, str] = {}
    for s in scopes:
        while s is not None:
            if s.kind == "module" and not s.path and _module_identity(s) not in roots:
                taken = sum(name.split("#")[0] == s.type for name in roots.values())
                roots[_module_identity(s)] = s.type if not taken else f"{s.type}#{taken + 1}"
            s = s.parent
    return roots if len(roots) > 1 else {}


def _where(what: str, loc: SourceLoc | None) -> str:
    if loc is None:
        return ""
    path = shown_path(loc.filename)
    code = loc.code
    return f"{what} at {path}:{loc.lineno}" + (f": {code}\n" if code else "\n")
