"""Draw the lecture's smallest MLP: its forward graph, its gradient graph, and the training step.

    python examples/visualize_mlp.py [OUT_DIR]        # writes the pictures (default: docs/images)
    graphc viz examples/visualize_mlp.py:step --stage gradients --out step.svg

One scalar input x, target y, and four scalar parameters:
    n = sigmoid(w1*x + b1),  m = sigmoid(w2*n + b2),  L = (y - m)^2
"""
import os
import sys

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


def main(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    gc.viz.save(L, os.path.join(out, "mlp_forward.svg"))
    gc.viz.save(step, os.path.join(out, "mlp_gradients.svg"), stage="gradients")
    gc.viz.save(step, os.path.join(out, "mlp_path_w1.svg"), stage="gradients", highlight=(w1, L),
                groups={"layer 1": [w1 * x, w1 * x + b1, n]})
    try:  # the graph after each optimization pass, as the page's timeline
        from graphc.passes import optimize
        snapshots = optimize(step.graph, snapshots=True)[1].snapshots()
    except ImportError:
        snapshots = []
    gc.viz.save(step, os.path.join(out, "mlp.html"), snapshots=snapshots)
    for stage in ("optimized", "fused"):
        try:
            gc.viz.save(step, os.path.join(out, f"mlp_{stage}.svg"), stage=stage)
        except gc.viz.StageUnavailable as e:
            print(f"skipped the {stage} stage: {e.what}")
    print(f"wrote the pictures to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join("docs", "images"))
