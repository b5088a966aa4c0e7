"""A fuzzing session: programs numbered from a seed, run in worker processes, findings minimized.

Program i of seed S is `generate(S * 10**7 + i)`, whatever the number of jobs, so a
session is deterministic given its seed (and, with a time budget, its length).
"""
from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

from .generate import generate
from .minimize import minimize
from .run import Finding, Outcome, run
from .script import script

Target = tuple[str, str]


@dataclass
class Checked:
    """One program's outcome, with a minimized reproducer script per backend it disagreed on."""

    index: int
    seed: int
    outcome: Outcome
    reproducers: list[tuple[Finding, str]] = field(default_factory=list)


@dataclass
class Report:
    programs: int = 0
    invalid: int = 0
    ran: Counter = field(default_factory=Counter)          # backend -> programs run on it
    mismatched: Counter = field(default_factory=Counter)   # backend -> programs with a finding on it
    reproducers: list[tuple[Finding, str]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, checked: Checked) -> None:
        self.programs += 1
        self.invalid += checked.outcome.invalid is not None
        self.ran.update({b for b, _ in checked.outcome.ran})
        self.mismatched.update({f.backend for f in checked.outcome.findings})
        self.reproducers += checked.reproducers

    @property
    def mismatches(self) -> int:
        return sum(self.mismatched.values())

    def summary(self) -> str:
        per = ", ".join(f"{b} {n}" for b, n in sorted(self.ran.items()))
        rate = self.programs / self.seconds if self.seconds else 0.0
        return (f"{self.programs} programs in {self.seconds:.0f} s ({rate:.1f}/s; {self.invalid} invalid); "
                f"run per backend: {per or 'none'}; mismatches: {self.mismatches}"
                + (f" ({', '.join(f'{b} {n}' for b, n in sorted(self.mismatched.items()))})"
                   if self.mismatches else ""))


def program_seed(seed: int, index: int) -> int:
    return seed * 10**7 + index


def check(seed: int, index: int, targets: Sequence[Target], exclude: frozenset[str],
          minimize_s: float = 60.0) -> Checked:
    """Generate, run and (on a finding) minimize program `index` of session `seed`."""
    program = generate(program_seed(seed, index), exclude)
    outcome = run(program, targets)
    checked = Checked(index, program.seed, outcome)
    seen = set()
    for finding in outcome.findings:
        if finding.backend not in seen:
            seen.add(finding.backend)
            small, found = minimize(program, finding, budget_s=minimize_s)
            checked.reproducers.append((found, script(small, found)))
    return checked


def session(seed: int, targets: Sequence[Target], *, programs: int | None = None, minutes: float | None = None,
            exclude: frozenset[str] = frozenset(), jobs: int = 1,
            progress: Callable[[Report, Checked], None] | None = None) -> Report:
    """Run programs 0, 1, ... until `programs` are done or `minutes` have passed."""
    report = Report()
    start = time.monotonic()
    deadline = start + 60 * minutes if minutes is not None else None

    def more(i: int) -> bool:
        return (programs is None or i < programs) and (deadline is None or time.monotonic() < deadline)

    for checked in _checked(seed, targets, exclude, jobs, more):
        report.add(checked)
        report.seconds = time.monotonic() - start
        if progress is not None:
            progress(report, checked)
    report.seconds = time.monotonic() - start
    return report


def _checked(seed: int, targets: Sequence[Target], exclude: frozenset[str], jobs: int,
             more: Callable[[int], bool]) -> Iterator[Checked]:
    """Checked programs in order; with jobs > 1 from worker processes, a few batches ahead."""
    if jobs <= 1:
        i = 0
        while more(i):
            yield check(seed, i, targets, exclude)
            i += 1
        return
    context = multiprocessing.get_context("spawn")   # fresh processes: no JIT state copied by fork
    with futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        pending: list[futures.Future] = []
        i = 0
        while True:
            while more(i) and len(pending) < 4 * jobs:
                pending.append(pool.submit(check, seed, i, targets, exclude))
                i += 1
            if not pending:
                return
            yield pending.pop(0).result()


def targets_for(backends: Iterable[str], levels: Iterable[str]) -> list[Target]:
    return [(b, lv) for b in backends for lv in levels]
