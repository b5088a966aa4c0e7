"""Draw the lecture's smallest MLP: its forward graph, its gradient graph, and the training step.

    python examples/visualize_mlp.py [--out DIR] [--quick]  # writes the pictures (default: examples/out/)
    python examples/visualize_mlp.py --out docs/images      # regenerates the documentation's pictures
    graphc viz examples/visualize_mlp.py:step --stage gradients --out step.svg

It has no long loop, so --quick changes nothing.

One scalar input x, target y, and four scalar parameters:
    n = sigmoid(w1*x + b1),  m = sigmoid(w2*n + b2),  L = (y - m)^2
"""
from __future__ import annotations

import os

import numpy as np

import graphc as gc

x = gc.placeholder((), name="x")
y = gc.placeholder((), name="y")
w1 = gc.parameter(np.float32(0.5), name="w1")
b1 = gc.parameter(np.float32(0.1), name="b1")
w2 = gc.parameter(np.float32(-0.3), name="w2")
b2 = gc.parameter(np.float32(0.2), name="b2")
n = gc.sigmoid(w1 * x + b1)
m = gc.sigmoid(w2 * n + b2)
L = gc.square(y - m)

params = [w1, b1, w2, b2]
grads = gc.grad(L, params)
step = gc.function([x, y], L, updates=[(p, p - 0.1 * g) for p, g in zip(params, grads)])


def main(argv: list[str] | None = None) -> list[str]:
    """Write the pictures into --out; return their paths."""
    from _common import parse_args, wrote  # here, not at the top: `graphc viz` runs this file without matplotlib
    out = parse_args(__doc__, argv).out
    written = []

    def save(obj, name: str, **options) -> None:
        gc.viz.save(obj, os.path.join(out, name), **options)
        written.append(wrote(os.path.join(out, name)))

    save(L, "mlp_forward.svg")
    save(step, "mlp_gradients.svg", stage="gradients")
    save(step, "mlp_path_w1.svg", stage="gradients", highlight=(w1, L), groups={"layer 1": [w1 * x, w1 * x + b1, n]})
    try:  # the graph after each optimization pass, as the page's timeline
        from graphc.passes import optimize
        snapshots = optimize(step.graph, snapshots=True)[1].snapshots()
    except ImportError:
        snapshots = []
    save(step, "mlp.html", snapshots=snapshots)
    for stage in ("optimized", "fused"):
        try:
            save(step, f"mlp_{stage}.svg", stage=stage)
        except gc.viz.StageUnavailable as e:
            print(f"skipped the {stage} stage: {e.what}")
    return written


if __name__ == "__main__":
    main()
