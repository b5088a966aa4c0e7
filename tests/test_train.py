"""gc.train.fit: history, validation, metrics, callbacks, early stopping, progress, plots."""
import builtins
import sys

import numpy as np
import pytest

import graphc as gc
from graphc import train


def _problem(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-1.0], [0.5]], "float32")).astype("float32")
    return x, y


def test_fit_records_losses_and_metrics_per_epoch():
    x, y = _problem()
    model = gc.nn.MLP([3, 8, 1], rng=0)
    seen = []

    class Recorder(train.Callback):
        def on_epoch_end(self, epoch, logs, model):
            seen.append((epoch, dict(logs)))

    h = train.fit(model, gc.losses.mse, gc.optim.Adam(model, lr=1e-2), x, y, epochs=5, batch_size=16,
                  validation_split=0.25, metrics={"mae": gc.metrics.mae}, callbacks=[Recorder()])
    assert h.epochs == 5 and set(h.values) == {"loss", "mae", "val_loss", "val_mae"}
    assert h["loss"][-1] < h["loss"][0] and h["val_loss"][-1] < h["val_loss"][0]
    assert [e for e, _ in seen] == list(range(5)) and seen[-1][1]["val_mae"] == h["val_mae"][-1]
    final = train.evaluate(model, gc.losses.mse, x, y)
    assert final["loss"] == pytest.approx(float(np.mean((train.predict(model, x) - y) ** 2)), rel=1e-5)
    assert model.training  # fit leaves the mode as it found it


def test_early_stopping_restores_the_best_weights():
    x, y = _problem()
    xv, yv = _problem(32, seed=1)
    model = gc.nn.MLP([3, 8, 1], rng=0)
    stop = train.EarlyStopping(patience=2)
    # A rate this large diverges after a few epochs, so validation loss stops improving.
    h = train.fit(model, gc.losses.mse, gc.optim.SGD(model, lr=0.45), x, y, epochs=40, batch_size=64,
                  validation_data=(xv, yv), early_stopping=stop)
    assert h.stopped_epoch is not None and h.stopped_epoch < 39
    assert h.stopped_epoch - h.best_epoch == 2
    best = min(h["val_loss"])
    assert h["val_loss"][h.best_epoch] == best
    assert train.evaluate(model, gc.losses.mse, xv, yv)["loss"] == pytest.approx(best, rel=1e-5)


def test_early_stopping_needs_the_monitored_value():
    x, y = _problem()
    model = gc.nn.MLP([3, 4, 1])
    with pytest.raises(gc.GraphcError, match="no 'val_loss' among the logged values"):
        train.fit(model, gc.losses.mse, gc.optim.SGD(model), x, y, epochs=1, early_stopping=train.EarlyStopping())


