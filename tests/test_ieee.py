"""IEEE semantics by default: no rewrite changes a value for any input, infinities and NaN included.

The reference is the graph as declared, evaluated op by op by NumPy (`O0` on the numpy backend): what
NumPy, PyTorch and JAX compute. Every rule of every rule table has an example here; a new rule without
one fails `test_every_rule_has_an_example`. Folds that hold only for finite values run with
`fast_math=True` alone (docs/passes.md, "IEEE semantics and fast_math").
"""
from __future__ import annotations

import warnings
from collections import Counter
from typing import Callable

import numpy as np
import pytest

import graphc as gc
from graphc.ops.reduce import Count
from graphc.ops.shape import BroadcastLike
from graphc.passes import CANONICAL, FINITE, FOLD, SIMPLIFY, SPECIALIZE, STABILIZE

SPECIALS = np.array([1.5, -2.5, 0.0, -0.0, np.inf, -np.inf, np.nan])
#: every pair of special values: x[i], y[i] runs over SPECIALS x SPECIALS
X_VALUES = np.repeat(SPECIALS, len(SPECIALS)).reshape(7, 7)
Y_VALUES = np.tile(SPECIALS, len(SPECIALS)).reshape(7, 7)


def _adjacent_slices(x, y):
    return gc.grad(gc.sum(x[:, :3] * y[:, :3]) + gc.sum(x[:, 3:] * y[:, 3:]), x)


#: rule name -> outputs of (x, y), both (7, 7), whose graph the rule rewrites at O2
EXAMPLES: dict[str, Callable] = {
    # canonicalize
    "x-(-y)": lambda x, y: x - gc.negative(y),
    "x+(-y)": lambda x, y: [x + gc.negative(y), gc.negative(x) + y],
    "x*x": lambda x, y: x * x,
    # stabilize
    "log(softmax)": lambda x, y: gc.log(gc.softmax(x, axis=1)),
    "log(sigmoid)": lambda x, y: gc.log(gc.sigmoid(x)),
    "log(1+x)": lambda x, y: gc.log(1.0 + x),
    "exp(x)-1": lambda x, y: gc.exp(x) - 1.0,
    "1-sigmoid(x)": lambda x, y: 1.0 - gc.sigmoid(x),
    "exp(log_softmax)": lambda x, y: gc.exp(gc.log_softmax(x, axis=1)),
    "softmax cross-entropy": lambda x, y: gc.sum(y * gc.log_softmax(x, axis=1), axis=1),
    "cancel s/s": lambda x, y: (y / gc.exp(x)) * gc.exp(x),
    "s*(y/s - z)": lambda x, y: gc.sigmoid(x) * (y / gc.sigmoid(x) - x),
    # fold
    "fold": lambda x, y: x + gc.log(gc.constant(np.array([-1.0, 0.0, np.inf]))).sum() * gc.exp(gc.constant(np.inf)),
    # simplify
    "x+0": lambda x, y: [x + 0.0, 0.0 + x],
    "x-0": lambda x, y: [x - 0.0, 0.0 - x],
    "adjacent slices": _adjacent_slices,
    "concatenate(concatenate)": lambda x, y: gc.concatenate([gc.concatenate([x, y], 0), x], 0) * 2.0,
    "x*1,x*0": lambda x, y: [x * 1.0, x * 0.0, 0.0 * y, x * -1.0, gc.constant(np.array([2.0])) * 0.0 + x],
    "c*(c*x)": lambda x, y: [2.0 * (3.0 * x), 1e300 * (1e300 * y), 1e-300 * (1e-300 * x), np.inf * (0.5 * y)],
    "x/1": lambda x, y: x / 1.0,
    "-(-x)": lambda x, y: gc.negative(gc.negative(x)),
    "log(exp x)": lambda x, y: gc.log(gc.exp(x)),
    "transpose(transpose)": lambda x, y: gc.transpose(gc.transpose(x)) * y,
    "(a@b).T": lambda x, y: gc.transpose(x @ y),
    "reshape chain": lambda x, y: gc.reshape(gc.reshape(x, (-1,)), (7, 7)) * y,
    "squeeze/expand_dims pair": lambda x, y: gc.squeeze(gc.expand_dims(x, 0), 0) * y,
    "sum(broadcast)": lambda x, y: [gc.sum(gc.broadcast_to(gc.expand_dims(x, 0), (3, 7, 7)), axis=0),
                                    gc.sum(gc.broadcast_to(gc.expand_dims(x, 0), (0, 7, 7)), axis=0)],
    "sum(sum)": lambda x, y: gc.sum(gc.sum(x * y, axis=1), axis=0),
    "broadcast of a scalar": lambda x, y: x * gc.broadcast_to(gc.constant(np.full((7,), 2.0)), (7, 7)),
    # specialize
    "broadcast_like->broadcast_to": lambda x, y: gc.Tensor.make(BroadcastLike(), [gc.sum(y, 1, keepdims=True), x]) * x,
    "count->constant": lambda x, y: x / gc.Tensor.make(Count((0,), "float64"), [y]),
    # fast math only
    "x*0 (finite)": lambda x, y: [x * 0.0, 0.0 * gc.tanh(y)],
    "x-x (finite)": lambda x, y: [x - x, gc.exp(y) - gc.exp(y)],
    "exp(log x)": lambda x, y: gc.exp(gc.log(x)) + y,
}

