"""The reverse rule of `scan` as a loop compiler builds it: one forward loop that also stashes what the
gradient reads, one reverse loop, constants' gradients as one product over all steps, loop-invariant
work hoisted out of bodies; checked against finite differences and by the structure it promises."""
import numpy as np
import pytest

import graphc as gc
from graphc import nn
from graphc.ir import Graph, toposort
from graphc.ops.linalg import MatMul
from graphc.control import Scan
from graphc.ops.shape import Transpose
from graphc.passes import optimize
from graphc.testing import check_grad


def _lstm_step_graph(t=5, batch=2, n_in=3, hidden=4):
    lstm = nn.LSTM(n_in, hidden, batch_first=True, rng=0, dtype="float64")
    x = gc.placeholder((batch, t, n_in), "float64", name="x")
    out, (h, c) = lstm(x)
    loss = gc.sum(h * h) + gc.sum(out * 0.5)
    grads = gc.grad(loss, lstm.parameters())
    graph, report = optimize(Graph((x,), (loss, *grads)), "O1")
    return lstm, graph, report


def _matmuls(body_out):
    return [n for n in toposort([body_out]) if isinstance(n.op, MatMul)]


def test_an_lstm_gradient_is_one_forward_loop_and_one_reverse_loop():
    lstm, graph, report = _lstm_step_graph()
    scans = [n for n in graph.nodes if isinstance(n.op, Scan)]
    assert sorted(n.op.reverse for n in scans) == [False, True]
    assert report.records and "merge scan" in str(report)
    forward, backward = sorted(scans, key=lambda n: n.op.reverse)
    # the forward loop multiplies by W_hh once per step and stashes the gates (extra columns) ...
    assert len(_matmuls(forward.op.body.out)) == 1 and forward.op.body.extra > 0
    # ... so the reverse loop only has the carry's adjoint product, reading a hoisted W_hh, not W_hh^T^T
    (product,) = _matmuls(backward.op.body.out)
    assert not isinstance(product.inputs[1].op, Transpose)
    # ... which reads the stashed gate activations: it evaluates no sigmoid or tanh of its own
    assert not {n.op.name for n in toposort([backward.op.body.out])} & {"sigmoid", "tanh"}
    assert {n.op.name for n in toposort([forward.op.body.out])} >= {"sigmoid", "tanh"}
    # W_hh's gradient is one product over all 5 x 2 stacked rows, after the loops
    outer = [n for n in graph.nodes if isinstance(n.op, MatMul) and n.ndim == 2 and
             sorted(n.shape) == sorted(lstm.cell.weight_hh.shape)]
    assert outer and all(n.inputs[0].shape[-1] == 10 or n.inputs[1].shape[0] == 10 for n in outer)


@pytest.mark.parametrize("layout", ["h @ w", "w @ h", "w twice"])
def test_constant_gradients_summed_over_steps_match_finite_differences(rng, layout, backend):
    x, h0 = rng.standard_normal((4, 3, 3)), rng.standard_normal((3, 3)) * 0.5
    w = rng.standard_normal((3, 3)) * 0.5

    def f(x, h0, w):
        steps = {"h @ w": lambda h, xt: gc.tanh(h @ w + xt),
                 "w @ h": lambda h, xt: gc.tanh(gc.transpose(w @ gc.transpose(h)) + xt),
                 "w twice": lambda h, xt: gc.tanh(h @ w + (h * xt) @ gc.transpose(w))}
        hs = gc.scan(steps[layout], h0, [x])
        return gc.sum(gc.sin(hs))
    check_grad(f, [x, h0, w], backend=backend)


def test_a_gradient_that_fits_no_pattern_gets_a_loop_of_its_own(rng, backend):
    x, v = rng.standard_normal((4, 3)), rng.standard_normal((2, 2))

    def f(x, v):  # v's per-step gradient (2, 2) shares no axes with the carry (3,): summed by its own loop
        return gc.sum(gc.scan(lambda h, xt: gc.tanh(h * gc.sum(v * v) + xt), x[0] * 0.0, [x]))
    check_grad(f, [x, v], backend=backend)


def test_stashed_forward_values_survive_second_derivatives(rng, backend):
    x, w = rng.standard_normal((3, 2, 2)), rng.standard_normal((2, 2)) * 0.5

    def f(x, w):
        return gc.sum(gc.scan(lambda h, xt: gc.sigmoid(h @ w) * gc.tanh(xt + h), x[0], [x]) ** 2)
    check_grad(f, [x, w], order=2, backend=backend)


def test_lstm_training_step_values_do_not_depend_on_the_loop_shape(rng, backend):
    """Scanned (merged loops, stashed gates, hoisted weight gradients) and unrolled give one gradient."""
    xv = rng.standard_normal((2, 6, 3))
    grads = []
    for unroll in (False, True):
        lstm = nn.LSTM(3, 4, batch_first=True, unroll=unroll, rng=1, dtype="float64")
        x = gc.placeholder(xv.shape, "float64")
        out, (h, c) = lstm(x)
        loss = gc.sum(gc.tanh(out)) + gc.sum(c * h)
        grads.append(gc.function([x], gc.grad(loss, lstm.parameters()), backend=backend)(xv))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