def test_progress_without_tqdm_prints_plain_lines(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    x, y = _problem()
    model = gc.nn.MLP([3, 4, 1])
    train.fit(model, gc.losses.mse, gc.optim.SGD(model), x, y, epochs=2, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("epoch 1/2 loss=") and lines[1].startswith("epoch 2/2 loss=")


def test_progress_bar_with_tqdm(capsys):
    pytest.importorskip("tqdm", reason="tqdm draws the progress bar")
    x, y = _problem()
    model = gc.nn.MLP([3, 4, 1])
    train.fit(model, gc.losses.mse, gc.optim.SGD(model), x, y, epochs=2, verbose=True)
    assert "loss=" in capsys.readouterr().err


def test_loss_curves_png_written_atomically(tmp_path):
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    x, y = _problem()
    model = gc.nn.MLP([3, 4, 1])
    train.fit(model, gc.losses.mse, gc.optim.SGD(model), x, y, epochs=3, validation_split=0.25,
              plot=tmp_path / "curves.png")
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_fix(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(gc.GraphcError, match=r"graphc\[plot\]"):
        train.plot_history(train.History({"loss": [1.0]}), tmp_path / "x.png")


def _diverging_fit(backend, epochs=5, **kw):
    x, y = _problem()
    model = gc.nn.MLP([3, 8, 1], rng=0)
    return model, lambda: train.fit(model, gc.losses.mse, gc.optim.SGD(model, lr=1e4), x, y, epochs=epochs,
                                    backend=backend, **kw)


def test_fit_stops_when_the_loss_diverges_and_keeps_the_last_finite_weights(backend):
    model, run = _diverging_fit(backend)
    with pytest.raises(gc.NonFiniteError) as e:
        run()
    message = str(e.value)
    assert "fit stopped in epoch 2, batch 1: check_finite: square made 32 inf of 32 value(s)" in message
    assert "lower the learning rate" in message and "the model holds its last finite weights" in message
    assert e.value.history["loss"] == [pytest.approx(2.16e19, rel=1e-2)] and e.value.history.stopped_epoch == 1
    one_epoch, run_one = _diverging_fit(backend, epochs=1)
    run_one()  # the same first epoch, which stays finite
    for p, q in zip(model.parameters(), one_epoch.parameters()):
        assert np.isfinite(p.value).all()
        np.testing.assert_array_equal(p.value, q.value)  # the failing step of epoch 2 was taken back
    assert model.training


def test_fit_without_the_guard_still_stops_on_a_non_finite_loss():
    _, run = _diverging_fit("numpy", check_finite=False)
    with pytest.raises(gc.NonFiniteError, match="fit stopped in epoch 2, batch 1: the loss is inf") as e:
        run()
    assert "they may be NaN" in e.value.fix


def test_fit_diverging_under_early_stopping_restores_the_best_finite_epoch(backend):
    x, y = _problem()
    xv, yv = _problem(32, seed=1)
    model = gc.nn.MLP([3, 8, 1], rng=0)
    with pytest.raises(gc.NonFiniteError, match="fit stopped in epoch 6, validation") as e:
        train.fit(model, gc.losses.mse, gc.optim.SGD(model, lr=0.5), x, y, epochs=40, batch_size=64,
                  validation_data=(xv, yv), early_stopping=train.EarlyStopping(patience=100), backend=backend)
    h = e.value.history
    assert h.best_epoch == 0 and h.epochs == 5 and "the weights of epoch 1 (EarlyStopping's best)" in e.value.fix
    assert all(np.isfinite(p.value).all() for p in model.parameters())
    assert train.evaluate(model, gc.losses.mse, xv, yv)["loss"] == pytest.approx(h["val_loss"][0], rel=1e-5)


def test_fit_refuses_data_that_gives_no_batch():
    x, y = _problem()
    model = gc.nn.MLP([3, 4, 1])
    sgd = gc.optim.SGD(model)
    with pytest.raises(gc.ArgumentError, match=r"fit: the training data has no rows \(shape \(0, 3\)\)"):
        train.fit(model, gc.losses.mse, sgd, x[:0], y[:0])
    with pytest.raises(gc.ArgumentError, match="drop_last=True drops all 64 rows, fewer than batch_size=100"):
        train.fit(model, gc.losses.mse, sgd, x, y, batch_size=100, drop_last=True)
    with pytest.raises(gc.ArgumentError, match="the validation data has no rows"):
        train.fit(model, gc.losses.mse, sgd, x, y, epochs=1, validation_data=(x[:0], y[:0]))
    with pytest.raises(gc.ArgumentError, match="the data has no rows"):
        train.evaluate(model, gc.losses.mse, x[:0], y[:0])


def test_early_stopping_refuses_a_non_finite_monitored_value():
    x, y = _problem()
    model = gc.nn.MLP([3, 4, 1])
    with pytest.raises(gc.NonFiniteError, match="the callbacks: EarlyStopping: the monitored 'val_bad' is nan "
                                                "in epoch 1") as e:
        train.fit(model, gc.losses.mse, gc.optim.SGD(model), x, y, epochs=3, validation_split=0.25,
                  metrics={"bad": lambda t, p: float("nan")}, early_stopping=train.EarlyStopping("val_bad"))
    assert e.value.history.best_epoch is None and e.value.history.epochs == 1
