"""The command line of the fuzzer: options, progress lines, reproducers, the summary, the exit status."""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from typing import Sequence

import graphc as gc

from .families import FAMILIES
from .program import LAYERS
from .session import Checked, Report, session, targets_for

BACKENDS = ("numpy", "numpy-kernels", "llvm", "llvm-checked", "cuda-emulate")
LEVELS = ("O0", "O1", "O2")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m graphc.testing.fuzz", description=__doc__)
    p.add_argument("--seed", type=int, default=0, help="the session's seed (default 0)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--programs", type=int, help="how many programs to run (default 100)")
    budget.add_argument("--minutes", type=float, help="run programs until this much time has passed")
    p.add_argument("--backends", default=",".join(BACKENDS),
                   help="comma-separated backends (default: those of %(default)s that are available)")
    p.add_argument("--levels", default=",".join(LEVELS), help="comma-separated O-levels (default %(default)s)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--exclude", default="", help="comma-separated op families or layers not to generate: "
                   + ", ".join([name for name, _, _ in FAMILIES] + list(LAYERS[1:])))
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    status = gc.backends.status()
    backends = [b for b in args.backends.split(",") if b]
    unknown = [b for b in backends if b not in status]
    if unknown:
        parser().error(f"unknown backend(s) {', '.join(unknown)}; known: {', '.join(status)}")
    for b in [b for b in backends if status[b] is not None]:
        print(f"skipping backend {b}: {status[b]}")
    backends = [b for b in backends if status[b] is None]
    levels = [lv for lv in args.levels.split(",") if lv]
    programs = args.programs if args.programs is not None or args.minutes is not None else 100
    own_cache = None if os.environ.get("GRAPHC_CACHE_DIR") else tempfile.mkdtemp(prefix="graphc-fuzz-")
    if own_cache:
        os.environ["GRAPHC_CACHE_DIR"] = own_cache   # compiled steps of random programs never hit again
    try:
        report = session(args.seed, targets_for(backends, levels), programs=programs, minutes=args.minutes,
                         exclude=frozenset(x for x in args.exclude.split(",") if x), jobs=args.jobs,
                         progress=None if args.quiet else _progress)
    finally:
        if own_cache:
            shutil.rmtree(own_cache, ignore_errors=True)
    for finding, text in report.reproducers:
        print(f"\n==== reproducer: {finding.backend} at {finding.level} ({finding.kind}) ====\n{text}")
    print(report.summary())
    return 1 if report.mismatches else 0


def _progress(report: Report, checked: Checked) -> None:
    for finding in checked.outcome.findings:
        print(f"program {checked.index} (seed {checked.seed}): {finding.backend} at {finding.level}: "
              f"{finding.kind}: {finding.detail[:200]}", flush=True)
    if report.programs % 50 == 0:
        print(report.summary(), flush=True)
