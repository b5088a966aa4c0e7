"""Passes with names, run as a visible ordered pipeline, each reporting what it did."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..ir import Graph
from .fastmath import assuming_finite
from .rewrite import RewriteStats

LEVELS = {"O0": 0, "O1": 1, "O2": 2}


@dataclass(frozen=True)
class Pass:
    """A pure function Graph -> Graph, run at optimization levels >= `level`."""

    name: str
    phase: str
    level: int
    run: Callable[[Graph, RewriteStats], Graph]
    doc: str = ""


@dataclass
class PassRecord:
    name: str
    phase: str
    nodes_before: int
    nodes_after: int
    rewrites: Counter
    seconds: float
    snapshot: Graph | None = None


@dataclass
class PassReport:
    level: str
    records: list[PassRecord] = field(default_factory=list)

    def __str__(self) -> str:
        rows = [f"{'pass':<14} {'phase':<12} {'nodes':>13} {'ms':>8}  rewrites"]
        for r in self.records:
            fired = ", ".join(f"{k} x{v}" for k, v in r.rewrites.most_common()) or "-"
            rows.append(f"{r.name:<14} {r.phase:<12} {r.nodes_before:>6} -> {r.nodes_after:<5}"
                        f"{r.seconds * 1e3:>8.2f}  {fired}")
        return "\n".join(rows)

    def snapshots(self) -> list[tuple[str, Graph]]:
        """(pass name, graph after it) for every pass that kept a snapshot."""
        return [(r.name, r.snapshot) for r in self.records if r.snapshot is not None]


def level_number(level: str | int) -> int:
    if isinstance(level, int) and level in LEVELS.values():
        return level
    if level not in LEVELS:
        raise ValueError(f"unknown optimization level {level!r}; use one of {', '.join(LEVELS)}")
    return LEVELS[level]


def run_passes(graph: Graph, passes: Sequence[Pass], level: str | int = "O2", snapshots: bool = False,
               disable: Sequence[str] = (), fast_math: bool = False) -> tuple[Graph, PassReport]:
    """Run the passes enabled at `level` (minus `disable`), in order; with `fast_math`, they may
    assume every value is finite (`graphc.passes.fastmath`)."""
    n = level_number(level)
    report = PassReport(pipeline_key(level if isinstance(level, str) else f"O{level}", fast_math))
    with assuming_finite(fast_math):
        for p in passes:
            if p.level > n or p.name in disable:
                continue
            stats = RewriteStats()
            start = time.perf_counter()
            before = len(graph)
            graph = p.run(graph, stats)
            report.records.append(PassRecord(p.name, p.phase, before, len(graph), stats.fired,
                                             time.perf_counter() - start, graph if snapshots else None))
    return graph, report


def pipeline_key(level: str | int, fast_math: bool) -> str | int:
    """What a cached compile depends on of the pipeline's settings: the level, and fast math if on."""
    return f"{level}+fast_math" if fast_math else level
