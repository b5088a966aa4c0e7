"""Control flow: `gc.scan`, a loop whose step is a graphc subgraph.

A layer above autodiff, not an op family: the loop's derivatives are loops over its body's own
gradient and jvp, so it builds on `graphc.autodiff`, which builds on the ops.
"""
from .loop import Body, Scan, closed_scan, merge_scans, node_count, scan

__all__ = ["Body", "Scan", "closed_scan", "merge_scans", "node_count", "scan"]
