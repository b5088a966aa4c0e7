"""Universal approximation: one hidden layer, growing width.

f(x) = sin(3x) + 0.3 x^2 on [-2, 2], fitted by Dense(1 -> n, tanh) -> Dense(n -> 1) for
n = 2, 4, 8, 32, 128 (Adam with a cosine-decayed rate,
full batch, the same number of steps each). Prints the maximum
absolute error on a fine grid per width: it falls as the layer widens, until the
width is enough for this f and the fixed step budget. Plots the fits.

    python examples/universal_approximation.py [--out DIR] [--quick]
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from _common import parse_args, plt, save
from graphc import losses, nn, optim

WIDTHS = (2, 4, 8, 32, 128)


def target(x: np.ndarray) -> np.ndarray:
    return np.sin(3 * x) + 0.3 * x ** 2


def main(argv: list[str] | None = None) -> dict[int, float]:
    args = parse_args(__doc__, argv)
    x = np.linspace(-2, 2, 200, dtype=np.float32)[:, None]
    grid = np.linspace(-2, 2, 1001, dtype=np.float32)[:, None]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(grid, target(grid), "k", lw=3, alpha=0.3, label="f(x)")
    errors = {}
    for width in WIDTHS:
        model = nn.MLP([1, width, 1], "tanh", rng=width)
        steps = 800 if args.quick else 3000
        adam = optim.Adam(model.parameters(), lr=0.02, schedule=optim.Cosine(steps))  # decay: settle, don't jitter
        gc.train.fit(model, losses.mse, adam, x, target(x), epochs=steps, batch_size=len(x), shuffle=False)
        fitted = gc.train.predict(model, grid)
        errors[width] = float(np.max(np.abs(fitted - target(grid))))
        print(f"width {width:4d}: max |error| {errors[width]:.4f}")
        ax.plot(grid, fitted, label=f"width {width}")
    ax.set_title("one hidden layer (tanh) of growing width")
    ax.legend()
    save(fig, args.out, "universal_approximation.png")
    return errors


if __name__ == "__main__":
    main()
