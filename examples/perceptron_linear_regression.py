"""The perceptron, then linear regression solved twice: in closed form and by gradient descent.

1. A perceptron (step activation, Rosenblatt's rule w <- w + lr (y - yhat) x, one sample at a
   time) on linearly separable points: it stops making mistakes after a few epochs.
2. Least squares on y = 2 x0 - x1 + 0.5 x2 + 3 + noise: the normal equations
   (pseudo-inverse, `gc.data.linear_regression`) against full-batch gradient descent on the MSE.
   The GD loss curve falls onto the closed-form loss; the coefficients agree.

    python examples/perceptron_linear_regression.py [--out DIR] [--quick]
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from _common import parse_args, plt, save


def separable_points(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points labelled by the line x0 + 0.5 x1 = 0.5, with a band of width 0.1 around it left empty."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.5, (n, 2))
    score = x[:, 0] + 0.5 * x[:, 1] - 0.5
    keep = np.abs(score) > 0.05  # a margin, so the classes are separable for sure
    return x[keep], (score[keep] > 0).astype(np.float64)


def perceptron(x: np.ndarray, y: np.ndarray, lr: float = 0.1, max_epochs: int = 50):
    """Train with the perceptron rule, one sample per compiled call; returns (w, b, mistakes per epoch)."""
    w = gc.parameter(np.zeros(2), name="w")
    b = gc.parameter(np.zeros(()), name="b")
    xi = gc.placeholder((2,), "float64", name="x")
    yi = gc.placeholder((), "float64", name="y")
    yhat = gc.cast(gc.greater_equal(gc.sum(xi * w) + b, 0.0), "float64")  # the step function
    err = yi - yhat
    step = gc.function([xi, yi], gc.abs(err), updates=[(w, w + lr * err * xi), (b, b + lr * err)])
    mistakes: list[int] = []
    for _ in range(max_epochs):
        mistakes.append(int(sum(step(a, t) for a, t in zip(x, y))))
        if mistakes[-1] == 0:
            break
    return w.value.copy(), float(b.value), mistakes


def regression_data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = x @ np.array([2.0, -1.0, 0.5]) + 3.0 + 0.3 * rng.standard_normal(n)
    return x, y[:, None]


def gradient_descent(x: np.ndarray, y: np.ndarray, lr: float = 0.1, steps: int = 200):
    """Full-batch GD on the mean squared error; returns (w, b, loss per step)."""
    w = gc.parameter(np.zeros((x.shape[1], 1)), name="w")
    b = gc.parameter(np.zeros(1), name="b")
    xs, ys = gc.placeholder((None, x.shape[1]), "float64", name="x"), gc.placeholder((None, 1), "float64", name="y")
    loss = gc.mean(gc.square(xs @ w + b - ys))
    dw, db = gc.grad(loss, [w, b])
    step = gc.function([xs, ys], loss, updates=[(w, w - lr * dw), (b, b - lr * db)])
    losses = [float(step(x, y)) for _ in range(steps)]
    return w.value[:, 0].copy(), float(b.value[0]), losses


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(__doc__, argv)
    x, labels = separable_points()
    w, b, mistakes = perceptron(x, labels)
    accuracy = float(np.mean(((x @ w + b) >= 0) == labels))
    print(f"perceptron: mistakes per epoch {mistakes}; training accuracy {accuracy:.1%}")

    xr, yr = regression_data()
    w_cf, b_cf = gc.data.linear_regression(xr, yr)
    cf_loss = float(np.mean((xr @ w_cf + b_cf - yr) ** 2))
    w_gd, b_gd, curve = gradient_descent(xr, yr, steps=60 if args.quick else 200)
    print(f"{'':10s} {'w0':>9s} {'w1':>9s} {'w2':>9s} {'b':>9s} {'MSE':>10s}")
    print(f"{'closed':10s} " + " ".join(f"{v:9.5f}" for v in [*w_cf[:, 0], b_cf[0]]) + f" {cf_loss:10.6f}")
    print(f"{'GD':10s} " + " ".join(f"{v:9.5f}" for v in [*w_gd, b_gd]) + f" {curve[-1]:10.6f}")
    coef_gap = float(np.max(np.abs(np.append(w_gd - w_cf[:, 0], b_gd - b_cf[0]))))
    print(f"largest coefficient gap {coef_gap:.2e}; loss gap {curve[-1] - cf_loss:.2e}")

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.scatter(*x.T, c=labels, cmap="coolwarm", s=10)
    xs = np.linspace(x[:, 0].min(), x[:, 0].max(), 2)
    left.plot(xs, -(w[0] * xs + b) / w[1], "k-", label="perceptron boundary")
    left.set_title("perceptron on separable data")
    left.legend()
    right.semilogy(np.maximum(np.array(curve) - cf_loss, 1e-16), label="GD loss - closed-form loss")
    right.set_xlabel("step")
    right.set_title(f"GD reaches the closed-form MSE {cf_loss:.4f}")
    right.legend()
    save(fig, args.out, "perceptron_linear_regression.png")
    return {"perceptron_accuracy": accuracy, "epochs": len(mistakes), "coef_gap": coef_gap,
            "loss_gap": curve[-1] - cf_loss, "closed_form_loss": cf_loss}


if __name__ == "__main__":
    main()
