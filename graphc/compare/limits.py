"""Size and time limits, so a method that blows up reports where instead of hanging.

Limits are checked between steps (per graph node, per `sympy.diff` call), never
with signals or threads: one step may overrun by its own cost, which the size
check before it keeps bounded.
"""
from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """How far each method may go before it reports `exceeded`."""

    max_tree: int = 1_000_000      # operations in one expression tree (no sharing)
    max_seconds: float = 20.0      # per method, from its start
    max_elements: int = 4096       # input elements for per-element methods (forward mode, FD, symbolic)
    simplify_max_tree: int = 2_000  # `sympy.simplify` only below this tree size


class Exceeded(Exception):
    """A limit was hit; `at` says where (a node, a size or a time)."""

    def __init__(self, at: str):
        super().__init__(at)
        self.at = at


class Budget:
    """The clock and size checks of one method run."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def check_time(self, where: str) -> None:
        if self.elapsed() > self.limits.max_seconds:
            raise Exceeded(f"{where}: time > {self.limits.max_seconds:g} s")

    def check_tree(self, size: int, where: str) -> None:
        if size > self.limits.max_tree:
            raise Exceeded(f"{where}: tree size {size} > {self.limits.max_tree}")
        self.check_time(where)

    def check_elements(self, n: int, where: str) -> None:
        if n > self.limits.max_elements:
            raise Exceeded(f"{where}: {n} input elements > {self.limits.max_elements}")
