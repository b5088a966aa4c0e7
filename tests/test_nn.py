"""gc.nn against PyTorch (identical float64 weights): layers, activations, state files, dropout, RNG."""
import math
import os

import numpy as np
import pytest

import graphc as gc
from graphc import nn
from torchref import reference

ACTIVATIONS = [  # name, graphc function, torch function of (torch.nn.functional, x)
    ("sigmoid", nn.sigmoid, lambda F, x: x.sigmoid()),
    ("tanh", nn.tanh, lambda F, x: x.tanh()),
    ("relu", nn.relu, lambda F, x: F.relu(x)),
    ("leaky_relu", lambda x: nn.leaky_relu(x, 0.2), lambda F, x: F.leaky_relu(x, 0.2)),
    ("silu", nn.silu, lambda F, x: F.silu(x)),
    ("swish", nn.swish, lambda F, x: F.silu(x)),
    ("elu", lambda x: nn.elu(x, 0.7), lambda F, x: F.elu(x, 0.7)),
    ("gelu", nn.gelu, lambda F, x: F.gelu(x)),
    ("gelu_tanh", lambda x: nn.gelu(x, "tanh"), lambda F, x: F.gelu(x, approximate="tanh")),
    ("softplus", nn.softplus, lambda F, x: F.softplus(x)),
    ("softmax", nn.softmax, lambda F, x: F.softmax(x, -1)),
    ("log_softmax", nn.log_softmax, lambda F, x: F.log_softmax(x, -1)),
]


def _torch_values_and_grads(tfn, x_np, weight) -> dict:
    """tfn(torch.nn.functional, x) and d sum(out * weight) / dx in torch."""
    import torch
    tx = torch.tensor(x_np, requires_grad=True)
    tout = tfn(torch.nn.functional, tx)
    (tout * torch.tensor(weight)).sum().backward()
    return {"out": tout, "grad": tx.grad}


def _values_and_grads(key, fn, tfn, x_np, weight, *, backend):
    """fn's output and d sum(out * weight) / dx, in graphc and (stored, tests/torchref.py) in torch."""
    x = gc.placeholder(x_np.shape, "float64", "x")
    out = fn(x)
    f = gc.function([x], [out, gc.grad(gc.sum(out * weight), x)], backend=backend)
    ours = f(x_np)
    want = reference(key, lambda: _torch_values_and_grads(tfn, x_np, weight))
    return ours, [want["out"], want["grad"]]


@pytest.mark.parametrize("name,fn,tfn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_torch(name, fn, tfn, backend, torch_key):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 4)) * 3
    x[0, :3] = [0.0, 40.0, -40.0]  # a kink and the saturated tails
    ours, ref = _values_and_grads(torch_key, fn, tfn, x, rng.standard_normal((5, 4)), backend=backend)
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls,kw,targs", [  # graphc module, its keywords, torch.nn's module of that name's arguments
    (nn.ReLU, {}, ()), (nn.LeakyReLU, {"alpha": 0.3}, (0.3,)), (nn.ELU, {"alpha": 0.5}, (0.5,)), (nn.GELU, {}, ()),
    (nn.Tanh, {}, ()), (nn.Sigmoid, {}, ()), (nn.SiLU, {}, ()), (nn.Softplus, {}, ()), (nn.Softmax, {}, (-1,)),
    (nn.LogSoftmax, {}, (-1,)),
])
def test_activation_modules_match_torch_modules(cls, kw, targs, backend, torch_key):
    def torch_module(F, x):
        import torch
        return getattr(torch.nn, cls.__name__)(*targs)(x)

    x = np.linspace(-3, 3, 12).reshape(3, 4)
    ours, ref = _values_and_grads(torch_key, cls(**kw), torch_module, x, np.ones((3, 4)) + x, backend=backend)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def _torch_dense_stack(model, x_np, w_np) -> dict:
    """torch's Linear-Tanh-Linear-GELU-Linear with model's weights: the output, and d sum(out * w) by x and by
    every parameter."""
    import torch

    def linear(dense):
        lin = torch.nn.Linear(dense.in_features, dense.out_features).double()
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(dense.weight.value.T))
            lin.bias.copy_(torch.tensor(dense.bias.value))
        return lin

    ref = torch.nn.Sequential(linear(model[0]), torch.nn.Tanh(), linear(model[1]), torch.nn.GELU(), linear(model[2]))
    tx = torch.tensor(x_np, requires_grad=True)
    tout = ref(tx)
    (tout * torch.tensor(w_np)).sum().backward()
    return {"out": tout, "grad_x": tx.grad, **{f"grad{i}": p.grad for i, p in enumerate(ref.parameters())}}


