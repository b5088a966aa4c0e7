"""Draw a real model's training step readably: LeNet-5 with Adam, as module boxes you can open.

    python examples/visualize_lenet.py [--out DIR] [--quick]  # writes lenet.html and lenet.svg
    graphc viz examples/visualize_lenet.py:step --stage gradients --expand 1 --out lenet.svg

The page starts with every module, its gradient ("∇ features") and the optimizer ("Adam") closed;
double-click a box to open it, type in the search box (an op, a parameter's module path such as
`features.0.weight`, or `visualize_lenet.py:30`), click a node to light up its gradient. Its pass
timeline steps through the optimizer's passes. It has no long loop, so --quick changes nothing.
"""
from __future__ import annotations

import os

import graphc as gc
from graphc import losses, nn, optim


class LeNet5(nn.Module):
    """LeNet-5 for 28 x 28 digits: two convolution blocks, then three dense layers."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2, rng=0), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, rng=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Dense(16 * 5 * 5, 120, "relu", rng=2), nn.Dense(120, 84, "relu", rng=3), nn.Dense(84, 10, rng=4))

    def forward(self, x: gc.Tensor) -> gc.Tensor:
        h = self.features(x)
        h = gc.reshape(h, (h.shape[0], 16 * 5 * 5))
        return self.classifier(h)


model = LeNet5()
images = gc.placeholder((32, 1, 28, 28), name="images")
labels = gc.placeholder((32,), "int64", name="labels")
loss = losses.cross_entropy(model(images), labels)
adam = optim.Adam(model.parameters(), lr=1e-3)
step = gc.function([images, labels], loss, updates=adam.updates(loss))


def main(argv: list[str] | None = None) -> list[str]:
    """Write the page (with the pass timeline) and a Graphviz drawing into --out; return their paths."""
    from _common import parse_args, wrote  # here, not at the top: `graphc viz` runs this file without matplotlib
    out = parse_args(__doc__, argv).out
    from graphc.passes import optimize
    snapshots = optimize(step.graph, snapshots=True)[1].snapshots()
    page = os.path.join(out, "lenet.html")
    gc.viz.save(step, page, stage="gradients", snapshots=snapshots, title="LeNet-5 training step (Adam)")
    written = [wrote(page)]
    drawing = os.path.join(out, "lenet.dot")
    gc.viz.save(step, drawing, stage="gradients", expand=1, hide_optimizer=True)
    written.append(wrote(drawing))
    return written


if __name__ == "__main__":
    main()
