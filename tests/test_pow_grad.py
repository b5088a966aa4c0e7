"""Derivatives of `x ** p` at x = 0: torch's rules, which never divide by x, on every backend and O-level.

SymPy derives d/dx x**p as p x**p / x; with `x ** p` also used elsewhere it was shared, and the
gradient was 0/0 = NaN at x = 0 (torch: 0). The rule now is p x**(p-1), zero where p = 0, and
d/dp x**p = x**p log x, zero where x = 0 and p >= 0.
"""
import numpy as np
import pytest

import graphc as gc
from graphc.testing import check_grad

from conftest import tol
from torchref import reference

X = np.array([0.0, 1.0, -1.0, 0.5, -2.0])


def _cube_derivatives(x: np.ndarray) -> dict[str, np.ndarray]:
    """Closed forms for y = x**3, cost sum(tanh(y) + y)."""
    y = x ** 3
    dy = 3 * x ** 2
    return {"grad": dy * (2 - np.tanh(y) ** 2), "cube": dy, "second": 6 * x}


@pytest.mark.parametrize("level", ["O0", "O1", "O2"])
def test_constant_power_gradient_is_finite_at_zero(backend, level):
    x = gc.placeholder(X.shape, "float64", name="x")
    y = x ** 3
    outs = [gc.grad(gc.sum(gc.tanh(y) + y), x),  # x ** 3 used twice: the case that was NaN
            gc.grad(gc.sum(y), x),
            gc.grad(gc.sum(gc.grad(gc.sum(y), x)), x),  # second derivative, elementwise
            gc.jvp(gc.tanh(y) + y, [x], [gc.ones_like(x)])]
    got = gc.function([x], outs, backend=backend, optimize=level)(X)
    want = _cube_derivatives(X)
    for value, expected in zip(got, [want["grad"], want["cube"], want["second"], want["grad"]]):
        np.testing.assert_allclose(value, expected, **tol(backend))
    np.testing.assert_array_equal(got[0][0], 0.0)


def test_constant_power_hessian_at_zero(backend):
    x = gc.placeholder((3,), "float64", name="x")
    h = gc.function([x], gc.hessian(gc.sum(x ** 3), x), backend=backend)(np.array([0.0, 2.0, -1.0]))
    np.testing.assert_allclose(h, np.diag([0.0, 12.0, -6.0]), **tol(backend))


def _torch_power_rules(x: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """torch's pow_backward_self and pow_backward_exponent, in NumPy."""
    with np.errstate(all="ignore"):
        dx = np.where(p == 0, 0.0, p * x ** (p - 1))
        dp = np.where((x == 0) & (p >= 0), 0.0, x ** p * np.log(x))
    return dx, dp


# x = 0 against exponents > 0, = 0 and < 0; a negative base (log is NaN, as in torch); ordinary points
XS = np.array([0.0, 0.0, 0.0, 0.0, -1.0, 2.0, 0.5, 1.5])
PS = np.array([3.0, 0.5, 0.0, -1.0, 3.0, 2.5, -1.5, 0.0])


@pytest.mark.parametrize("level", ["O0", "O1", "O2"])
def test_tensor_exponent_follows_torch(backend, level):
    x = gc.placeholder(XS.shape, "float64", name="x")
    p = gc.placeholder(PS.shape, "float64", name="p")
    y = gc.power(x, p)
    dx, dp = gc.grad(gc.sum(y * 2.0 + y), [x, p])
    tx = gc.jvp(y, x, gc.ones_like(x))
    tp = gc.jvp(y, p, gc.ones_like(p))
    got = gc.function([x, p], [dx, dp, tx, tp], backend=backend, optimize=level)(XS, PS)
    want_dx, want_dp = _torch_power_rules(XS, PS)
    for value, expected in zip(got, [3 * want_dx, 3 * want_dp, want_dx, want_dp]):
        np.testing.assert_allclose(value, expected, equal_nan=True, **tol(backend))


def test_tensor_exponent_second_order_is_finite_at_zero(backend):
    """d²/dp² x**p = x**p log²x and d/dx (x**p log x) have the limit 0 at x = 0 for p > 1."""
    x = gc.placeholder((2,), "float64", name="x")
    p = gc.placeholder((2,), "float64", name="p")
    dp = gc.grad(gc.sum(gc.power(x, p)), p)
    dpp, dpx = gc.grad(gc.sum(dp), [p, x])
    xv, pv = np.array([0.0, 2.0]), np.array([3.0, 1.5])
    got = gc.function([x, p], [dpp, dpx], backend=backend)(xv, pv)
    log2 = np.log(2.0)
    np.testing.assert_allclose(got[0], [0.0, 2 ** 1.5 * log2 ** 2], **tol(backend))
    np.testing.assert_allclose(got[1], [0.0, 2 ** 0.5 * (1.5 * log2 + 1)], **tol(backend))


def test_power_matches_finite_differences(backend):
    xv = np.array([0.7, 1.3, 2.0])
    pv = np.array([2.5, -0.5, 1.0])
    check_grad(lambda x, p: gc.sum(gc.tanh(gc.power(x, p)) + gc.power(x, p)), [xv, pv], order=2,
               backend=backend)
    check_grad(lambda x: gc.sum(gc.tanh(x ** 3) + x ** 3), [np.array([0.0, 0.4, -1.1])], order=2,
               backend=backend)


def _torch_pow_grads() -> dict:
    import torch
    tx = torch.tensor(XS, requires_grad=True)
    tp = torch.tensor(PS, requires_grad=True)
    torch.pow(tx, tp).sum().backward()
    return {"dx": tx.grad, "dp": tp.grad}


def test_matches_torch_at_zero(torch_key):
    want = reference(torch_key, _torch_pow_grads)
    x = gc.placeholder(XS.shape, "float64", name="x")
    p = gc.placeholder(PS.shape, "float64", name="p")
    got = gc.function([x, p], gc.grad(gc.sum(gc.power(x, p)), [x, p]), backend="numpy")(XS, PS)
    np.testing.assert_allclose(got[0], want["dx"], equal_nan=True)
    np.testing.assert_allclose(got[1], want["dp"], equal_nan=True)


def test_broadcast_exponent_and_fused_logic(backend):
    """The exponent rule's mask, logical_and(x == 0, p >= 0), over operands of broadcasting shapes: the
    NumPy reference of a fused kernel printed it as logical_and.reduce((a, b)), which fails for them."""
    xv = np.array([[0.0, 0.5, 2.0], [0.0, 1.5, 0.3]])
    pv = np.array([[2.0, -0.5, 0.0]])
    x = gc.placeholder(xv.shape, "float64", name="x")
    p = gc.placeholder(pv.shape, "float64", name="p")
    dx, dp = gc.function([x, p], gc.grad(gc.sum(gc.power(x, p)), [x, p]), backend=backend)(xv, pv)
    want_dx, want_dp = _torch_power_rules(xv, np.broadcast_to(pv, xv.shape))
    np.testing.assert_allclose(dx, want_dx, **tol(backend))
    np.testing.assert_allclose(dp, want_dp.sum(axis=0, keepdims=True), **tol(backend))
    either = gc.where(gc.logical_or(gc.equal(x, 0.0), gc.less(p, 0.0)), 1.0, x) * 2.0
    np.testing.assert_array_equal(gc.function([x, p], either, backend=backend)(xv, pv),
                                  2 * np.where((xv == 0) | (pv < 0), 1.0, xv))
