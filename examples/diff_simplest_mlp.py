"""The lecture's simplest MLP, differentiated five ways.

    n = sigmoid(w1 x + b1),  m = sigmoid(w2 n + b2),  L = (y - m)^2

Prints the symbolic derivatives as math (text and LaTeX), checks them against the
chain-rule products (with the lecture's slips corrected: dL/dm = -2 (y - m), and
dm/dz2 = m (1 - m) = sigma(z2)(1 - sigma(z2)), not sigma(m)(1 - sigma(m))), compares
all methods, and sweeps the finite-difference step in float64 and float32. Writes the
report (report.md and its plots) into --out/diff_simplest_mlp/. It takes ~2 s, so --quick
changes nothing.

    python examples/diff_simplest_mlp.py [--out DIR] [--quick]
"""
from __future__ import annotations

import sympy as sp

from _common import parse_args, report
from graphc.compare import compare_problem, families, fd_sweep
from graphc.compare.tables import sweep_table, table


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(__doc__, argv)
    problem = families.simplest()  # the family's depth-2, width-1 member: exactly the lecture's network
    named = {str(s[()]): s[()] for s in problem.symbols}
    x, y, w1, b1, w2, b2 = (named[k] for k in ["x", "y", "w1", "b1", "w2", "b2"])

    comparison = compare_problem(problem)
    print(table(comparison))

    # The chain rule, written with the intermediate values as the lecture does.
    n = 1 / (1 + sp.exp(-(w1 * x + b1)))
    m = 1 / (1 + sp.exp(-(w2 * n + b2)))
    dL_dm = -2 * (y - m)          # the lecture's 2(y - m) misses the sign
    dm_dz2 = m * (1 - m)          # sigma'(z2) = sigma(z2)(1 - sigma(z2)) = m(1 - m)
    dn_dz1 = n * (1 - n)
    chain = {w1: x * dn_dz1 * w2 * dm_dz2 * dL_dm, b1: dn_dz1 * w2 * dm_dz2 * dL_dm,
             w2: n * dm_dz2 * dL_dm, b2: dm_dz2 * dL_dm}

    print()
    matches = 0
    for symbol, expr in zip(problem.wrt_symbols(), comparison.derivative.exprs):
        same = sp.simplify(expr - chain[symbol]) == 0
        print(f"dL/d{symbol} = {expr}")
        print(f"  LaTeX: \\frac{{\\partial L}}{{\\partial {symbol}}} = {sp.latex(expr)}")
        print(f"  equals the chain-rule product: {same}")
        assert same
        matches += same

    sweeps = [fd_sweep(families.simplest(dtype=dtype)) for dtype in ("float64", "float32")]
    print("\nfinite differences, relative error against step size\n" + sweep_table(sweeps))
    report(args.out, "diff_simplest_mlp", "The simplest MLP, differentiated five ways", comparisons=[comparison],
           sweeps=sweeps)
    return {"chain_rule_matches": matches, "reverse_rel_err": comparison["reverse"].rel_err}


if __name__ == "__main__":
    main()
