"""nn.RNN, nn.LSTM and nn.GRU with torch's arguments (num_layers, bidirectional, batch_first, dropout,
bias, nonlinearity) against torch.nn with torch's own weights, loaded by name: outputs, final states and
the gradients of a scalar loss with respect to the inputs, the initial states and every parameter.

The PyTorch values come through tests/torchref.py (stored in tests/fixtures/torch where torch is absent);
dropout in train mode is checked by its structure, not against torch's random numbers."""
import numpy as np
import pytest

import graphc as gc
from graphc import nn
from conftest import tol
from torchref import reference

T, B, D, H = 4, 2, 3, 3  # steps, batch, features, hidden
#: (num_layers, bidirectional, batch_first)
CONFIGS = [(layers, bi, bf) for layers in (1, 2) for bi in (False, True) for bf in (False, True)]


def _config_id(config) -> str:
    layers, bi, bf = config
    return f"L{layers}-{'bi' if bi else 'uni'}-{'batch_first' if bf else 'time_first'}"


def _inputs(kind: str, layers: int, bi: bool, bf: bool, dtype: str) -> list[np.ndarray]:
    """x, then h_0 (and c_0 for an LSTM), seeded."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, D) if bf else (T, B, D)).astype(dtype)
    states = [rng.standard_normal((layers * (2 if bi else 1), B, H)).astype(dtype) * 0.5
              for _ in range(2 if kind == "LSTM" else 1)]
    return [x, *states]


def _torch_reference(key: str, kind: str, inputs: list[np.ndarray], layers: int, bi: bool, bf: bool,
                     train: bool = True, **options) -> dict[str, np.ndarray]:
    """torch's parameters (its own seeded init), outputs, final states and gradients for `inputs`."""
    def compute():
        import torch
        torch.manual_seed(0)
        dtype = getattr(torch, inputs[0].dtype.name)
        ref = getattr(torch.nn, kind)(D, H, layers, batch_first=bf, bidirectional=bi, dtype=dtype, **options)
        ref.train(train)
        x, *states = [torch.tensor(a, requires_grad=True) for a in inputs]
        out, final = ref(x, tuple(states) if kind == "LSTM" else states[0])
        finals = list(final) if kind == "LSTM" else [final]
        (torch.sin(out).sum() + sum((f * f).sum() for f in finals)).backward()
        return {"output": out, **{f"final{k}": f for k, f in enumerate(finals)}, "grad_x": x.grad,
                **{f"grad_state{k}": s.grad for k, s in enumerate(states)},
                **{f"param_{n}": p for n, p in ref.named_parameters()},
                **{f"grad_{n}": p.grad for n, p in ref.named_parameters()}}
    return reference(key, compute)


def _graphc_run(layer, inputs: list[np.ndarray], backend: str) -> dict[str, np.ndarray]:
    """The same quantities as `_torch_reference`, from graphc."""
    xs = [gc.placeholder(a.shape, a.dtype.name, name=f"a{i}") for i, a in enumerate(inputs)]
    x, *states = xs
    out, final = layer(x, tuple(states) if len(states) > 1 else states[0])
    finals = list(final) if isinstance(final, tuple) else [final]
    loss = gc.sum(gc.sin(out)) + sum(gc.sum(f * f) for f in finals)
    names = [n for n, _ in layer.named_parameters()]
    values = gc.function(xs, [out, *finals, *gc.grad(loss, xs + layer.parameters())], backend=backend)(*inputs)
    keys = ["output", *[f"final{k}" for k in range(len(finals))], "grad_x",
            *[f"grad_state{k}" for k in range(len(states))], *[f"grad_{n}" for n in names]]
    return dict(zip(keys, values))


def _check(kind: str, config, dtype: str, backend: str, key: str, train: bool = True, **options) -> None:
    layers, bi, bf = config
    inputs = _inputs(kind, layers, bi, bf, dtype)
    want = _torch_reference(key, kind, inputs, layers, bi, bf, train, **options)
    layer = getattr(nn, kind)(D, H, layers, batch_first=bf, bidirectional=bi, dtype=dtype, **options).train(train)
    torch_state = {k[len("param_"):]: v for k, v in want.items() if k.startswith("param_")}
    assert list(torch_state) == [n for n, _ in layer.named_parameters()]  # torch's names, in torch's order
    layer.load_state_dict({**layer.state_dict(), **torch_state})  # (the dropout keys are graphc's own)
    got = _graphc_run(layer, inputs, backend)
    assert sorted(got) == sorted(k for k in want if not k.startswith("param_"))
    rtol = tol(backend, dtype)["rtol"]
    for name, value in got.items():
        assert value.shape == want[name].shape, name
        # torch sums in other orders: a gradient entry that cancels (terms ~1, sum ~1e-4) carries the terms'
        # rounding, so absolute errors are measured against the array's scale (seen: <= 7e-7, 7e-16 of it)
        scale = max(1.0, float(np.abs(want[name]).max()))
        np.testing.assert_allclose(value, want[name], err_msg=name, rtol=rtol, atol=rtol * scale)
    assert np.abs(got["grad_weight_hh_l0"]).max() > 1e-3  # the comparison is not of zeros


@pytest.mark.parametrize("config", CONFIGS, ids=_config_id)
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_layers_match_torch(kind, config, dtype, backend):
    _check(kind, config, dtype, backend, f"recurrent_stacked-{kind}-{_config_id(config)}-{dtype}")


@pytest.mark.parametrize("kind, options", [("RNN", {"nonlinearity": "relu"}), ("RNN", {"bias": False}),
                                           ("LSTM", {"bias": False}), ("GRU", {"bias": False}),
                                           ("LSTM", {"dropout": 0.5}), ("GRU", {"dropout": 0.5})],
                         ids=["RNN-relu", "RNN-nobias", "LSTM-nobias", "GRU-nobias", "LSTM-dropout", "GRU-dropout"])
