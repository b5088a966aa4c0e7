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
