"""Fusion: maximal groups of elementwise ops become one kernel with a SymPy body.

Groups grow from their consumers backwards: an elementwise node joins the group
of its users when all of them are in one group and it has the group's shape
(so nothing is recomputed). A group whose only user is a reduction is folded
into it (FusedReduce), and a group fed by a 2-D matmul used nowhere else becomes
the matmul's epilogue (bias + activation written with the product).
"""
from __future__ import annotations

import sympy as sp

from ..ir import Graph, Tensor, remake
from ..ops import elementwise as ew
from ..ops.fused import ACC, FusedElementwise, FusedReduce, MatMulEpilogue, exact_body, input_symbols
from ..ops.linalg import MatMul
from ..ops.reduce import Monoid
from ..ops.scalar import ROUNDING
from .fastmath import fast_math
from .patterns import scalar_const
from .rewrite import RewriteStats, map_graph

MAX_GROUP = 64  # ops per kernel: keeps SymPy bodies (and compile time) small


def _fusible(node: Tensor) -> bool:
    return isinstance(node.op, ew.Elementwise) and not isinstance(node.op, ew.Cast)


class _Group:
    def __init__(self, root: Tensor):
        self.root = root
        self.members: set[Tensor] = {root}
        self._added = [root]  # in reverse topological order (groups grow from their consumers)

    def add(self, node: Tensor) -> None:
        self.members.add(node)
        self._added.append(node)

    def order(self) -> list[Tensor]:
        """Members, inputs before users (without walking the rest of the graph)."""
        return self._added[::-1]

    def inputs(self) -> list[Tensor]:
        seen: dict[Tensor, None] = {}
        for m in self.order():
            for i in m.inputs:
                if i not in self.members and scalar_const(i) is None:
                    seen.setdefault(i)
        return list(seen)

    def body(self, symbols: dict[Tensor, sp.Expr]) -> tuple[tuple, sp.Expr]:
        """(lets, result): members used more than once inside the group are bound to a symbol, and so is
        every `where` (a Piecewise) a later member reads: SymPy rewrites a Piecewise inside a condition
        (t >= where(c, t, x) became True, folding t >= t) and misreads one as a condition."""
        order = self.order()
        uses: dict[Tensor, int] = {}
        for m in order:
            for i in m.inputs:
                uses[i] = uses.get(i, 0) + 1
        expr: dict[Tensor, sp.Expr] = {}
        lets = []
        finite = fast_math()  # SymPy's own simplification assumes finite values
        for m in order:
            args = [expr[i] if i in self.members else symbols[i] if i in symbols else _const_expr(i)
                    for i in m.inputs]
            raw = m.op.kernel_body(*args) if finite else exact_body(m.op, args)
            # 16-bit floats compute in float32 and round once per op, as each op alone does
            value = ROUNDING[m.dtype](raw) if m.dtype in ROUNDING and not raw.is_Atom else raw
            if (uses.get(m, 0) > 1 or isinstance(raw, sp.Piecewise) and m is not self.root) and not value.is_Atom:
                sym = sp.Symbol(f"t{len(lets)}", real=True)
                lets.append((sym, value))
                value = sym
            expr[m] = value
        return tuple(lets), expr[self.root]


def _const_expr(t: Tensor) -> sp.Expr:
    v = scalar_const(t)
    if isinstance(v, bool):
        return sp.true if v else sp.false
    return sp.Integer(v) if isinstance(v, int) else sp.Float(v)


def users_of(graph: Graph) -> dict[Tensor, list[Tensor]]:
    """Each node's consumers (one entry per use)."""
    users: dict[Tensor, list[Tensor]] = {n: [] for n in graph.nodes}
    for n in graph.nodes:
        for i in n.inputs:
            users[i].append(n)
    return users


def find_groups(graph: Graph, users: dict[Tensor, list[Tensor]]) -> dict[Tensor, _Group]:
    """Map each fusible node to its group."""
    roots = set(graph.roots())
    group_of: dict[Tensor, _Group] = {}
    for node in reversed(graph.nodes):
        if not _fusible(node):
            continue
        consumer_groups = {id(group_of.get(u)) for u in users[node]}
        target = group_of.get(users[node][0]) if users[node] else None
        if (node not in roots and target is not None and len(consumer_groups) == 1
                and node.shape == target.root.shape and len(target.members) < MAX_GROUP):
            target.add(node)
            group_of[node] = target
        else:
            group_of[node] = _Group(node)
    return group_of


def fuse(graph: Graph, stats: RewriteStats) -> Graph:
    users = users_of(graph)
    group_of = find_groups(graph, users)
    roots = set(graph.roots())
    # old node -> rebuilt node (inputs are rebuilt before users)
    done: dict[Tensor, Tensor] = {x: x for x in graph.inputs}

    def single_use(t: Tensor) -> bool:
        return len(users[t]) == 1 and t not in roots

    def kernel(node: Tensor, inputs: tuple[Tensor, ...]) -> Tensor:
        producer = node.inputs[0] if node.inputs else None
        if isinstance(node.op, Monoid) and producer in group_of and group_of[producer].root is producer \
                and single_use(producer) and group_of[producer].inputs():
            group = group_of[producer]
            ins = group.inputs()
            lets, body = group.body(dict(zip(ins, input_symbols(len(ins)))))
            stats.fired["reduce fusion"] += 1
            op = FusedReduce(lets, body, len(ins), type(node.op), node.op.axes, node.op.keepdims, node.dtype,
                             producer.shape)
            return Tensor.make(op, [done[i] for i in ins], loc=node.loc)
        group = group_of.get(node)
        if group is None or group.root is not node:
            return remake(node, inputs)
        ins = group.inputs()
        mm = next((i for i in ins if isinstance(i.op, MatMul) and i.inputs[0].ndim >= 2
                   and i.inputs[1].ndim >= 2 and i.shape == node.shape and single_use(i)), None)
        if mm is None and (len(group.members) == 1 or not ins):  # nothing to fuse, or only constants
            return remake(node, inputs)
        extra = [i for i in ins if i is not mm]
        symbols = dict(zip(extra, input_symbols(len(extra))))
        if mm is not None:
            symbols[mm] = ACC
        lets, body = group.body(symbols)
        stats.fired["elementwise fusion"] += 1
        stats.fired["fused ops"] += len(group.members)
        if mm is not None:
            stats.fired["matmul epilogue"] += 1
            operands = [done[i] for i in mm.inputs] + [done[i] for i in extra]
            return Tensor.make(MatMulEpilogue(lets, body, len(extra), node.dtype), operands, loc=node.loc)
        return Tensor.make(FusedElementwise(lets, body, len(extra), node.dtype, node.shape),
                           [done[i] for i in extra], loc=node.loc)

    def rebuild(node: Tensor, inputs: tuple[Tensor, ...]) -> Tensor:
        done[node] = kernel(node, inputs)
        return done[node]

    return map_graph(graph, rebuild)