def test_dense_stack_values_and_all_gradients_match_torch(backend, torch_key):
    model = nn.Sequential(nn.Dense(3, 5, "tanh", dtype="float64", rng=1),
                          nn.Dense(5, 4, "gelu", dtype="float64", rng=2),
                          nn.Dense(4, 2, dtype="float64", rng=3))
    rng = np.random.default_rng(0)
    x_np, w_np = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    x = gc.placeholder((None, 3), "float64", "x")
    out = model(x)
    loss = gc.sum(out * w_np)
    params = model.parameters()
    ours = gc.function([x], [out] + gc.grad(loss, [x] + params), backend=backend)(x_np)
    want = reference(torch_key, lambda: _torch_dense_stack(model, x_np, w_np))
    np.testing.assert_allclose(ours[0], want["out"], rtol=1e-12)
    np.testing.assert_allclose(ours[1], want["grad_x"], rtol=1e-10, atol=1e-14)
    tgrads = [want[f"grad{i}"] for i in range(len(params))]
    for ours_g, ref_g in zip(ours[2:], tgrads, strict=True):  # graphc stores weights as (in, out): transpose torch's
        np.testing.assert_allclose(ours_g, ref_g.T if ref_g.ndim == 2 else ref_g, rtol=1e-10, atol=1e-14)


def test_module_tree_names_and_modes():
    model = nn.MLP([4, 8, 8, 3], dropout=0.5, rng=0)
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert [n for n, _ in model.named_buffers()] == ["1.key", "3.key"]
    assert len(model.parameters()) == 6 and all(hasattr(p, "value") for p in model.parameters())
    assert model[0].weight.value.shape == (4, 8) and model[0].bias.value.shape == (8,)
    assert len(model.state_updates()) == 2
    model.eval()
    assert not any(m.training for _, m in model.named_modules()) and model.state_updates() == []
    assert "Dense(4 -> 8, relu)" in repr(model)


def test_dense_rejects_wrong_feature_count():
    x = gc.placeholder((None, 3))
    with pytest.raises(gc.ShapeError, match=r"(?s)Dense\(4 -> 2\).*float32\[\?, 3\].*in_features"):
        nn.Dense(4, 2)(x)


def test_state_roundtrip_is_atomic_npz(tmp_path):
    a, b = nn.MLP([3, 4, 2], rng=0), nn.MLP([3, 4, 2], rng=1)
    path = tmp_path / "model.npz"
    a.save(path)
    assert os.listdir(tmp_path) == ["model.npz"]  # the temporary file was renamed, none left behind
    b.load(path)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb and np.array_equal(pa.value, pb.value) and pb.value.dtype == np.float32
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == ["0.bias", "0.weight", "1.bias", "1.weight"]