def test_options_match_torch(kind, options, backend):
    """Three layers, bidirectional, batch-first; dropout between layers is the identity in eval mode."""
    name = "-".join(f"{k}={v}" for k, v in options.items())
    _check(kind, (3, True, True), "float64", backend, f"recurrent_stacked-{kind}-{name}-float64",
           train="dropout" not in options, **options)


def test_unrolled_equals_scanned(backend):
    """unroll=True (a Python loop per direction) computes what the scans compute, reverse direction included."""
    inputs = _inputs("LSTM", 2, True, False, "float64")
    results = []
    for unroll in (False, True):
        layer = nn.LSTM(D, H, 2, bidirectional=True, unroll=unroll, rng=3, dtype="float64")
        results.append(_graphc_run(layer, inputs, backend))
    for name, value in results[0].items():
        np.testing.assert_allclose(results[1][name], value, err_msg=name, **tol(backend))


def test_initial_states_default_to_zeros(backend):
    layer = nn.GRU(D, H, 2, bidirectional=True, rng=1, dtype="float64")
    x = gc.placeholder((T, None, D), "float64")
    zeros = gc.zeros_like(gc.placeholder((4, 1, H), "float64")) + gc.zeros_like(x[0, :, :1])
    outs = [*layer(x), *layer(x, zeros)]
    got = gc.function([x], outs, backend=backend)(np.random.default_rng(2).standard_normal((T, 5, D)))
    assert got[0].shape == (T, 5, 2 * H) and got[1].shape == (4, 5, H)
    np.testing.assert_array_equal(got[0], got[2])
    np.testing.assert_array_equal(got[1], got[3])


def _dropout_probe(p: float, seed: int):
    """A 2-layer relu RNN whose second layer copies its input (W_ih = I, W_hh = 0, no bias) and whose first
    layer's outputs are all positive: its output is dropout(first layer's output) exactly."""
    layer = nn.RNN(2, 6, 2, nonlinearity="relu", dropout=p, rng=seed, dtype="float64")
    for name, param in layer.named_parameters():
        param.value = (np.eye(6) if name == "weight_ih_l1" else np.zeros_like(param.value)) if name.endswith("l1") \
            else np.abs(param.value) * 0.3
    return layer


def test_dropout_between_layers_in_train_mode_drops_at_rate_p_and_scales_the_rest(backend):
    p, steps, batch = 0.3, 50, 4
    layer = _dropout_probe(p, seed=0)
    x = gc.placeholder((steps, batch, 2), "float64")
    xv = np.abs(np.random.default_rng(4).standard_normal((steps, batch, 2)))
    (kept, h_kept), (train, h_train) = layer.eval()(x), layer.train()(x)
    assert len(layer.state_updates()) == 1  # one mask source, between the two layers
    step = gc.function([x], [kept, h_kept, train, h_train], updates=layer.state_updates(), backend=backend)
    masks = []
    for _ in range(2):  # the key advances: a new mask every call
        kept_v, h_kept_v, train_v, h_train_v = step(xv)
        assert kept_v.min() > 0
        dropped = train_v == 0
        np.testing.assert_allclose(train_v[~dropped], kept_v[~dropped] / (1 - p), **tol(backend))
        assert abs(dropped.mean() - p) < 0.06  # 1,200 draws: the standard deviation is 0.013
        np.testing.assert_array_equal(h_train_v[0], h_kept_v[0])  # the first layer's state is not dropped
        np.testing.assert_array_equal(h_train_v[1], train_v[-1])  # the last layer's output is not dropped
        masks.append(dropped)
    assert (masks[0] != masks[1]).mean() > 0.2


def test_dropout_is_seeded_by_rng():
    x = gc.placeholder((T, B, 2), "float64")
    xv = np.abs(np.random.default_rng(5).standard_normal((T, B, 2)))
    runs = [gc.function([x], _dropout_probe(0.5, seed)(x)[0])(xv) for seed in (0, 0, 1)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0] == 0, runs[2] == 0)


@pytest.mark.parametrize("make, call, error, message", [
    (lambda: nn.LSTM(3, 4), (T, B, 5), gc.ShapeError, r"not \(time, batch, features\) with 3 features"),
    (lambda: nn.LSTM(3, 4), (None, B, 3), gc.ShapeError, r"a fixed number of steps"),
    (lambda: nn.GRU(3, 4, batch_first=True), (B, T), gc.ShapeError, r"not \(batch, time, features\)"),
    (lambda: nn.RNN(3, 4, 2), [(T, B, 3), (1, B, 4)], gc.ShapeError,
     r"initial state .* is not \(num_layers \* directions, batch, hidden\) = \(2, 2, 4\)"),
    (lambda: nn.LSTM(3, 4), [(T, B, 3), (1, B, 4)], gc.InputError, r"expected 2 initial state\(s\), got 1"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), None, gc.InputError, r"unknown nonlinearity 'sigmoid'"),
    (lambda: nn.LSTM(3, 4, dropout=1.0), None, gc.GraphcError, r"LSTM: dropout must be a finite number"),
    (lambda: nn.GRU(3, 4, num_layers=0), None, gc.GraphcError, r"GRU: num_layers must be an int >= 1"),
])
def test_bad_arguments_name_the_problem(make, call, error, message):
    with pytest.raises(error, match=message):
        layer = make()
        shapes = [call] if isinstance(call, tuple) else call
        layer(*[gc.placeholder(s, "float64") for s in shapes])
