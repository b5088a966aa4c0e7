"""Overfitting and three cures: L2 weight decay, dropout, early stopping.

30 noisy training points of y = sin(3x) + 0.3 N(0, 1) on [-1, 1], 200 validation points,
and a network far too big for them (1 -> 128 -> 128 -> 1, ReLU, Adam, full batch). Without
help it learns the noise: training loss falls while validation loss climbs. Prints, per
variant, the eval-mode train and validation MSE and their gap; plots the curves.

    python examples/overfitting.py [--out DIR] [--quick]
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from _common import parse_args, plt, save
from graphc import losses, nn, optim


def noisy_sine(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 1))
    return x.astype(np.float32), (np.sin(3 * x) + 0.3 * rng.standard_normal((n, 1))).astype(np.float32)


def run(variant: str, train: tuple, val: tuple, epochs: int) -> tuple[gc.train.History, float, float]:
    """Train one variant; returns its history and final eval-mode (train MSE, validation MSE)."""
    model = nn.MLP([1, 128, 128, 1], "relu", dropout=0.3 if variant == "dropout" else 0.0, rng=0)
    adam = optim.Adam(model.parameters(), lr=0.01, weight_decay=3e-3 if variant == "L2" else 0.0)
    stop = gc.train.EarlyStopping(patience=30, restore_best=True) if variant == "early stopping" else None
    history = gc.train.fit(model, losses.mse, adam, *train, epochs=epochs, batch_size=len(train[0]),
                           validation_data=val, early_stopping=stop, seed=0)
    return history, *(gc.train.evaluate(model, losses.mse, *d)["loss"] for d in (train, val))


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(__doc__, argv)
    train, val = noisy_sine(30, seed=0), noisy_sine(200, seed=1)
    fig, ax = plt.subplots(figsize=(7, 4))
    gaps = {}
    for variant in ("none", "L2", "dropout", "early stopping"):
        history, train_mse, val_mse = run(variant, train, val, epochs=300 if args.quick else 600)
        gaps[variant] = val_mse - train_mse
        stopped = f" (stopped at epoch {history.stopped_epoch + 1}, best {history.best_epoch + 1})" \
            if history.stopped_epoch is not None else ""
        print(f"{variant:15s} train MSE {train_mse:.4f}  validation MSE {val_mse:.4f}  "
              f"gap {gaps[variant]:.4f}{stopped}")
        line, = ax.semilogy(history["loss"], label=f"{variant} train")
        ax.semilogy(history["val_loss"], "--", color=line.get_color(), label=f"{variant} validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE")
    ax.set_title("30 points, 1 -> 128 -> 128 -> 1")
    ax.legend(fontsize=7)
    save(fig, args.out, "overfitting.png")
    return gaps


if __name__ == "__main__":
    main()
