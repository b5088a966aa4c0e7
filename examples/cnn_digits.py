"""LeNet-5 on scikit-learn's 8x8 digits, padded to 12x12 (2 zero pixels per side).

C1 conv 5x5 (6 maps, padding 2) -> relu -> max pool 2 -> C3 conv 5x5 (16 maps) -> relu
-> flatten (64) -> F5 120 -> F6 84 -> 10 logits, trained with Adam on 80% of the
digits; prints the accuracy on the held-out 20% and saves the loss per epoch as
cnn_digits.png in --out (--quick: 3 epochs instead of 12).

    python examples/cnn_digits.py [--out DIR] [--quick]
"""
from __future__ import annotations

import time

import numpy as np

import graphc as gc
from _common import parse_args, training_result
from graphc import data, losses, nn, optim


def lenet5(seed: int = 0) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, activation="relu", rng=rng), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, activation="relu", rng=rng), nn.Flatten(),
        nn.Dense(64, 120, "relu", rng=rng), nn.Dense(120, 84, "relu", rng=rng), nn.Dense(84, 10, rng=rng))


def train(epochs: int = 12, seed: int = 0) -> tuple[float, list[float]]:
    """Train LeNet-5; return its test accuracy and the mean training loss of each epoch."""
    x, y = data.digits()
    images = np.pad(x.reshape(-1, 1, 8, 8), ((0, 0), (0, 0), (2, 2), (2, 2)))
    (x_tr, y_tr), (x_te, y_te) = data.train_val_split(images, y, val_fraction=0.2, seed=seed)
    model = lenet5(seed)
    xb, yb = gc.placeholder((None, 1, 12, 12), name="images"), gc.placeholder((None,), "int64", name="labels")
    loss = losses.cross_entropy(model(xb), yb)
    step = gc.function([xb, yb], loss, updates=optim.Adam(model.parameters(), lr=3e-3).updates(loss))
    predict = gc.function([xb], gc.argmax(model(xb), axis=1))
    curve = []
    for epoch in range(epochs):
        curve.append(float(np.mean([step(a, b) for a, b in data.minibatches(x_tr, y_tr, batch_size=32,
                                                                             seed=seed + epoch)])))
        print(f"epoch {epoch + 1:2d}  loss {curve[-1]:.4f}")
    return float(np.mean(predict(x_te) == y_te)), curve


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(__doc__, argv)
    start = time.perf_counter()
    acc, curve = train(epochs=3 if args.quick else 12)
    print(f"LeNet-5 test accuracy on 8x8 digits (padded to 12x12): {acc:.2%} "
          f"({time.perf_counter() - start:.1f} s)")
    return training_result(curve, acc, args.out, "cnn_digits.png", "epoch", "LeNet-5 on 12x12 digits", log=False)


if __name__ == "__main__":
    main()