#: where a stabilizing rule deliberately returns the limit of the exact value rather than the
#: NaN of evaluating the formula: x = +-inf makes s = exp(x) inf or 0, where (y / s) * s is nan
LIMITS = {"cancel s/s": lambda x, y: np.isinf(x) & ~np.isnan(y)}

RULE_TABLES = (CANONICAL, STABILIZE, FOLD, SIMPLIFY, SPECIALIZE, FINITE)


def _run(name: str, backend: str, optimize: str = "O2", fast_math: bool = False) -> tuple[list, Counter]:
    x, y = gc.placeholder((7, 7), "float64", "x"), gc.placeholder((7, 7), "float64", "y")
    outs = EXAMPLES[name](x, y)
    outs = outs if isinstance(outs, list) else [outs]
    f = gc.function([x, y], outs, backend=backend, optimize=optimize, fast_math=fast_math)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        values = f(X_VALUES, Y_VALUES)
    fired = Counter()
    for record in f.passes_report().records:
        fired.update(record.rewrites)
    return values, fired


def _same(got: np.ndarray, want: np.ndarray, exempt: np.ndarray | None = None) -> None:
    """Equal values, NaN where NaN (rounding aside; a zero's sign is not compared)."""
    got, want = np.broadcast_to(got, np.shape(want)), np.asarray(want)
    if exempt is not None and want.shape == exempt.shape:
        got, want = got[~exempt], want[~exempt]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_every_rule_has_an_example():
    rules = {r.name for table in RULE_TABLES for r in table.rules}
    assert rules - set(EXAMPLES) == set(), "give each new rule an example in EXAMPLES"
    assert set(EXAMPLES) - rules == set()


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
@pytest.mark.parametrize("name", sorted(set(EXAMPLES) - {r.name for r in FINITE.rules}))
def test_rule_keeps_ieee_values(name, backend):
    """Each rule fires on its example, and the result is NumPy's for every pair of special values."""
    want, _ = _run(name, "numpy", "O0")
    got, fired = _run(name, backend)
    assert fired[name] > 0, f"the example of {name!r} no longer exercises it: {dict(fired)}"
    exempt = LIMITS[name](X_VALUES, Y_VALUES) if name in LIMITS else None
    for g, w in zip(got, want):
        _same(g, w, exempt)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
@pytest.mark.parametrize("name", sorted(r.name for r in FINITE.rules))
def test_finite_math_folds_only_with_fast_math(name, backend):
    want, _ = _run(name, "numpy", "O0")
    got, fired = _run(name, backend)
    assert fired[name] == 0
    for g, w in zip(got, want):
        _same(g, w)
    fast, fired = _run(name, backend, fast_math=True)
    assert fired[name] > 0
    finite = (X_VALUES > 0) & np.isfinite(X_VALUES) & np.isfinite(Y_VALUES)  # where the folds hold
    for g, w in zip(fast, want):
        _same(np.broadcast_to(g, w.shape)[finite], w[finite])
    assert any(not np.array_equal(np.broadcast_to(g, w.shape), w, equal_nan=True) for g, w in zip(fast, want))


