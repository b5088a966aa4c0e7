"""The digits classifier and how to judge it: confusion matrix, precision, recall, F1.

An MLP 64 -> 64 -> 10 (ReLU, Adam, cross-entropy) on scikit-learn's 8x8 digits, 80/20 split.
Prints test accuracy, the confusion matrix (rows: true digit, columns: predicted), per-class
precision/recall/F1, and their macro and micro averages (micro P = R = F1 = accuracy for
single-label classification); saves the confusion matrix as a PNG.

    python examples/digits_metrics.py [--out DIR] [--quick]
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from _common import parse_args, plt, save
from graphc import losses, metrics, nn, optim


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(__doc__, argv)
    x, y = gc.data.digits()
    (x_tr, y_tr), (x_te, y_te) = gc.data.train_val_split(x, y, val_fraction=0.2, seed=0)
    model = nn.MLP([64, 64, 10], "relu", rng=0)
    gc.train.fit(model, losses.cross_entropy, optim.Adam(model.parameters(), lr=3e-3), x_tr, y_tr,
                 epochs=15 if args.quick else 30, batch_size=32, seed=0)
    pred = gc.train.classify(gc.train.predict(model, x_te))

    cm = metrics.confusion_matrix(y_te, pred, num_classes=10)
    scores = {name: {avg: fn(y_te, pred, average=avg) for avg in (None, "macro", "micro")}
              for name, fn in (("precision", metrics.precision), ("recall", metrics.recall), ("F1", metrics.f1))}
    accuracy = metrics.accuracy(y_te, pred)
    print(f"test accuracy {accuracy:.4f} on {len(y_te)} digits\n\nconfusion matrix (rows true, columns predicted)")
    print("     " + " ".join(f"{j:4d}" for j in range(10)))
    for i, row in enumerate(cm):
        print(f"{i:4d} " + " ".join(f"{v:4d}" for v in row))
    print(f"\n{'digit':>9s} " + " ".join(f"{j:6d}" for j in range(10)) + "   macro   micro")
    for name, by_avg in scores.items():
        print(f"{name:>9s} " + " ".join(f"{v:6.3f}" for v in by_avg[None])
              + f"  {by_avg['macro']:.4f}  {by_avg['micro']:.4f}")

    fig, ax = plt.subplots(figsize=(5, 4.5))
    image = ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if v > cm.max() / 2 else "black")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true",
           title=f"digits MLP, test accuracy {accuracy:.1%}")
    fig.colorbar(image)
    save(fig, args.out, "digits_confusion.png")
    averaged = {f"{name}_{avg}": v[avg] for name, v in scores.items() for avg in ("macro", "micro")}
    return {"accuracy": accuracy, **averaged}


if __name__ == "__main__":
    main()
