"""The lecture's sine fit: sigmoid against ReLU.

1,000 points X ~ U[0, 10]^2, y = sin(x0) + cos(x1) + 0.1 N(0, 1); an MLP 2 -> 64 -> 64 -> 1
with sigmoid or ReLU hidden units, trained with Adam on 80% of the points (inputs standardized). Prints the
test MSE of each (the noise floor is 0.01) and plots both loss curves in one figure.

    python examples/sine_fit.py [--out DIR] [--quick]
"""
from __future__ import annotations


import graphc as gc
from _common import parse_args, plt, save
from graphc import losses, nn, optim


def fit_one(activation: str, data: tuple, epochs: int) -> tuple[gc.train.History, float]:
    """Train one MLP; returns its history and its test MSE."""
    (x_tr, y_tr), (x_te, y_te) = data
    model = nn.MLP([2, 64, 64, 1], activation, rng=0)
    history = gc.train.fit(model, losses.mse, optim.Adam(model.parameters(), lr=3e-3), x_tr, y_tr,
                           epochs=epochs, batch_size=32, validation_data=(x_te, y_te), seed=0)
    return history, gc.metrics.mse(y_te, gc.train.predict(model, x_te))


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(__doc__, argv)
    x, y = gc.data.sine(1000, noise=0.1, seed=0)
    (x_tr, y_tr), (x_te, y_te) = gc.data.train_val_split(x, y, val_fraction=0.2, seed=0)
    scale = gc.data.Standardizer(x_tr)  # inputs of order 1: both activations start in their useful range
    data = (scale(x_tr), y_tr), (scale(x_te), y_te)
    fig, ax = plt.subplots(figsize=(6, 4))
    results = {}
    for activation in ("sigmoid", "relu"):
        history, test_mse = fit_one(activation, data, epochs=60 if args.quick else 300)
        results[activation] = test_mse
        print(f"{activation:8s} test MSE {test_mse:.4f}  (train loss {history['loss'][-1]:.4f})")
        line, = ax.semilogy(history["loss"], label=f"{activation} train")
        ax.semilogy(history["val_loss"], "--", color=line.get_color(), label=f"{activation} test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE")
    ax.set_title("sin(x0) + cos(x1): 2 -> 64 -> 64 -> 1")
    ax.legend()
    save(fig, args.out, "sine_fit.png")
    return results


if __name__ == "__main__":
    main()
