"""An MLP where symbolic differentiation blows up and reverse mode does not.

Width 3: every unit depends on every unit of the layer below, so written out as a
formula the loss is a tree that triples per layer and its derivatives more. Reverse
mode shares each layer's values and stays within a small constant factor of the
forward pass, in graph ops and in time. Writes the report (report.md and its plot) into
--out/diff_mlp_blowup/. --quick: depths 1 to 4 and smaller limits.

    python examples/diff_mlp_blowup.py [--out DIR] [--quick]
"""
from __future__ import annotations

from _common import parse_args, report
from graphc.compare import Limits, families, graph_ops
from graphc.compare.compile import compile_plain
from graphc.compare.study import run_study
from graphc.compare.tables import study_table
from graphc.compare.timing import best_time


def build(depth):
    return families.mlp(depth, width=3)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(__doc__, argv)
    limits = Limits(max_tree=20_000, max_seconds=1.0) if args.quick else Limits(max_tree=200_000, max_seconds=8.0)
    depths = range(1, 5 if args.quick else 9)
    study = run_study("MLP, width 3", build, depths, ["symbolic", "reverse"], limits, progress=print)
    print("\n" + study_table(study))
    print(f"\nsymbolic differentiation hit its limits at depth {study.exceeded().get('symbolic')}")
    print("\nreverse mode against the forward pass:")
    ratios = []
    for depth, c in zip(study.depths, study.comparisons):
        p, rev = c.problem, c["reverse"]
        forward = compile_plain(p.placeholders, [p.cost])
        t_forward = best_time(lambda: forward(*p.values))  # noqa: B023 - called in this iteration
        ops = graph_ops([p.cost])
        print(f"  depth {depth}: ops {rev.shared:3d} / {ops:3d} = {rev.shared / ops:.2f}x,"
              f"  time {rev.eval_s * 1e3:.3f} / {t_forward * 1e3:.3f} ms = {rev.eval_s / t_forward:.2f}x,"
              f"  rel. error {rev.rel_err:.1e}")
        # Per layer: 3 forward ops, 10 backward (5 of them only move data: expand_dims, transpose,
        # squeeze), so the ratio tends to 13/3 with depth: a constant, unlike the symbolic tree.
        assert rev.shared <= 13 / 3 * ops + 1
        ratios.append(rev.shared / ops)
    report(args.out, "diff_mlp_blowup", "Symbolic blow-up against reverse mode", studies=[study])
    symbolic = [c["symbolic"].tree if c["symbolic"].ok else None for c in study.comparisons]
    return {"depths": list(study.depths), "reverse_over_forward": ratios, "symbolic_tree": symbolic}


if __name__ == "__main__":
    main()
