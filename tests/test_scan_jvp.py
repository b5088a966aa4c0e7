"""Forward mode through `gc.scan`: the tangent of a loop is a loop carrying (state, tangent state).

Every default (scanned) RNN, LSTM and GRU used to raise NotImplementedError under `gc.jvp`. Their
jvps now match directional finite differences and the jvps of the unrolled layers, first and second
order (jvp of jvp, grad of jvp, jvp of grad), on every backend. A jvp derived from a reverse rule
works with free dims, and an op without a usable rule (no reverse rule, or one not linear in its seed
and no forward rule) is a GradientError naming it and the fix.
"""
import numpy as np
import pytest

import graphc as gc
from graphc.ir.node import Op

from conftest import tol

KINDS = ["LSTM", "GRU", "RNN"]
SHAPE = (2, 5, 3)  # batch, time, features


def _directional(f, args: list[np.ndarray], dirs: list[np.ndarray], eps: float = 1e-6) -> np.ndarray:
    """Central difference of f(*args) along dirs."""
    up = f(*[a + eps * d for a, d in zip(args, dirs)])
    down = f(*[a - eps * d for a, d in zip(args, dirs)])
    return (up - down) / (2 * eps)


def _layer(kind: str, unroll: bool):
    return getattr(gc.nn, kind)(3, 4, batch_first=True, unroll=unroll, rng=0, dtype="float64")


@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_jvp_matches_finite_differences_and_unrolled(kind, backend):
    rng = np.random.default_rng(0)
    xv, dxv = rng.normal(size=SHAPE), rng.normal(size=SHAPE)
    x, dx = gc.placeholder(SHAPE, "float64", name="x"), gc.placeholder(SHAPE, "float64", name="dx")
    scanned, unrolled = _layer(kind, False), _layer(kind, True)
    weights = [scanned.cell.weight_hh, scanned.cell.weight_ih]
    dws = [rng.normal(size=w.shape) for w in weights]
    outs = [gc.jvp(scanned(x)[0], x, dx),
            gc.jvp(scanned(x)[0], weights, [gc.constant(d) for d in dws]),
            gc.jvp(unrolled(x)[0], x, dx),
            gc.jvp(unrolled(x)[0], [unrolled.cell.weight_hh, unrolled.cell.weight_ih], [gc.constant(d) for d in dws])]
    by_x, by_w, unrolled_x, unrolled_w = gc.function([x, dx], outs, backend=backend)(xv, dxv)
    np.testing.assert_allclose(by_x, unrolled_x, **tol(backend))
    np.testing.assert_allclose(by_w, unrolled_w, **tol(backend))

    forward = gc.function([x], scanned(x)[0])
    np.testing.assert_allclose(by_x, _directional(forward, [xv], [dxv]), rtol=1e-6, atol=1e-8)
    values = [w.value.copy() for w in weights]

    def at(*ws):
        for w, v in zip(weights, ws):
            w.value = v
        return forward(xv)
    try:
        np.testing.assert_allclose(by_w, _directional(at, values, dws), rtol=1e-6, atol=1e-8)
    finally:
        at(*values)
    assert np.abs(by_w).max() > 1e-2


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_recurrent_jvp_second_order_matches_unrolled(kind, backend):
    """jvp of jvp, grad of jvp and jvp of grad (the Hessian-vector product in forward-over-reverse)."""
    rng = np.random.default_rng(1)
    x, v = gc.placeholder(SHAPE, "float64", name="x"), gc.placeholder(SHAPE, "float64", name="v")
    results = []
    for unroll in (False, True):
        layer = _layer(kind, unroll)
        cost = gc.sum(gc.tanh(layer(x)[0]))
        first = gc.jvp(cost, x, v)
        results.append([gc.jvp(first, x, v), gc.grad(first, layer.cell.weight_hh),
                         gc.jvp(gc.grad(cost, x), x, v), gc.hvp(cost, x, v)])
    xv, vv = rng.normal(size=SHAPE), rng.normal(size=SHAPE)
    got = gc.function([x, v], results[0] + results[1], backend=backend)(xv, vv)
    scanned, unrolled = got[:4], got[4:]
    for s, u in zip(scanned, unrolled):
        np.testing.assert_allclose(s, u, **tol(backend))
    np.testing.assert_allclose(scanned[2], scanned[3], **tol(backend))  # forward-over-reverse = reverse-over-reverse
    first = gc.function([x, v], gc.jvp(gc.sum(gc.tanh(_layer(kind, False)(x)[0])), x, v))
    np.testing.assert_allclose(scanned[0], _directional(lambda a: first(a, vv), [xv], [vv]), rtol=1e-6, atol=1e-8)


