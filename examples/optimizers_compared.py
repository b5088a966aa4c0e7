"""SGD, momentum, Nesterov, AdaGrad, RMSProp and Adam on one problem.

The same MLP 2 -> 32 -> 32 -> 1 (tanh, same initial weights) fitted to the sine data
(standardized inputs) with minibatches of 32 in the same order; each optimizer at a
usual learning rate. Prints the final training loss of each; one plot of all curves.

    python examples/optimizers_compared.py [--out DIR] [--quick]
"""
from __future__ import annotations


import graphc as gc
from _common import parse_args, plt, save
from graphc import losses, nn, optim

OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.05),
    "Momentum": lambda p: optim.Momentum(p, lr=0.01, momentum=0.9),
    "Nesterov": lambda p: optim.Nesterov(p, lr=0.01, momentum=0.9),
    "AdaGrad": lambda p: optim.AdaGrad(p, lr=0.05),
    "RMSProp": lambda p: optim.RMSProp(p, lr=0.003),
    "Adam": lambda p: optim.Adam(p, lr=0.01),
}


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(__doc__, argv)
    x, y = gc.data.sine(1000, seed=0)
    x = gc.data.Standardizer(x)(x)
    fig, ax = plt.subplots(figsize=(6, 4))
    final = {}
    for name, make in OPTIMIZERS.items():
        model = nn.MLP([2, 32, 32, 1], "tanh", rng=0)
        history = gc.train.fit(model, losses.mse, make(model.parameters()), x, y,
                               epochs=15 if args.quick else 60, batch_size=32, seed=0)
        final[name] = history["loss"][-1]
        print(f"{name:9s} final training loss {final[name]:.4f}")
        ax.semilogy(history["loss"], label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training MSE")
    ax.set_title("one problem, six optimizers")
    ax.legend()
    save(fig, args.out, "optimizers_compared.png")
    return final


if __name__ == "__main__":
    main()
