"""`gc.scan` (values, first and second derivatives, against unrolled loops and finite differences)
and the RNN/LSTM/GRU layers against torch.nn over full sequences, scanned and unrolled."""
import numpy as np
import pytest

import graphc as gc
from graphc import nn
from graphc.control import node_count
from graphc.testing import check_grad
from torchref import reference

WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _rnn(x, h0, w, u, scanned=True):
    step = lambda h, xt: gc.tanh(xt @ w + h @ u)  # noqa: E731
    if scanned:
        return gc.scan(step, h0, [x])
    hs, h = [], h0
    for t in range(x.shape[0]):
        h = step(h, x[t])
        hs.append(h)
    return gc.stack(hs)


def _arrays(rng, t=4):
    return [rng.standard_normal((t, 2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((3, 4)) * 0.5,
            rng.standard_normal((4, 4)) * 0.5]


def test_scan_matches_unrolled_loop(rng, backend):
    arrays = _arrays(rng)
    xs = [gc.placeholder(a.shape, "float64") for a in arrays]
    outs = [gc.function(xs, _rnn(*xs, scanned), backend=backend)(*arrays) for scanned in (True, False)]
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-14)


@pytest.mark.parametrize("scanned", [True, False])
def test_scan_derivatives_first_and_second_order(rng, scanned, backend):
    check_grad(lambda *a: gc.sum(gc.sin(_rnn(*a, scanned))), _arrays(rng, 3), order=2, backend=backend)


def test_scan_reverse_several_carries_and_constants(rng, backend):
    x, h = rng.standard_normal((3, 2, 3)), rng.standard_normal((2, 3))

    def f(x, h):
        def step(c, xt):
            a, b = c
            return [a * 0.5 + gc.sin(xt) + b * 0.1, b * gc.tanh(a) + h]
        hs, cs = gc.scan(step, [h, h * 2.0], [x], reverse=True)
        return gc.sum(hs * hs) + gc.sum(gc.cos(cs))
    check_grad(f, [x, h], order=2, backend=backend)


def test_scan_without_sequences_and_free_dims(backend):
    c = gc.placeholder((None, 3))
    f = gc.function([c], gc.scan(lambda c: c * 2.0, c, length=4), backend=backend)
    np.testing.assert_allclose(f(np.ones((2, 3), "float32"))[:, 0, 0], [2, 4, 8, 16])


def test_scan_errors_name_the_problem():
    with pytest.raises(gc.ShapeError, match="static trip count"):
        gc.scan(lambda c, x: c + x, gc.placeholder((2,)), [gc.placeholder((None, 2))])
    with pytest.raises(gc.ShapeError, match="the step returned"):
        gc.scan(lambda c, x: gc.sum(c + x), gc.placeholder((2,)), [gc.placeholder((3, 2))])


def test_scan_graph_does_not_grow_with_length():
    def size(t, scanned):
        x = gc.placeholder((t, 2, 3))
        w = gc.parameter(np.ones((3, 4)))
        u = gc.parameter(np.ones((4, 4)))
        cost = gc.sum(_rnn(x, gc.constant(np.zeros((2, 4))), w, u, scanned))
        return node_count([cost] + gc.grad(cost, [w, u]))
    assert size(64, True) == size(8, True)
    assert size(64, False) > 4 * size(8, False)


def _seeded_weights(cell, rng) -> None:
    """The cell's weights drawn from rng, in torch's default range U(-1/sqrt(hidden), 1/sqrt(hidden))."""
    for name in WEIGHTS:
        p = getattr(cell, name)
        bound = 1 / np.sqrt(cell.weight_hh.value.shape[-1])
        p.value = rng.uniform(-bound, bound, p.value.shape)


def _torch_recurrent(kind, weights, x) -> dict:
    """torch.nn.<kind> (one layer, batch first) with graphc's weights: outputs, final states, and the gradients of
    sum(sin(out)) + sum of squared final states by x and by each weight."""
    import torch
    ref = getattr(torch.nn, kind)(3, 5, batch_first=True).double()
    with torch.no_grad():
        for name, value in zip(WEIGHTS, weights):
            getattr(ref, f"{name}_l0").copy_(torch.tensor(value))
    tx = torch.tensor(x, requires_grad=True)
    t_out, t_state = ref(tx)
    t_state = list(t_state) if kind == "LSTM" else [t_state]
    (torch.sin(t_out).sum() + sum((s * s).sum() for s in t_state)).backward()
    return {"out": t_out, **{f"state{i}": s[0] for i, s in enumerate(t_state)}, "grad_x": tx.grad,
            **{f"grad_{n}": getattr(ref, f"{n}_l0").grad for n in WEIGHTS}}


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("unroll", [False, True])
def test_recurrent_layers_match_torch(rng, kind, unroll, backend, torch_key):
    layer = getattr(nn, kind)(3, 5, batch_first=True, unroll=unroll, dtype="float64")
    _seeded_weights(layer.cell, np.random.default_rng(0))
    x = rng.standard_normal((2, 6, 3))
    xp = gc.placeholder((None, 6, 3), "float64")
    out, state = layer.run(xp)
    cost = gc.sum(gc.sin(out)) + sum(gc.sum(s * s) for s in state)
    params = [getattr(layer.cell, n) for n in WEIGHTS]
    got = gc.function([xp], [out, *(s[0] for s in state)] + gc.grad(cost, [xp] + params), backend=backend)(x)
    ref = reference(torch_key, lambda: _torch_recurrent(kind, [p.value for p in params], x))
    want = [ref["out"]] + [ref[f"state{i}"] for i in range(len(state))] + [ref["grad_x"]] + [
        ref[f"grad_{n}"] for n in WEIGHTS]
    assert len(got) == len(want) == len(ref)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("cell_type", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def _torch_cell(name, weights, x, state) -> dict:
    """torch.nn.<name> (3 -> 4) with graphc's weights, one step from state: the new state(s)."""
    import torch
    ref = getattr(torch.nn, name)(3, 4).double()
    with torch.no_grad():
        for w, value in zip(WEIGHTS, weights):
            getattr(ref, w).copy_(torch.tensor(value))
    out = ref(torch.tensor(x), tuple(map(torch.tensor, state)) if len(state) > 1 else torch.tensor(state[0]))
    return {f"state{i}": s for i, s in enumerate(out if isinstance(out, tuple) else [out])}


@pytest.mark.parametrize("cell_type", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cells_match_torch(rng, cell_type, backend, torch_key):
    cell = cell_type(3, 4, dtype="float64")
    _seeded_weights(cell, np.random.default_rng(0))
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    state = [h, h * 0.5][: cell.n_states()]
    xp = gc.placeholder(x.shape, "float64")
    got = gc.function([xp], cell(xp, [gc.constant(s) for s in state]), backend=backend)(x)
    got = list(got) if isinstance(got, (list, tuple)) else [got]
    want = reference(torch_key, lambda: _torch_cell(cell_type.__name__, [getattr(cell, n).value for n in WEIGHTS],
                                                    x, state))
    assert len(got) == len(want) == cell.n_states()
    for i, g in enumerate(got):
        np.testing.assert_allclose(g, want[f"state{i}"], atol=1e-12)
