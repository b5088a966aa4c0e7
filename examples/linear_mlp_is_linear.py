"""An MLP without nonlinearities is a linear regression.

Dense(3 -> 8) -> Dense(8 -> 8) -> Dense(8 -> 1) with no activation computes
x W1 W2 W3 + (b1 W2 W3 + b2 W3 + b3): one linear map. Trained by full-batch gradient
descent on the MSE it ends at the closed-form least-squares solution; the script
prints the collapsed weights next to the normal-equations ones and the gap.

    python examples/linear_mlp_is_linear.py [--out DIR] [--quick]
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from _common import parse_args, plt, save
from graphc import losses, nn, optim


def collapse(model: nn.Sequential) -> tuple[np.ndarray, np.ndarray]:
    """The single (weight, bias) a stack of activation-free Dense layers computes."""
    w, b = np.eye(model[0].in_features), np.zeros(model[0].in_features)
    for layer in model:
        w, b = w @ layer.weight.value, b @ layer.weight.value + layer.bias.value
    return w, b


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(__doc__, argv)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = (x @ np.array([[1.5], [-2.0], [0.7]]) - 1.0 + 0.2 * rng.standard_normal((300, 1)))
    model = nn.Sequential(*(nn.Dense(a, b, rng=rng, dtype="float64") for a, b in [(3, 8), (8, 8), (8, 1)]))
    xs, ys = gc.placeholder((None, 3), "float64", name="x"), gc.placeholder((None, 1), "float64", name="y")
    loss = losses.mse(model(xs), ys)
    step = gc.function([xs, ys], loss, updates=optim.SGD(model.parameters(), lr=0.05).updates(loss))
    curve = [float(step(x, y)) for _ in range(150 if args.quick else 500)]

    w_cf, b_cf = gc.data.linear_regression(x, y)
    cf_loss = float(np.mean((x @ w_cf + b_cf - y) ** 2))
    w_mlp, b_mlp = collapse(model)
    print(f"{'':22s} {'w0':>9s} {'w1':>9s} {'w2':>9s} {'b':>9s} {'MSE':>10s}")
    print(f"{'closed form':22s} " + " ".join(f"{v:9.5f}" for v in [*w_cf[:, 0], b_cf[0]]) + f" {cf_loss:10.6f}")
    print(f"{'linear MLP, collapsed':22s} " + " ".join(f"{v:9.5f}" for v in [*w_mlp[:, 0], b_mlp[0]])
          + f" {curve[-1]:10.6f}")
    gap = float(np.max(np.abs(np.append(w_mlp - w_cf, b_mlp - b_cf))))
    print(f"largest coefficient gap {gap:.2e}; loss gap {curve[-1] - cf_loss:.2e} after {len(curve)} GD steps")

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy(np.maximum(np.array(curve) - cf_loss, 1e-16))
    ax.set_xlabel("GD step")
    ax.set_ylabel("MSE - closed-form MSE")
    ax.set_title("a 3-layer linear MLP converges to least squares")
    save(fig, args.out, "linear_mlp_is_linear.png")
    return {"coef_gap": gap, "loss_gap": curve[-1] - cf_loss, "closed_form_loss": cf_loss}


if __name__ == "__main__":
    main()
