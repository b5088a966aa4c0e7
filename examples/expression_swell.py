"""Expression swell: derivative size against depth, per method, on three families.

Symbolic differentiation writes the derivative as a tree; each level of
x -> sin(x) * x or of the logistic map uses its input twice, so the tree doubles
(or more) per level, while CSE, reverse mode and forward mode keep it linear.

    python examples/expression_swell.py [REPORT_DIR]
"""
import sys

from graphc.compare import Limits, families
from graphc.compare.report import write_report
from graphc.compare.study import run_study
from graphc.compare.tables import study_table

LIMITS = Limits(max_tree=400_000, max_seconds=5.0)
METHODS = ["symbolic", "reverse", "forward"]

studies = [
    run_study("iterated sin(x)*x", families.iterated, range(1, 15), METHODS, LIMITS),
    run_study("logistic map", families.logistic, range(1, 15), METHODS, LIMITS),
    run_study("MLP, width 2", lambda d: families.mlp(d, width=2), range(1, 7), METHODS, LIMITS),
]
for s in studies:
    print(f"\n{s.family}: graph ops (forward, reverse mode); symbolic tree / after CSE")
    for d, ops, c in zip(s.depths, s.forward_ops, s.comparisons):
        sym, rev = c["symbolic"], c["reverse"]
        symbolic = f"{sym.tree:>8} / {sym.shared:>4}" if sym.ok else sym.status
        print(f"  depth {d:2d}: forward {ops:3d}  reverse {rev.shared:4d}  symbolic {symbolic}")
if len(sys.argv) > 1:
    print("report:", write_report(sys.argv[1], "Expression swell", studies=studies))
else:
    print("\n" + study_table(studies[0]))
