"""Expression swell: each method's derivative size and cost as a family grows deeper."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from .comparison import METHODS, Comparison, compare_problem
from .limits import Limits
from .problem import Problem
from .result import MethodResult
from .sizes import graph_ops


@dataclass
class Study:
    """One comparison per depth; a method that hit a limit is not run deeper."""

    family: str
    depths: list[int] = field(default_factory=list)
    forward_ops: list[int] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)

    def series(self, method: str, size: str) -> list[tuple[int, int]]:
        """(depth, size) for each depth where `method` finished (`size` is tree, shared or new)."""
        out = []
        for d, c in zip(self.depths, self.comparisons):
            r = next((r for r in c.results if r.method == method), None)
            if r is not None and getattr(r, size) is not None:
                out.append((d, getattr(r, size)))
        return out

    def exceeded(self) -> dict[str, int]:
        """The first depth at which each method hit a limit."""
        first: dict[str, int] = {}
        for d, c in zip(self.depths, self.comparisons):
            for r in c.results:
                if r.status.startswith("exceeded") and r.method not in first:
                    first[r.method] = d
        return first


def run_study(family: str, build: Callable[[int], Problem], depths: Sequence[int],
              methods: Sequence[str] = METHODS, limits: Limits = Limits(),
              progress: Callable[[str], None] | None = None) -> Study:
    """Compare the methods at each depth; after a method exceeds a limit, report it skipped."""
    study = Study(family)
    stopped: dict[str, int] = {}
    for depth in depths:
        problem = build(depth)
        live = [m for m in methods if m not in stopped]
        c = compare_problem(problem, live, limits)
        c.results += [MethodResult(m, status=f"exceeded at depth {d}") for m, d in stopped.items()]
        for r in c.results:
            if r.status.startswith("exceeded") and r.method not in stopped:
                stopped[r.method] = depth
        study.depths.append(depth)
        study.forward_ops.append(graph_ops([problem.cost]))
        study.comparisons.append(c)
        if progress is not None:
            progress(f"depth {depth}: " + ", ".join(f"{r.method} {r.status}" for r in c.results))
    return study