def test_stabilized_limits_are_the_limits():
    """(y / exp(x)) * exp(x) = y: at x = +-inf too (the limit), while NaN stays NaN."""
    (got,), _ = _run("cancel s/s", "numpy")
    limit = LIMITS["cancel s/s"](X_VALUES, Y_VALUES)
    np.testing.assert_array_equal(got[limit], Y_VALUES[limit])
    assert np.all(np.isnan(got[np.isnan(X_VALUES) | np.isnan(Y_VALUES)]))


#: the findings: each gave 0 (or a finite value, or a leaked SymPy infinity) at O2 where IEEE gives NaN
#: or inf. Rewrite rules (x * 0, x - x) and SymPy's own simplification of fused kernel bodies alike.
FINDINGS = {
    "0 * x": lambda x: 0.0 * x,
    "x - x": lambda x: x - x,
    "x / 0 - x / 0": lambda x: x / 0.0 - x / 0.0,
    "exp(x) / 0": lambda x: gc.exp(x) / 0.0,
    "tanh(x / 0)": lambda x: gc.tanh(x / 0.0),
    "tanh(x) * 0": lambda x: gc.tanh(x) * 0.0,
    "(x + 1) - x": lambda x: (x + 1.0) - x,
    "x * inf - x * inf": lambda x: x * np.inf - x * np.inf,
    "sqrt(x) ** 2": lambda x: gc.square(gc.sqrt(x)),
    "exp(log(x))": lambda x: gc.exp(gc.log(x)),
    "x / x": lambda x: x / x,
    "(x > 0) or (x <= 0)": lambda x: gc.cast(gc.logical_or(x > 0.0, x <= 0.0), "float64"),
    "x <= x, fused": lambda x: gc.cast(gc.tanh(x) <= gc.tanh(x), "float64"),
    "tanh(x) * inf + x": lambda x: gc.tanh(x) * np.inf + x,
    "tanh(x) - inf": lambda x: gc.tanh(x) - np.inf,
    "tanh(x) * nan": lambda x: gc.tanh(x) * np.nan,
}


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
@pytest.mark.parametrize("name", list(FINDINGS))
def test_optimized_kernels_compute_what_numpy_computes(name, backend):
    x = gc.placeholder((len(SPECIALS),), "float64", "x")
    with np.errstate(all="ignore"):
        want = gc.function([x], FINDINGS[name](x), optimize="O0")(SPECIALS)
        got = gc.function([x], FINDINGS[name](x), backend=backend)(SPECIALS)
    _same(got, want)


def test_non_finite_constants_compile_to_native_code():
    """inf, -inf and nan in a kernel body are LLVM constants (they were 'non-real constant oo', run by NumPy)."""
    from graphc.backends.llvm.lowering import lower_program
    x = gc.placeholder((3,), "float64", "x")
    for out in (gc.tanh(x) * np.inf + x, gc.tanh(x) - np.inf, gc.where(x > 0.0, x, np.nan) * gc.tanh(x)):
        program = gc.function([x], out, backend="llvm").kernel_program()
        assert [k.kind for k in program.kernels] == ["elementwise"]
        assert lower_program(program, 64).fallbacks == {}


def test_fast_math_is_its_own_compile(tmp_path, monkeypatch):
    """The step cache keys fast math too: an IEEE function never loads a fast-math compile, or back."""
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))
    values = np.array([np.inf, 1.0])
    for fast_math, want in ((True, [0.0, 0.0]), (False, [np.nan, 0.0]), (True, [0.0, 0.0])):
        x = gc.placeholder((2,), "float64", "x")
        f = gc.function([x], gc.tanh(x) - gc.tanh(x) + (x - x), backend="llvm", fast_math=fast_math)
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(f(values), want)
        assert f.passes_report().level == ("O2+fast_math" if fast_math else "O2")


def test_integers_fold_by_default():
    """Integers have no inf or NaN: x * 0 and x - x are 0 for them without fast math."""
    x = gc.placeholder((3,), "int64", "x")
    f = gc.function([x], [x * 0, x - x])
    assert [v.tolist() for v in f(np.array([1, -2, 3]))] == [[0, 0, 0], [0, 0, 0]]
    fired = Counter()
    for record in f.passes_report().records:
        fired.update(record.rewrites)
    assert fired["x*0 (finite)"] == 1 and fired["x-x (finite)"] == 1
