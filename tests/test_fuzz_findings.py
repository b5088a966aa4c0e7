"""Programs the differential fuzzer (graphc.testing.fuzz) found wrong, minimized, each on every backend.

Each test is the fuzzer's reproducer made into an assertion against a closed form or NumPy.
"""
import numpy as np
import pytest

import graphc as gc

BACKENDS = ["numpy", "numpy-kernels", "llvm", "llvm-checked"] + \
    (["cuda-emulate"] if gc.backends.status().get("cuda-emulate") is None else [])
LEVELS = ["O0", "O2"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_erf_of_a_scalar(backend, dtype):
    """The NumPy rule got a Python float back for a 0-d operand (AttributeError: no astype)."""
    x = gc.placeholder((), dtype)
    got = gc.function([x], gc.erf(x), backend=backend)(np.array(-1, dtype))
    np.testing.assert_allclose(got, -0.8427007929497149, rtol=1e-6)


@pytest.mark.parametrize("fn", [gc.softmax, gc.log_softmax])
@pytest.mark.parametrize("level", LEVELS)
def test_softmax_over_an_empty_axis_is_empty(backend, fn, level):
    """The reference raised (NumPy's max of nothing) where the native backends gave the empty result."""
    x = gc.placeholder((None, 0), "float64")
    got = gc.function([x], fn(x, axis=1), backend=backend, optimize=level)(np.zeros((2, 0)))
    assert got.shape == (2, 0)
    lse = gc.function([x], gc.logsumexp(x, axis=1), backend=backend, optimize=level)(np.zeros((2, 0)))
    np.testing.assert_array_equal(lse, [-np.inf, -np.inf])


@pytest.mark.parametrize("level", LEVELS)
def test_second_derivative_of_the_variance_of_nothing(backend, level):
    """1 / count with count 0 was folded by SymPy into zoo, which no printer knew (O2 failed)."""
    x = gc.placeholder((0,), "float32")
    v = gc.var(x, axis=(0,))
    g = gc.grad(gc.sum(gc.sin(v)), [x], disconnected="zero")
    h = gc.grad(sum(gc.sum(d) for d in g), [x], disconnected="zero")
    got_h, got_v = gc.function([x], h + [v], backend=backend, optimize=level)(np.zeros(0, np.float32))
    assert got_h.shape == (0,) and np.isnan(got_v)


@pytest.mark.parametrize("level", LEVELS)
def test_a_literal_division_by_zero_is_ieee(backend, level):
    xv = np.array([-2.0, 0.0, 3.0, np.inf])
    x = gc.placeholder((4,), "float64")
    got = gc.function([x], [gc.exp(x) / 0.0, gc.tanh(x / 0.0), (x + 1) / 0.0 * 2], backend=backend,
                      optimize=level)(xv)
    with np.errstate(all="ignore"):
        want = [np.exp(xv) / 0.0, np.tanh(xv / 0.0), (xv + 1) / 0.0 * 2]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_product_gradient_with_an_empty_inner_dim(backend):
    """x @ W over leading axes reshaped its rows to (-1, 0), which is ambiguous: a ShapeError."""
    a, b = gc.placeholder((3, 1, 0), "float64"), gc.placeholder((0, 2), "float64")
    y = a @ b
    ga, gb = gc.grad(gc.sum(gc.sin(y)), [a, b])
    got = gc.function([a, b], [y, ga, gb], backend=backend)(np.zeros((3, 1, 0)), np.zeros((0, 2)))
    np.testing.assert_array_equal(got[0], np.zeros((3, 1, 2)))
    assert got[1].shape == (3, 1, 0) and got[2].shape == (0, 2)


def test_an_empty_slice_returned_next_to_its_source(backend):
    """cuda-emulate handed out the whole buffer for the first output reading it, even a slice of it."""
    x = gc.placeholder((1, 1), "float32")
    t = gc.tanh(x)
    part, whole = gc.function([x], [t[2:2:2], t], backend=backend, optimize="O0")(np.array([[-2.0]], np.float32))
    assert part.shape == (0, 1)
    np.testing.assert_allclose(whole, np.tanh([[-2.0]]), rtol=1e-6)


def test_a_scan_over_an_empty_carry(backend):
    """llvm-checked faulted forming a pointer to row 0 of the empty carry (there is no element to compute)."""
    x = gc.placeholder((0,), "float32")
    ys = gc.scan(lambda c: gc.sin(c) * 1.5, x, length=2)
    assert gc.function([x], ys, backend=backend)(np.zeros(0, np.float32)).shape == (2, 0)


def test_a_scan_whose_carry_has_a_free_dim(backend):
    """Declaring it subtracted None from None (the width of stashed columns); its gradient stashes none."""
    x = gc.placeholder((None,), "float32")
    xs = gc.placeholder((2, None), "float32")
    ys = gc.scan(lambda c, s: c * gc.sigmoid(s) + 0.5, x, xs=[xs])
    f = gc.function([x, xs], [ys, gc.grad(gc.sum(ys), x)], backend=backend)
    s = 1 / (1 + np.exp(-0.5))
    for n in (3, 1, 0):
        got, dx = f(np.ones(n, np.float32), np.full((2, n), 0.5, np.float32))
        np.testing.assert_allclose(got, np.tile([[s + 0.5], [(s + 0.5) * s + 0.5]], (1, n)), rtol=1e-6)
        np.testing.assert_allclose(dx, np.full(n, s + s * s), rtol=1e-6)


@pytest.mark.parametrize("fn", ["less", "less_equal", "greater", "greater_equal"])
@pytest.mark.parametrize("level", LEVELS)
def test_ordering_truth_values(backend, fn, level):
    """less(x < x, flag) fused at O2 gave SymPy Lt(false, flag), which it refuses to order (TypeError)."""
    x, flag, bits = gc.placeholder((1, 1), "float64"), gc.placeholder((), "bool"), gc.placeholder((2,), "bool")
    op, ref = getattr(gc, fn), getattr(np, fn)
    f = gc.function([x, flag, bits], [op(gc.less(x, x), flag), op(bits, flag), op(flag, 0.5)], backend=backend,
                    optimize=level)
    xv, bv = np.array([[0.5]]), np.array([False, True])
    for fv in (False, True):
        for got, want in zip(f(xv, np.array(fv), bv), [ref(xv < xv, fv), ref(bv, fv), ref(fv, 0.5)]):
            np.testing.assert_array_equal(got, want)


def test_take_checks_its_indices_when_there_is_nothing_to_copy(backend):
    """Rows of size 0: the output is empty, and llvm never looked at the indices (NumPy raises)."""
    x, i = gc.placeholder((1, 0), "float64"), gc.placeholder((1, 3), "int32")
    f = gc.function([x, i], x[i], backend=backend)
    assert f(np.zeros((1, 0)), np.array([[0, 0, -1]], np.int32)).shape == (1, 3, 0)
    with pytest.raises(gc.IndexRangeError, match=r"index 2 at position \[0, 1\]"):
        f(np.zeros((1, 0)), np.array([[0, 2, 2]], np.int32))


def _bool_where_cases():
    a, b = gc.placeholder((1, 2), "bool"), gc.placeholder((2,), "bool")
    i, j = gc.placeholder((), "int64"), gc.placeholder((), "int64")
    inner = gc.where(a, a, b)  # a bool where, then the condition of another where and an operand of logic
    outs = [gc.where(inner, j, i), gc.where(gc.where(inner, b, a), a, b), gc.logical_or(b, inner),
            gc.logical_not(inner), gc.logical_and(gc.where(a, b, a), b)]
    return [a, b, i, j], outs


@pytest.mark.parametrize("level", LEVELS)
def test_a_bool_where_as_a_condition_and_in_logic(backend, level):
    """SymPy misread a Piecewise as a condition (where(where(a, a, b), j, i) lost b at O2 on every
    backend) and refused it in Or/Not (TypeError: expecting bool or Boolean)."""
    xs, outs = _bool_where_cases()
    ref_xs, ref_outs = _bool_where_cases()
    for av, bv in [([[False, False]], [False, True]), ([[True, False]], [True, False]),
                   ([[False, True]], [True, True])]:
        args = [np.array(av), np.array(bv), np.array(0), np.array(-2)]
        want = gc.function(ref_xs, ref_outs, backend="numpy", optimize="O0")(*args)
        np.testing.assert_array_equal(want[0], np.where(np.where(av, av, bv), -2, 0))
        for got, w in zip(gc.function(xs, outs, backend=backend, optimize=level)(*args), want):
            np.testing.assert_array_equal(got, w)


@pytest.mark.parametrize("level", LEVELS)
def test_second_derivative_of_the_mean_of_nothing(backend, level):
    """0.0 / 0.0 kept unevaluated (IEEE) was printed for NumPy as Python floats: ZeroDivisionError."""
    x = gc.placeholder((3, 0), "float32")
    m = gc.mean(x, axis=-1, keepdims=True)
    g = gc.grad(gc.sum(gc.sin(m)), [x], disconnected="zero")
    h = gc.grad(sum(gc.sum(d) for d in g), [x], disconnected="zero")
    got_h, got_m = gc.function([x], h + [m], backend=backend, optimize=level)(np.zeros((3, 0), np.float32))
    assert got_h.shape == (3, 0) and np.isnan(got_m).all()


@pytest.mark.parametrize("level", LEVELS)
def test_a_comparison_with_a_where_inside_a_fused_kernel(backend, level):
    """t >= where(c, t, x) in a fused body: SymPy folded the condition (t >= t) to True, so the jvp of
    maximum(flag, where(flag, flag, x)) came out 0 at O2 on every backend."""
    x, flag, dx = gc.placeholder((1, 1), "float64"), gc.placeholder((1, 1), "bool"), gc.placeholder((1, 1), "float64")
    y = gc.maximum(flag, gc.where(flag, flag, x))
    (got,) = gc.function([x, flag, dx], gc.jvp([y], [x], [dx]), backend=backend, optimize=level)(
        np.array([[1.5]]), np.array([[False]]), np.array([[-0.75]]))
    np.testing.assert_array_equal(got, [[-0.75]])  # maximum picks x (1.5 > 0): its tangent is dx


def test_scan_operands_whose_sizes_do_not_fit_its_step(backend):
    """Free dims that fit at declaration but not at the call (a carry of 6 times rows of 3): one
    InputError naming the step's op on every backend (the reference failed inside the loop instead)."""
    x, xs = gc.placeholder((None,), "float32"), gc.placeholder((1, None), "float32")
    doubled = gc.concatenate([x, x], axis=0)
    ys = gc.scan(lambda c, s: gc.tanh(c * doubled + s), doubled, xs=[xs])
    f = gc.function([x, xs], ys, backend=backend)
    with pytest.raises(gc.InputError, match=r"add: shapes \(6,\) and \(3,\) do not broadcast"):
        f(np.ones(3, np.float32), np.ones((1, 3), np.float32))
    np.testing.assert_allclose(f(np.ones(3, np.float32), np.zeros((1, 6), np.float32)), np.tanh(np.ones((1, 6))),
                               rtol=1e-6)


def test_a_gradient_built_for_equal_free_dims_that_broadcast_at_the_call(backend):
    """x[:1] - x with x of free size: declared as equal sizes, so the slice's gradient is not summed;
    at a call with 3 rows it broadcasts. One InputError naming the subtraction's line on every backend
    (the reference failed in the gradient's scatter, llvm returned values); with one row it is right."""
    x = gc.placeholder((None,), "float32")
    cost = gc.sum(gc.sin(x[:1] - x))
    f = gc.function([x], [cost, gc.grad(cost, x)], backend=backend)
    with pytest.raises(gc.InputError, match=r"(?s)subtract: a free dim of float32\[\?\] has size 1 at this call and "
                                            r"broadcasts against 3.*cost = gc.sum\(gc.sin\(x\[:1\] - x\)\)"):
        f(np.array([-0.25, -1.75, -1.0], np.float32))
    value, grad = f(np.array([-0.25], np.float32))
    assert value == 0 and grad.tolist() == [0.0]


@pytest.mark.parametrize("level", LEVELS)
def test_an_empty_slice_of_a_scan_differentiated_twice(backend, level):
    """O2 scatters a gradient of one element into an empty slice, as NumPy assigns (broadcast): the
    check that a gradient fits its slice must allow it."""
    x0, x1 = gc.placeholder((), "float32"), gc.placeholder((2,), "float32")
    ys = gc.scan(lambda c, s: c * gc.sigmoid(s) + 0.5, x0, xs=[x1])
    cost = gc.sum(gc.sin(ys[1:-3:1]))
    h = gc.grad(sum(gc.sum(g) for g in gc.grad(cost, [x1], disconnected="zero")), [x1], disconnected="zero")
    (got,) = gc.function([x0, x1], h, backend=backend, optimize=level)(np.array(1.0, np.float32),
                                                                        np.array([0.75, 0.25], np.float32))
    np.testing.assert_array_equal(got, [0.0, 0.0])


def test_a_scan_step_that_broadcasts_its_carry_at_the_call(backend):
    """A carry of one row against sequence rows of 3 (both declared free): the step returns 3 rows for
    a carry of 1. One InputError on every backend (the reference failed inside the loop)."""
    x, xs = gc.placeholder((None, 1), "float64"), gc.placeholder((1, None, 1), "float64")
    k = gc.placeholder((), "float32")
    ys = gc.scan(lambda c, s: gc.tanh(c * k + s), x[:1], xs=[xs])
    f = gc.function([x, xs, k], ys, backend=backend)
    with pytest.raises(gc.InputError,
                       match=r"scan: at these sizes the step returns float64\[3, 1\] for a carry of \[1, 1\]"):
        f(np.ones((3, 1)), np.ones((1, 3, 1)), np.array(1.75, np.float32))
    np.testing.assert_allclose(f(np.ones((1, 1)), np.ones((1, 1, 1)), np.array(1.75, np.float32)),
                               np.tanh([[[2.75]]]), rtol=1e-12)
