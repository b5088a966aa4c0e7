"""Expression swell: derivative size against depth, per method, on three families.

Symbolic differentiation writes the derivative as a tree; each level of
x -> sin(x) * x or of the logistic map uses its input twice, so the tree doubles
(or more) per level, while CSE, reverse mode and forward mode keep it linear. Writes the
report (report.md and its plots) into --out/expression_swell/. --quick: depths up to 6, 6
and 3, and smaller limits.

    python examples/expression_swell.py [--out DIR] [--quick]
"""
from __future__ import annotations

from _common import parse_args, report
from graphc.compare import Limits, families
from graphc.compare.study import run_study
from graphc.compare.tables import study_table

METHODS = ["symbolic", "reverse", "forward"]


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(__doc__, argv)
    limits = Limits(max_tree=20_000, max_seconds=1.0) if args.quick else Limits(max_tree=400_000, max_seconds=5.0)
    deep, mlp = (7, 4) if args.quick else (15, 7)
    studies = [
        run_study("iterated sin(x)*x", families.iterated, range(1, deep), METHODS, limits),
        run_study("logistic map", families.logistic, range(1, deep), METHODS, limits),
        run_study("MLP, width 2", lambda d: families.mlp(d, width=2), range(1, mlp), METHODS, limits),
    ]
    for s in studies:
        print(f"\n{s.family}: graph ops (forward, reverse mode); symbolic tree / after CSE")
        for d, ops, c in zip(s.depths, s.forward_ops, s.comparisons):
            sym, rev = c["symbolic"], c["reverse"]
            symbolic = f"{sym.tree:>8} / {sym.shared:>4}" if sym.ok else sym.status
            print(f"  depth {d:2d}: forward {ops:3d}  reverse {rev.shared:4d}  symbolic {symbolic}")
    print("\n" + study_table(studies[0]))
    report(args.out, "expression_swell", "Expression swell", studies=studies)
    return {s.family: {"depths": list(s.depths), "reverse": [c["reverse"].shared for c in s.comparisons],
                       "symbolic_tree": [c["symbolic"].tree if c["symbolic"].ok else None for c in s.comparisons]}
            for s in studies}


if __name__ == "__main__":
    main()