def test_load_checks_shapes_dtypes_names_and_refuses_pickles(tmp_path):
    nn.MLP([3, 4, 2], rng=0).save(tmp_path / "small.npz")
    with pytest.raises(gc.ShapeError, match=r"'0.weight' has shape \(3, 5\), the state holds \(3, 4\)"):
        nn.MLP([3, 5, 2]).load(tmp_path / "small.npz")
    with pytest.raises(gc.DTypeError, match=r"'0.weight' is float64, the state holds float32"):
        nn.MLP([3, 4, 2], dtype="float64").load(tmp_path / "small.npz")
    with pytest.raises(gc.GraphcError, match=r"missing \['2.bias', '2.weight'\]"):
        nn.MLP([3, 4, 4, 2]).load(tmp_path / "small.npz")
    np.savez(tmp_path / "evil.npz", w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(gc.GraphcError, match="cannot read"):
        nn.load_state(tmp_path / "evil.npz")


@pytest.mark.parametrize("name,std", [
    ("glorot_normal", math.sqrt(2 / (200 + 300))), ("glorot_uniform", math.sqrt(2 / (200 + 300))),
    ("he_normal", math.sqrt(2 / 200)), ("he_uniform", math.sqrt(2 / 200)),
    ("xavier_uniform", math.sqrt(2 / (200 + 300))), ("kaiming_normal", math.sqrt(2 / 200)),
])
def test_initializer_scales(name, std):
    w = nn.init.get(name)((200, 300), np.random.default_rng(0))
    assert w.dtype == np.float32 and w.shape == (200, 300)
    assert abs(w.std() / std - 1) < 0.02 and abs(w.mean()) < 0.01 * std * 10
    if "uniform" in name:
        assert np.abs(w).max() <= std * math.sqrt(3) + 1e-6


def test_initializers_are_seeded_and_simple_ones_exact():
    assert np.array_equal(nn.init.normal((3, 3), 5, std=2.0), nn.init.normal((3, 3), 5, std=2.0))
    assert not np.array_equal(nn.init.uniform((3, 3), 5), nn.init.uniform((3, 3), 6))
    assert np.abs(nn.init.uniform((1000,), 0, low=-2, high=3)).max() <= 3
    assert np.array_equal(nn.init.zeros((2, 2)), np.zeros((2, 2))) and nn.init.ones((2,), dtype="float64").sum() == 2
    with pytest.raises(gc.GraphcError, match="unknown initializer 'lecun'"):
        nn.init.get("lecun")


def test_penalties_values_and_gradients(backend):
    w = gc.parameter(np.array([[1.0, -2.0], [0.0, 3.0]]))
    b = gc.parameter(np.array([-1.0, 0.5]))
    l2, l1 = nn.l2_penalty([w, b], 0.1), nn.l1_penalty([w, b], 0.1)
    f = gc.function([], [l2, l1] + gc.grad(l2 + l1, [w, b]), backend=backend)
    v = f()
    assert v[0] == pytest.approx(0.05 * (1 + 4 + 9 + 1 + 0.25)) and v[1] == pytest.approx(0.1 * 7.5)
    np.testing.assert_allclose(v[2], 0.1 * w.value + 0.1 * np.sign(w.value))


def test_dropout_train_eval_and_reproducible_counter(backend):
    x = gc.placeholder((None, 1000), "float64", "x")
    drop = nn.Dropout(0.3, seed=7)
    y = drop(x)
    step = gc.function([x], [y, gc.grad(gc.sum(y), x)], updates=drop.state_updates(), backend=backend)
    ones = np.ones((4, 1000))
    out1, g1 = step(ones)
    out2, _ = step(ones)
    assert drop.key.value.tolist() == [7, 2]
    kept = out1 != 0
    assert abs(kept.mean() - 0.7) < 0.02 and np.allclose(out1[kept], 1 / 0.7)
    np.testing.assert_array_equal(g1, out1)  # the gradient is the same mask and scale
    assert not np.array_equal(out1, out2)  # the counter advanced: a new mask
    drop.key.value = np.array([7, 0])
    np.testing.assert_array_equal(step(ones)[0], out1)  # same key, same numbers, bit for bit
    drop.eval()  # the identity, as a node of its own that records the mode and that the passes remove
    ident = gc.function([x], drop(x), backend=backend)
    np.testing.assert_array_equal(ident(out1), out1)
    assert [n.op.name for n in ident.optimized_graph((4, 1000)).nodes] == ["placeholder"]


def test_philox_known_answers_and_uniform_op(backend):
    from graphc.ops.random import philox4x32
    cases = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
             ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
             ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
              (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]  # Random123's kat_vectors
    for ctr, key, expected in cases:
        assert tuple(int(w) for w in philox4x32([np.array(c, np.uint64) for c in ctr], key)) == expected
    key = gc.parameter(np.array([3, 0], "int64"))
    u32, u64 = gc.random_uniform(key, (200, 50)), gc.random_uniform(key, (4, 5), "float64", stream=1)
    a, b = gc.function([], [u32, u64], backend=backend)()
    assert a.dtype == np.float32 and b.dtype == np.float64 and a.shape == (200, 50)
    assert 0 <= a.min() and a.max() < 1 and abs(a.mean() - 0.5) < 0.01 and abs(a.var() - 1 / 12) < 0.002
    with pytest.raises(gc.DTypeError, match="int64\\[2\\]"):
        gc.random_uniform(gc.parameter(np.zeros(2)), (3,))


def test_erf_op_values_and_gradient(backend):
    x = np.linspace(-3, 3, 13)
    xs = gc.placeholder((13,), "float64")
    np.testing.assert_allclose(gc.function([xs], gc.erf(xs), backend=backend)(x), [math.erf(v) for v in x], rtol=1e-15)
    gc.testing.check_grad(lambda t: gc.sum(gc.erf(t) * t), [x], backend=backend)
