"""Wall-clock timings: one run, or the best of a few for fast calls."""
from __future__ import annotations

import time
from typing import Any, Callable


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """`fn()` and the seconds it took."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def best_time(fn: Callable[[], Any], runs: int = 5, max_seconds: float = 0.5) -> float:
    """The fastest of up to `runs` calls (fewer once `max_seconds` are spent): noise only adds time."""
    best = float("inf")
    spent = 0.0
    for _ in range(runs):
        _, t = timed(fn)
        best = min(best, t)
        spent += t
        if spent > max_seconds:
            break
    return best
