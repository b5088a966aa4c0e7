"""The semantics docs/api-guide.md promises ("Semantics you can rely on"), on every backend.

Each test states the rule with exact values (closed forms, NumPy, or torch where graphc follows it),
so a backend that deviates fails here rather than in a user's model.
"""
import numpy as np
import pytest

import graphc as gc
from conftest import BACKENDS

#: every backend: the fixture's builds, the llvm build users run, the NumPy kernel-program interpreter,
#: and the CUDA backend's kernels emulated on this CPU where they compile
EVERY = list(dict.fromkeys([*BACKENDS.values(), "llvm", "numpy-kernels"]
                           + (["cuda-emulate"] if gc.backends.status()["cuda-emulate"] is None else [])))
NAN = np.nan


@pytest.fixture(params=EVERY)
def every(request) -> str:
    return request.param


def run(backend: str, fn, *arrays):
    """`fn` over placeholders shaped like `arrays`, compiled for `backend`, called on them."""
    xs = [gc.placeholder(np.shape(a), np.asarray(a).dtype.name, name=f"a{i}") for i, a in enumerate(arrays)]
    return gc.function(xs, fn(*xs), backend=backend)(*arrays)


# -- (a) ties ---------------------------------------------------------------------------------------

def test_maximum_minimum_tie_gradient_goes_to_the_first_operand(every):
    """torch.maximum splits a tie 0.5/0.5; graphc gives it to the first operand, so that
    clip(x, lo, hi) passes the whole gradient at the bounds, as torch.clamp does."""
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([1.0, 0.0, 3.0, 5.0])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    ga, gb, la, lb = run(every, lambda x, y: [*gc.grad(gc.sum(gc.maximum(x, y) * w), [x, y]),
                                              *gc.grad(gc.sum(gc.minimum(x, y) * w), [x, y])], a, b)
    np.testing.assert_array_equal(ga, [1, 2, 3, 0])
    np.testing.assert_array_equal(gb, [0, 0, 0, 4])
    np.testing.assert_array_equal(la, [1, 0, 3, 4])
    np.testing.assert_array_equal(lb, [0, 2, 0, 0])
    (g,) = run(every, lambda x: [gc.grad(gc.sum(gc.clip(x, 0.0, 1.0)), x)], np.array([-1.0, 0.0, 0.5, 1.0, 2.0]))
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 0])  # torch.clamp's gradient


def test_max_min_reduction_ties_share_the_gradient_evenly(every):
    """As torch.amax/amin: each of k tied extremes gets 1/k (torch.max(x, dim) gives it to one index)."""
    x = np.array([[3.0, 1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 5.0, 1.0]])
    g_max, g_min, g_all = run(every, lambda t: [gc.grad(gc.sum(gc.max(t, axis=1) * np.array([1.0, 3.0, 1.0])), t),
                                                 gc.grad(gc.sum(gc.min(t, axis=1)), t),
                                                 gc.grad(gc.max(t), t)], x)
    np.testing.assert_allclose(g_max, [[0.5, 0, 0.5], [1, 1, 1], [0, 1, 0]], rtol=1e-15)
    np.testing.assert_allclose(g_min, [[0, 1, 0], [1 / 3, 1 / 3, 1 / 3], [1, 0, 0]], rtol=1e-15)
    np.testing.assert_allclose(g_all, [[0, 0, 0], [0, 0, 0], [0, 1, 0]], rtol=1e-15)


def test_max_pool_ties_in_a_window_share_the_gradient_evenly(every):
    """max_pool2d is a max over each window, so tied maxima share it (torch gives it all to the first)."""
    x = np.array([[[[1.0, 1.0, 0.0, 2.0],
                    [1.0, 0.0, 2.0, 2.0],
                    [5.0, 5.0, 3.0, 3.0],
                    [5.0, 5.0, 3.0, 3.0]]]])
    (g,) = run(every, lambda t: [gc.grad(gc.sum(gc.max_pool2d(t, 2)), t)], x)
    np.testing.assert_allclose(g, [[[[1 / 3, 1 / 3, 0, 1 / 3], [1 / 3, 0, 1 / 3, 1 / 3],
                                     [0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25]]]], rtol=1e-15)


# -- (b) NaN ----------------------------------------------------------------------------------------

def test_nan_propagates_through_maximum_minimum_relu_and_max_reductions(every):
    """NumPy's rules: np.maximum/np.minimum/np.max/np.min return NaN when any operand is NaN."""
    a = np.array([1.0, NAN, NAN, 3.0, -1.0])
    b = np.array([NAN, 2.0, NAN, 3.0, 0.0])
    x = np.array([[1.0, NAN, 3.0], [NAN, 0.0, -1.0], [1.0, 2.0, 3.0]])
    got = run(every, lambda p, q, t: [gc.maximum(p, q), gc.minimum(p, q), gc.relu(p),
                                      gc.max(t, axis=1), gc.min(t, axis=1), gc.max(t)], a, b, x)
    for value, want in zip(got, [np.maximum(a, b), np.minimum(a, b), np.maximum(a, 0.0),
                                 np.max(x, axis=1), np.min(x, axis=1), np.max(x)]):
        np.testing.assert_array_equal(value, want)  # NaN where NumPy has NaN, equal values elsewhere


