"""Graph optimization: named, pure passes run as a visible ordered pipeline.

    canonicalize -> stabilize -> simplify / fold / CSE -> specialize -> fuse

`O0` runs nothing, `O1` the passes that keep values exact or make them more
accurate, `O2` (the default) adds algebraic simplification and fusion. Memory
planning and in-place updates happen when the optimized graph is scheduled
into a kernel program (`graphc.schedule`). Every level keeps IEEE semantics
(inf and NaN included); `fast_math=True` adds the folds that hold only for
finite values (`graphc.passes.fastmath`).
"""
from __future__ import annotations

from typing import Sequence

from ..ir import Graph
from .canonicalize import CANONICAL, canonicalize, cse
from .fastmath import FINITE
from .fuse import fuse
from .loops import merge_loops
from .manager import LEVELS, Pass, PassRecord, PassReport, run_passes
from .rewrite import RewriteError, RewriteStats, Rule, RuleSet, rewrite
from .simplify import FOLD, SIMPLIFY
from .specialize import SPECIALIZE, specialize
from .stabilize import STABILIZE, stabilize


def simplify(graph: Graph, stats: RewriteStats) -> Graph:
    """The identity table, and the folds that hold for finite values (on floats: with fast math only)."""
    return rewrite(graph, _SIMPLIFY_ALL, stats)


_SIMPLIFY_ALL = RuleSet("simplify", SIMPLIFY.rules + FINITE.rules)


def fold(graph: Graph, stats: RewriteStats) -> Graph:
    return rewrite(graph, FOLD, stats)


def dce(graph: Graph, stats: RewriteStats) -> Graph:
    """Dead code elimination: a Graph holds only what its roots reach, so rebuilding it is DCE."""
    return Graph(graph.inputs, graph.outputs, graph.updates)


PIPELINE: tuple[Pass, ...] = (
    Pass("canonicalize", "canonicalize", 1, canonicalize, "commutative order, x-(-y), x*x"),
    Pass("stabilize", "stabilize", 1, stabilize, "log_softmax, log1p, expm1, softplus, softmax-CE"),
    Pass("fold", "simplify", 1, fold, "evaluate ops whose inputs are constants"),
    Pass("simplify", "simplify", 2, simplify, "algebraic identities as a rule table"),
    Pass("cse", "simplify", 1, cse, "canonical operand order + hash-consing"),
    Pass("specialize", "specialize", 1, specialize, "shape-donor ops become static ones"),
    Pass("fold-again", "simplify", 2, fold, "fold what specialization made constant"),
    Pass("simplify-again", "simplify", 2, simplify, "identities exposed by specialization"),
    Pass("merge-loops", "simplify", 1, merge_loops, "a scan and the scan that stashes its residuals: one loop"),
    Pass("dce", "simplify", 1, dce, "drop unreachable nodes"),
    Pass("fuse", "fuse", 2, fuse, "elementwise groups, reductions, matmul epilogues"),
)


def optimize(graph: Graph, level: str | int = "O2", snapshots: bool = False,
             disable: Sequence[str] = (), fast_math: bool = False) -> tuple[Graph, PassReport]:
    """Run the default pipeline on `graph`; returns the optimized graph and the report.

    `fast_math=True` adds the folds that assume every value is finite (`graphc.passes.fastmath`)."""
    return run_passes(graph, PIPELINE, level, snapshots, disable, fast_math)


__all__ = ["PIPELINE", "LEVELS", "Pass", "PassRecord", "PassReport", "RewriteError", "RewriteStats", "Rule",
           "RuleSet", "optimize", "run_passes", "rewrite", "canonicalize", "stabilize", "simplify", "fold",
           "cse", "specialize", "merge_loops", "dce", "fuse", "CANONICAL", "STABILIZE", "SIMPLIFY", "FOLD",
           "SPECIALIZE", "FINITE"]
