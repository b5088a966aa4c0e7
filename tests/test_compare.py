"""gc.compare: the differentiation methods agree, sizes are exact, swell and the cheap gradient show."""
import numpy as np
import pytest
import sympy as sp

import graphc as gc
from graphc.compare import (Limits, TreeSizer, compare_problem, derivatives, families, fd_sweep,
                            graph_ops, new_graph_ops, optimal_step, scalarize, symbols_like)
from graphc.compare.atomic import write_atomic

x_ = sp.Symbol("x", real=True)


def test_tree_size_is_exact_on_hand_checked_cases():
    size = TreeSizer()
    assert size(x_ * sp.sin(x_)) == 2                         # *, sin
    assert size(sp.diff(x_ * sp.sin(x_), x_)) == 4            # x*cos(x) + sin(x): +, *, cos, sin
    assert size(sp.diff(x_ * sp.sin(x_), x_)) == sp.count_ops(sp.diff(x_ * sp.sin(x_), x_))
    assert size(x_ + x_ ** 2 + sp.exp(x_)) == 4               # 2 additions, power, exp


def test_tree_size_counts_without_sharing():
    f = x_
    for _ in range(30):
        f = sp.sin(f) * f
    assert TreeSizer()(f) == 2 ** 31 - 2  # each level doubles the tree: cheap to count all the same


def test_graph_op_counts_on_a_small_graph():
    x = gc.placeholder((), "float64", name="x")
    f = x * gc.sin(x)
    g = gc.grad(f, x)  # (1 * sin(x)) + ((1 * x) * cos(x)): the seed 1 is not simplified away
    assert graph_ops([f]) == 2
    assert new_graph_ops([g], [f]) == 5  # mul, mul, mul, cos, add
    assert graph_ops([g]) == 6           # ... and the forward sin, reused


def test_scalarize_matches_the_graph():
    x = gc.placeholder((2, 3), "float64", name="x")
    w = gc.parameter(np.arange(6.0).reshape(3, 2) / 10, name="W")
    h = gc.tanh(x @ w + 1.0)
    cost = gc.mean(gc.max(h, axis=1)) + gc.sum(gc.softmax(h)[0, 1:]) + gc.sum(h.T.reshape((4,)))
    sx = symbols_like(x, "x")
    (expr,) = scalarize([cost], {x: sx})
    value = np.random.default_rng(0).standard_normal((2, 3))
    got = float(expr[()].evalf(subs=dict(zip(sx.flat, value.flat))))
    assert got == pytest.approx(float(gc.function([x], cost)(value)), rel=1e-12)


def test_methods_agree_on_the_simplest_mlp():
    c = compare_problem(families.simplest())
    assert c.reference_label.startswith("mpmath")
    for method, tol in [("symbolic", 1e-14), ("reverse", 1e-14), ("forward", 1e-14),
                        ("fd-forward", 1e-6), ("fd-central", 1e-9)]:
        r = c[method]
        assert r.ok and r.rel_err < tol, (method, r)


def test_derivatives_takes_parameters_and_placeholders():
    x = gc.placeholder((), "float64", name="x")
    w = gc.parameter(np.float64(0.5), name="w")
    c = derivatives(gc.sin(w * x), [w, x], {x: 2.0}, methods=["reverse", "fd-central"])
    expected = [2.0 * np.cos(1.0), 0.5 * np.cos(1.0)]
    np.testing.assert_allclose(np.ravel(c.reference), expected, rtol=1e-15)
    assert c["fd-central"].rel_err < 1e-9


def test_symbolic_derivative_is_the_corrected_chain_rule():
    p = families.simplest()
    c = compare_problem(p, ["symbolic"])
    named = {str(s[()]): s[()] for s in p.symbols}
    x, y, w1, b1, w2, b2 = (named[k] for k in ["x", "y", "w1", "b1", "w2", "b2"])
    n = 1 / (1 + sp.exp(-(w1 * x + b1)))
    m = 1 / (1 + sp.exp(-(w2 * n + b2)))
    dL_dm, dm_dz2 = -2 * (y - m), m * (1 - m)
    assert sp.simplify(c.derivative.exprs[2] - n * dm_dz2 * dL_dm) == 0                 # dL/dw2
    assert sp.simplify(c.derivative.exprs[0] - x * n * (1 - n) * w2 * dm_dz2 * dL_dm) == 0  # dL/dw1


def test_symbolic_tree_swells_faster_than_linearly():
    trees = [compare_problem(families.iterated(d), ["symbolic"])["symbolic"].tree for d in range(2, 9)]
    ratios = [b / a for a, b in zip(trees, trees[1:])]
    assert all(r > 2 for r in ratios), trees  # exponential: the ratio does not fall towards 1


@pytest.mark.parametrize("width,depths", [(1, [2, 4, 8]), (3, [2, 4, 6])])
def test_reverse_mode_is_a_cheap_gradient(width, depths):
    for d in depths:
        p = families.mlp(d, width=width)
        c = compare_problem(p, ["reverse"])
        assert c["reverse"].shared <= 4 * graph_ops([p.cost]), (d, c["reverse"])


def test_a_method_that_blows_up_reports_where():
    c = compare_problem(families.mlp(4, width=3), ["symbolic", "reverse"], Limits(max_tree=5_000))
    assert c["symbolic"].status.startswith("exceeded at") and "tree size" in c["symbolic"].status
    assert c["reverse"].ok and c["reverse"].rel_err < 1e-13  # scored against the reverse graph in mpmath
    assert "reverse-mode graph" in c.reference_label


def test_fd_sweep_has_its_optimum_near_the_textbook_step():
    for dtype in ("float64", "float32"):
        sweep = fd_sweep(families.simplest(dtype=dtype))
        for scheme in ("forward", "central"):
            best, textbook = sweep.best_step(scheme), optimal_step(scheme, dtype)
            assert textbook / 30 < best < textbook * 30, (dtype, scheme, best)
            errors = sweep.errors[scheme]
            assert min(errors) < 0.1 * errors[0] and min(errors) < 0.1 * errors[-1]  # a valley


def test_report_and_cli(tmp_path, capsys):
    from graphc.cli import main
    assert main(["compare-diff", "--family", "iterated", "--max-depth", "3", "--report", str(tmp_path)]) == 0
    assert "symbolic" in capsys.readouterr().out
    assert {"report.md", "sizes.png", "fd_sweep.png"} <= {f.name for f in tmp_path.iterdir()}
    assert "![sizes](sizes.png)" in (tmp_path / "report.md").read_text()


def test_write_atomic_leaves_no_temporary_files(tmp_path):
    write_atomic(str(tmp_path / "a.md"), "x")
    assert [f.name for f in tmp_path.iterdir()] == ["a.md"]


def test_scalarize_names_an_op_it_has_no_rule_for():
    """A graphc error (still a NotImplementedError) naming the op and the fix, not a bare NotImplementedError."""
    x = gc.placeholder((3,), "float64", name="x")
    loop = gc.scan(lambda h, xt: h + xt, gc.constant(np.float64(0.0)), [x])
    with pytest.raises(gc.GraphcError, match=r"no scalar rule for the op scan \(float64\[3\]\)\n *fix: ") as info:
        scalarize([loop], {x: symbols_like(x, "x")})
    assert isinstance(info.value, NotImplementedError)
    with pytest.raises(gc.GraphcError, match="cast from float64 to int64"):
        scalarize([gc.cast(x, "int64")], {x: symbols_like(x, "x")})