def test_nan_in_where_and_comparisons(every):
    """Comparisons with NaN are false, except != which is true (IEEE, as NumPy); where picks, never mixes."""
    a = np.array([NAN, 1.0, NAN])
    b = np.array([1.0, NAN, NAN])
    c = np.array([True, False, True])
    got = run(every, lambda p, q, k: [p < q, p <= q, p > q, p >= q, gc.equal(p, q), gc.not_equal(p, q),
                                      gc.where(k, p, 0.0), gc.where(p > 0, p, -1.0)], a, b, c)
    for value in got[:5]:
        np.testing.assert_array_equal(value, [False, False, False])
    np.testing.assert_array_equal(got[5], [True, True, True])
    np.testing.assert_array_equal(got[6], [NAN, 0.0, NAN])
    np.testing.assert_array_equal(got[7], [-1.0, 1.0, -1.0])


# -- (c) division of integers -----------------------------------------------------------------------

def test_integer_true_division_is_float_and_ieee_by_zero(every):
    """`/` of integers is true division in float32 (NumPy gives float64); by zero it is +-inf or NaN."""
    i = np.array([7, -7, 7, -7, 5, -5, 0], np.int64)
    j = np.array([2, 2, -2, -2, 0, 0, 0], np.int64)
    (q,) = run(every, lambda a, b: [a / b], i, j)
    assert q.dtype == np.float32
    np.testing.assert_array_equal(q, np.array([3.5, -3.5, -3.5, 3.5, np.inf, -np.inf, NAN], np.float32))


def test_floor_division_and_modulo_are_pythons():
    """`//` is `gc.floor_divide` and `%` is `gc.mod`: the quotient rounds down and the remainder has the
    divisor's sign, as Python's (`gc.fmod` has the dividend's; docs/dtypes.md)."""
    a = gc.placeholder((2,), "int64")
    f = gc.function([a], [a % 3, a % -3, a // 3, a // -3])
    m, n, q, r = f(np.array([7, -7], np.int64))
    assert m.tolist() == [7 % 3, -7 % 3] and n.tolist() == [7 % -3, -7 % -3]
    assert q.tolist() == [7 // 3, -7 // 3] and r.tolist() == [7 // -3, -7 // -3]


# -- (d) run-time checks ----------------------------------------------------------------------------

def test_every_backend_checks_gather_indices_and_labels(every):
    """take/Embedding indices in [-n, n) (negatives from the end), class labels in [0, n): an
    IndexRangeError naming the value and the range, on every backend, the llvm build users run included."""
    table = np.arange(8.0).reshape(4, 2)
    (rows,) = run(every, lambda t, i: [gc.take(t, i)], table, np.array([-1, 0]))
    np.testing.assert_array_equal(rows, table[[-1, 0]])
    for bad in (4, -5):
        with pytest.raises(gc.IndexRangeError, match=rf"take: index {bad} at position \[1\] .* out of range "
                                                     r"\[-4, 4\) for axis 0 of float64\[4, 2\]"):
            run(every, lambda t, i: [gc.take(t, i)], table, np.array([0, bad]))
    emb = gc.nn.Embedding(4, 2)
    ids = gc.placeholder((2,), "int64")
    with pytest.raises(gc.IndexRangeError, match=r"take: index 9 at position \[0\]"):
        gc.function([ids], emb(ids), backend=every)(np.array([9, 0]))
    with pytest.raises(gc.IndexRangeError, match=r"cross_entropy: label -1 .* out of range \[0, 2\)"):
        run(every, lambda z, y: [gc.losses.cross_entropy(z, y)], np.zeros((2, 2)), np.array([0, -1]))


@pytest.mark.parametrize("build", ["llvm", "llvm-checked"])
def test_only_the_checked_build_checks_addresses(build, monkeypatch):
    """A kernel addressing outside its storage (here: a wrong view forced into the program) is a
    BackendError on llvm-checked; the llvm build has no per-address checks (that is what makes it fast)."""
    from graphc.backends.llvm import checked
    x = gc.placeholder((3,), "float64")
    f = gc.function([x], x * 2.0, backend=build)
    np.testing.assert_array_equal(f(np.array([1.0, 2.0, 3.0])), [2.0, 4.0, 6.0])
    lowered = f.variant().executable.lowered
    assert (lowered.sites is not None) == (build == "llvm-checked")
    if build == "llvm-checked":
        assert all(isinstance(s, checked.Site) for s in lowered.sites) and lowered.sites