def test_scan_jvp_scalar_carry_reverse_init_and_constants(backend):
    """A scalar carry, reverse=True, and tangents on the initial carry, the sequence and a constant."""
    def loop(h0, xs, a):
        return gc.scan(lambda h, xt: gc.sin(h * a + xt) + h, h0, [xs], reverse=True)

    rng = np.random.default_rng(2)
    args = [np.float64(0.3), rng.normal(size=6), np.float64(0.8)]
    dirs = [np.float64(-0.7), rng.normal(size=6), np.float64(0.4)]
    ps = [gc.placeholder(np.shape(a), "float64", name=n) for a, n in zip(args, ["h0", "xs", "a"])]
    ts = [gc.placeholder(np.shape(a), "float64", name=f"d{n}") for a, n in zip(args, ["h0", "xs", "a"])]
    got = gc.function(ps + ts, gc.jvp(loop(*ps), ps, ts), backend=backend)(*args, *dirs)
    forward = gc.function(ps, loop(*ps))
    np.testing.assert_allclose(got, _directional(forward, args, dirs), rtol=1e-6, atol=1e-8)


def test_jvp_with_free_dims_derives_from_the_reverse_rule():
    """Where an op has no forward rule, the transposed reverse rule may read its seed for its shape only
    (free dims): the jvp is derived all the same (it was a NotImplementedError)."""
    x = gc.placeholder((None, 3), "float64", name="x")
    xv = np.random.default_rng(3).normal(size=(2, 3))
    for f in (lambda t: gc.softmax(t, axis=1), lambda t: gc.max(t, axis=1)):
        got = gc.function([x], gc.jvp(f(x), x, x * x))(xv)
        np.testing.assert_allclose(got, _directional(gc.function([x], f(x)), [xv], [xv * xv]), rtol=1e-6, atol=1e-8)


class _Cube(Op):
    """x**3 with a reverse rule that is not linear in its seed: no jvp can be derived from it."""

    name = "cube"

    def infer(self, x):
        return x.shape, x.dtype

    def numpy(self, x):
        return x ** 3

    def pullback(self, node, g):
        return [g * g * 3.0 * gc.square(node.inputs[0])]


def test_jvp_without_a_derivable_rule_is_a_graphc_error():
    x = gc.placeholder((3,), "float64", name="x")
    y = gc.Tensor.make(_Cube(), [x])
    with pytest.raises(gc.GradientError, match=r"cube has no forward rule.*\n *fix: give _Cube a jvp method"):
        gc.jvp(y, x, gc.ones_like(x))


class _Opaque(Op):
    """An op that says it is differentiable but gives no reverse rule."""

    name = "opaque"

    def infer(self, x):
        return x.shape, x.dtype

    def numpy(self, x):
        return x


def test_an_op_without_a_reverse_rule_is_a_graphc_error():
    x = gc.placeholder((3,), "float64", name="x")
    y = gc.Tensor.make(_Opaque(), [x])
    for differentiate in (lambda: gc.grad(gc.sum(y), x), lambda: gc.jvp(y, x, gc.ones_like(x))):
        with pytest.raises(gc.GradientError, match=r"opaque has no reverse rule\n *fix: give _Opaque a pullback"):
            differentiate()
