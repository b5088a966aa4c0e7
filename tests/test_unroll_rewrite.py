"""Gradients of unrolled recurrent layers compile at the default level and match the scanned layers.

`adjacent slices` opens a sum tree only where nothing else reads it, which it asks of the rewrite
engine's reader counts; a node rebuilt in a round had none, so the rule fired one time step per round
and an LSTM's gradient from length ~12 ran out of the 20-round cap. A rebuilt node now stands for the
nodes it replaced, and the rounds no longer grow with the length.
"""
import numpy as np
import pytest

import graphc as gc
from graphc.ir import Graph
from graphc.passes import SIMPLIFY, RewriteStats, rewrite

KINDS = ["LSTM", "GRU", "RNN"]


def _layers(kind: str, length: int) -> tuple[gc.Tensor, list, list]:
    """(input placeholder, [unrolled cost, params], [scanned cost, params]) for layers with equal weights."""
    x = gc.placeholder((2, length, 3), "float64", name="x")
    out = []
    for unroll in (True, False):
        layer = getattr(gc.nn, kind)(3, 4, batch_first=True, unroll=unroll, rng=0, dtype="float64")
        out.append([gc.sum(gc.tanh(layer(x)[0]) * np.linspace(-1.0, 1.0, 4)), list(layer.parameters())])
    return x, out[0], out[1]


def _second_order(cost: gc.Tensor, params: list, x: gc.Tensor) -> list[gc.Tensor]:
    """The gradient of the squared norm of the parameters' gradient, with respect to x and the parameters."""
    total = gc.sum(gc.stack([gc.sum(g * g) for g in gc.grad(cost, params)]))
    return gc.grad(total, [x, *params])


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_simplify_settles_in_rounds_independent_of_length(kind):
    for length in (8, 40):
        x, (cost, params), _ = _layers(kind, length)
        for grads in (gc.grad(cost, params), _second_order(cost, params, x)):
            rewrite(Graph((x,), tuple(grads), ()), SIMPLIFY, RewriteStats(), max_rounds=4)  # took ~length


@pytest.mark.parametrize("kind", KINDS)
def test_unrolled_gradients_match_scan_at_length_40(kind, backend):
    x, (cost_u, params_u), (cost_s, params_s) = _layers(kind, 40)
    xv = np.random.default_rng(0).normal(size=(2, 40, 3))
    unrolled = gc.function([x], [cost_u, *gc.grad(cost_u, params_u)], backend=backend)(xv)
    scanned = gc.function([x], [cost_s, *gc.grad(cost_s, params_s)], backend="numpy")(xv)
    for u, s in zip(unrolled, scanned):
        np.testing.assert_allclose(u, s, rtol=1e-9, atol=1e-11)
    assert np.abs(unrolled[1]).max() > 1e-3  # the comparison is not of zeros


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_unrolled_second_order_matches_scan(kind, backend):
    length = 40 if backend == "numpy" else 16  # failed from length 5-7; native compiles of 40 steps take ~10 s
    x, (cost_u, params_u), (cost_s, params_s) = _layers(kind, length)
    xv = np.random.default_rng(1).normal(size=(2, length, 3))
    unrolled = gc.function([x], _second_order(cost_u, params_u, x), backend=backend)(xv)
    scanned = gc.function([x], _second_order(cost_s, params_s, x), backend="numpy")(xv)
    for u, s in zip(unrolled, scanned):
        np.testing.assert_allclose(u, s, rtol=1e-9, atol=1e-11)
