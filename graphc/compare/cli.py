"""`graphc compare-diff`: the differentiation methods side by side, in the terminal and as a report."""
from __future__ import annotations

import argparse

from ..cliargs import output_folder, positive_float, positive_int, subset
from .comparison import METHODS, compare_problem, fd_sweep
from .families import FAMILIES
from .limits import Limits
from .report import write_report
from .study import run_study
from .tables import study_table, sweep_table, table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("compare-diff", help="compare symbolic, automatic and numerical differentiation")
    p.add_argument("--family", choices=sorted(FAMILIES), default="simplest",
                   help="simplest: the lectures' two-neuron MLP; mlp, iterated, logistic: a depth sweep")
    p.add_argument("--max-depth", type=positive_int, default=8, help="deepest member of the family")
    p.add_argument("--width", type=positive_int, default=1, help="MLP width (mlp family only)")
    p.add_argument("--methods", type=subset(METHODS), default=METHODS,
                   help="comma-separated, from " + ", ".join(METHODS))
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    p.add_argument("--max-tree", type=positive_int, default=Limits.max_tree, help="largest symbolic tree allowed")
    p.add_argument("--max-seconds", type=positive_float, default=Limits.max_seconds, help="time allowed per method")
    p.add_argument("--sweep-depth", type=positive_int, default=2, help="depth for the finite-difference step sweep")
    p.add_argument("--report", metavar="DIR", type=output_folder, help="write report.md and PNG plots into DIR")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    limits = Limits(max_tree=args.max_tree, max_seconds=args.max_seconds)
    methods = list(args.methods)
    build = FAMILIES[args.family]
    options = {"width": args.width} if args.family == "mlp" else {}
    comparisons, studies = [], []
    if args.family == "simplest":
        comparisons.append(compare_problem(build(dtype=args.dtype), methods, limits))
        print(table(comparisons[0]))
    else:
        study = run_study(args.family, lambda d: build(d, args.dtype, **options),
                          range(1, args.max_depth + 1), methods, limits, progress=print)
        studies.append(study)
        print(study_table(study))
    sweeps = [fd_sweep(build(args.sweep_depth, dtype, **options)) for dtype in ("float64", "float32")]
    print("\nfinite differences, relative error against step size\n" + sweep_table(sweeps))
    if args.report:
        path = write_report(args.report, f"Differentiation methods compared: {args.family}",
                            comparisons, studies, sweeps)
        print(f"\nreport written to {path}")
    return 0

