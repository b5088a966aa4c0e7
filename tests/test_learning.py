"""End-to-end learning results on the lectures' problems (modest sizes; gc.train.fit runs on its default
backend, the least-squares step on every backend). Marked slow: `pytest -m "not slow"` leaves them out.

Numbers measured when written (seeded, deterministic): digits test accuracy
~0.97; sine test MSE ~0.012 against noisy targets (noise variance alone is 0.01).
"""
import numpy as np
import pytest

import graphc as gc
from graphc import data, losses, nn, optim, train

pytestmark = pytest.mark.slow


def test_digits_mlp_reaches_95_percent():
    pytest.importorskip("sklearn", reason="the digits ship with scikit-learn")
    x, y = data.digits()
    (xtr, ytr), (xte, yte) = data.train_val_split(x, y, val_fraction=0.25, seed=0)
    model = nn.MLP([64, 64, 10], rng=0)
    train.fit(model, losses.cross_entropy, optim.Adam(model, lr=3e-3), xtr, ytr, epochs=20, batch_size=32)
    acc = gc.metrics.accuracy(yte, train.predict(model, xte))
    assert acc >= 0.95, f"digits test accuracy {acc:.4f}"


def test_sine_mlp_reaches_mse_below_002():
    # Inputs are standardized with the training set's mean and std; targets are left as they are.
    x, y = data.sine(3000, seed=0)
    xt, yt = data.sine(1000, seed=1)
    scale = data.Standardizer(x)
    model = nn.MLP([2, 64, 64, 1], "relu", rng=0)
    epochs, batch = 80, 64
    opt = optim.Adam(model, lr=3e-3, schedule=optim.Cosine(epochs * -(-len(x) // batch)))
    train.fit(model, losses.mse, opt, scale(x), y, epochs=epochs, batch_size=batch)
    test_mse = gc.metrics.mse(yt, train.predict(model, scale(xt)))
    assert test_mse < 0.02, f"sine test MSE {test_mse:.4f}"


def test_linear_network_converges_to_least_squares(backend):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 4))
    y = x @ rng.standard_normal((4, 2)) + rng.standard_normal(2) + 0.3 * rng.standard_normal((200, 2))
    model = nn.Sequential(nn.Dense(4, 3, dtype="float64", rng=1), nn.Dense(3, 2, dtype="float64", rng=2))
    xs, ys = gc.placeholder((None, 4), "float64"), gc.placeholder((None, 2), "float64")
    loss = losses.mse(model(xs), ys)
    step = gc.function([xs, ys], loss, updates=optim.SGD(model, lr=0.1).updates(loss), backend=backend)
    for _ in range(3000):  # full-batch gradient descent
        step(x, y)
    w, b = data.linear_regression(x, y)
    w_net = model[0].weight.value @ model[1].weight.value
    b_net = model[0].bias.value @ model[1].weight.value + model[1].bias.value
    np.testing.assert_allclose(w_net, w, atol=1e-6)
    np.testing.assert_allclose(b_net, b, atol=1e-6)


def _gap(dropout=0.0, weight_decay=0.0):
    """Validation minus training MSE (eval mode) of a big MLP on 40 noisy sine points."""
    x, y = data.sine(40, noise=0.3, seed=0)
    xv, yv = data.sine(500, noise=0.3, seed=1)
    scale = data.Standardizer(x)
    model = nn.MLP([2, 128, 128, 1], dropout=dropout, rng=0)
    opt = optim.Adam(model, lr=1e-2, weight_decay=weight_decay)
    train.fit(model, losses.mse, opt, scale(x), y, epochs=250, batch_size=40)
    fit_mse = train.evaluate(model, losses.mse, scale(x), y)["loss"]
    return train.evaluate(model, losses.mse, scale(xv), yv)["loss"] - fit_mse


def test_dropout_and_l2_shrink_the_generalization_gap():
    plain = _gap()
    dropout, l2 = _gap(dropout=0.5), _gap(weight_decay=5e-2)
    assert plain > 0.2  # the plain network overfits the 40 points
    assert dropout < 0.6 * plain, (plain, dropout)
    assert l2 < 0.75 * plain, (plain, l2)
