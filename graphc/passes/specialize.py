"""Specialization: once shapes are concrete, shape-donor ops become plain ones."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Tensor, constant
from ..ops.reduce import Count
from ..ops.shape import BroadcastLike, broadcast_to
from .rewrite import RewriteStats, RuleSet, rewrite

SPECIALIZE = RuleSet("specialize")


@SPECIALIZE.rule(BroadcastLike, name="broadcast_like->broadcast_to")
def static_broadcast(node: Tensor):
    return broadcast_to(node.inputs[0], node.shape) if None not in node.shape else None


@SPECIALIZE.rule(Count, name="count->constant")
def static_count(node: Tensor):
    x = node.inputs[0]
    sizes = [x.shape[a] for a in node.op.axes]
    if None in sizes:
        return None
    return constant(np.asarray(int(np.prod(sizes)), dtype=node.dtype))


def specialize(graph: Graph, stats: RewriteStats) -> Graph:
    return rewrite(graph, SPECIALIZE, stats)
