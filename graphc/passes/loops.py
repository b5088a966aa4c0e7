"""Loop passes: scans over the same operands run as one loop."""
from __future__ import annotations

from ..ir import Graph
from ..control import merge_scans
from .rewrite import RewriteStats


def merge_loops(graph: Graph, stats: RewriteStats) -> Graph:
    """A differentiated scan is run twice (once for its value, once stashing what its gradient reads);
    when both are in the graph, one loop computes both."""
    replace = merge_scans(graph.roots())
    if not replace:
        return graph
    stats.fired["merge scan"] += len(replace)
    return graph.replace(replace)
