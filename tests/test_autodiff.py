"""Reverse mode, forward mode and second derivatives."""
import numpy as np
import pytest

import graphc as gc
from graphc.testing import check_grad


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_simplest_mlp_matches_hand_chain_rule(rng, backend):
    """The lecture's network: n = s(w1 x + b1), m = s(w2 n + b2), L = (y - m)^2.

    (The notes write dL/dm = 2(y - m) and s'(m); the right factors are -2(y - m) and s'(z2) = m(1 - m).)
    """
    x, y = gc.placeholder((), "float64", "x"), gc.placeholder((), "float64", "y")
    w1, b1, w2, b2 = (gc.parameter(np.float64(v), name) for v, name in
                      zip(rng.standard_normal(4), ["w1", "b1", "w2", "b2"]))
    n = gc.sigmoid(w1 * x + b1)
    m = gc.sigmoid(w2 * n + b2)
    L = (y - m) ** 2
    f = gc.function([x, y], gc.grad(L, [w2, w1, b2, b1]), backend=backend)
    for xv, yv in rng.standard_normal((10, 2)):
        W1, B1, W2, B2 = (p.value for p in (w1, b1, w2, b2))
        z1 = W1 * xv + B1
        nv = sigmoid(z1)
        z2 = W2 * nv + B2
        mv = sigmoid(z2)
        dL_dm = -2 * (yv - mv)
        dm_dz2 = mv * (1 - mv)
        dz2_dw2, dz2_dn = nv, W2
        dn_dz1 = nv * (1 - nv)
        dz1_dw1 = xv
        want = [dz2_dw2 * dm_dz2 * dL_dm, dz1_dw1 * dn_dz1 * dz2_dn * dm_dz2 * dL_dm,
                1.0 * dm_dz2 * dL_dm, 1.0 * dn_dz1 * dz2_dn * dm_dz2 * dL_dm]
        np.testing.assert_allclose(f(xv, yv), want, rtol=1e-12)


def test_gradients_are_graphs_that_can_be_differentiated_again(backend):
    x = gc.placeholder((), "float64")
    y = gc.sin(x) * x
    d1 = gc.grad(y, x)
    d2 = gc.grad(d1, x)
    d3 = gc.grad(d2, x)
    f = gc.function([x], [d1, d2, d3], backend=backend)
    v = 0.7
    np.testing.assert_allclose(f(v), [np.cos(v) * v + np.sin(v), 2 * np.cos(v) - v * np.sin(v),
                                      -3 * np.sin(v) - v * np.cos(v)], rtol=1e-12)


@pytest.mark.parametrize("fn", [gc.exp, gc.log1p, gc.tanh, gc.sigmoid, gc.softplus, gc.sqrt,
                                lambda t: gc.logsumexp(t), lambda t: gc.softmax(t)[0],
                                lambda t: gc.max(t * t), lambda t: t[0] ** 3 / (1 + t[1] ** 2)])
def test_second_derivatives(fn, rng, backend):
    check_grad(lambda t: gc.sum(fn(t)), [rng.uniform(0.3, 1.5, 3)], order=2, rtol=1e-4, atol=1e-6, backend=backend)


def test_hessian_closed_form(rng, backend):
    A = rng.standard_normal((3, 3))
    A = A + A.T
    b = rng.standard_normal(3)
    x = gc.placeholder((3,), "float64")
    cost = 0.5 * gc.sum(x * (gc.constant(A) @ x)) + gc.sum(gc.constant(b) * x) + gc.sum(x ** 4)
    xv = rng.standard_normal(3)
    H = gc.function([x], gc.hessian(cost, x), backend=backend)(xv)
    np.testing.assert_allclose(H, A + np.diag(12 * xv ** 2), rtol=1e-12)
    v = rng.standard_normal(3)
    vt = gc.placeholder((3,), "float64")
    np.testing.assert_allclose(gc.function([x, vt], gc.hvp(cost, x, vt), backend=backend)(xv, v), H @ v, rtol=1e-12)


def test_jvp_matches_reverse_mode(rng, backend):
    """J t from forward mode equals (J^T e_i . t) from reverse mode, row by row."""
    x = gc.placeholder((4,), "float64")
    W = gc.constant(rng.standard_normal((3, 4)))
    out = gc.softmax(gc.tanh(W @ x) * gc.max(x)) + gc.take(x, np.array([1, 3, 3])) ** 2
    t = gc.placeholder((4,), "float64")
    xv, tv = rng.standard_normal(4), rng.standard_normal(4)
    fwd = gc.function([x, t], gc.jvp(out, x, t), backend=backend)(xv, tv)
    rows = gc.function([x], [gc.grad(out[i], x) for i in range(3)], backend=backend)(xv)
    np.testing.assert_allclose(fwd, np.array(rows) @ tv, rtol=1e-10)


def test_jvp_of_ops_without_forward_rule_is_derived_by_transposition(rng, backend):
    x = gc.placeholder((2, 3), "float64")
    t = gc.placeholder((2, 3), "float64")
    out = gc.prod(x, axis=1) + gc.log_softmax(x, axis=1)[:, 0] + gc.logsumexp(x, axis=1)
    xv, tv = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    got = gc.function([x, t], gc.jvp(out, x, t), backend=backend)(xv, tv)
    f = gc.function([x], out, backend=backend)
    eps = 1e-6
    np.testing.assert_allclose(got, (f(xv + eps * tv) - f(xv - eps * tv)) / (2 * eps), rtol=1e-6)


def test_disconnected_gradient_raises_or_gives_zeros(backend):
    x, y = gc.placeholder((2,), "float64", "x"), gc.placeholder((3,), "float64", "y")
    cost = gc.sum(x ** 2)
    with pytest.raises(gc.GradientError, match="does not depend on"):
        gc.grad(cost, y)
    g = gc.grad(cost, [x, y], disconnected="zero")
    np.testing.assert_array_equal(gc.function([x, y], g[1], backend=backend)(np.ones(2), np.ones(3)), np.zeros(3))


def test_gradient_wrt_integer_raises():
    i = gc.placeholder((2,), "int64")
    with pytest.raises(gc.GradientError, match="int64"):
        gc.grad(gc.sum(gc.cast(i, "float32")), i)


def test_gradient_needs_scalar_cost():
    x = gc.placeholder((2,), "float32")
    with pytest.raises(gc.GradientError, match="scalar"):
        gc.grad(x * 2, x)


def test_gradient_stops_at_integer_paths(rng, backend):
    x = gc.placeholder((4,), "float64")
    # argmax and the comparison carry no derivative; the take of x does.
    idx = gc.argmax(x)
    cost = gc.sum(gc.take(x, gc.expand_dims(idx, 0))) + gc.sum(gc.cast(x > 0, "float64"))
    xv = np.array([0.1, 2.0, -1.0, 0.5])
    np.testing.assert_array_equal(gc.function([x], gc.grad(cost, x), backend=backend)(xv), [0, 1, 0, 0])
