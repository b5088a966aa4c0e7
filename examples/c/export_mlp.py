"""Export the tiny sine MLP's training step as libmlp.so and mlp.h for train_mlp.c (see README.md).

The network is 1 -> 16 -> 1 (tanh) trained with SGD and momentum on y = sin(x); the C
program generates the same 64 points and calls the step in a loop. It has no long loop, so
--quick changes nothing.

    python examples/c/export_mlp.py [--out DIR] [--quick]    (default: examples/out/)
"""
from __future__ import annotations

import os
import sys

import numpy as np

import graphc as gc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # examples/, for _common
from _common import parse_args, wrote  # noqa: E402

N = 64  # points: the C program's N


def data() -> tuple[np.ndarray, np.ndarray]:
    """The points train_mlp.c generates: x evenly spaced in [-3, 3], y = sin(x)."""
    x = (-3.0 + 6.0 * np.arange(N) / (N - 1)).astype(np.float32)[:, None]
    return x, np.sin(x.astype(np.float64)).astype(np.float32)


def build_step() -> gc.Function:
    rng = np.random.default_rng(0)
    x, y = gc.placeholder((N, 1), name="x"), gc.placeholder((N, 1), name="y")
    w1 = gc.parameter(rng.normal(0, 1, (1, 16)).astype(np.float32), name="w1")
    b1 = gc.parameter(np.zeros(16, np.float32), name="b1")
    w2 = gc.parameter(rng.normal(0, 0.25, (16, 1)).astype(np.float32), name="w2")
    b2 = gc.parameter(np.zeros(1, np.float32), name="b2")
    loss = gc.mean(gc.square(gc.tanh(x @ w1 + b1) @ w2 + b2 - y))
    updates = gc.optim.Momentum([w1, b1, w2, b2], lr=0.1, momentum=0.9).updates(loss)
    return gc.function([x, y], loss, updates=updates)


def main(argv: list[str] | None = None) -> gc.Function:
    """Write libmlp.so and mlp.h into --out; return the step they hold (at its initial values)."""
    folder = parse_args(__doc__, argv).out
    step = build_step()
    out = gc.export_library(step, os.path.join(folder, "libmlp.so"), header=os.path.join(folder, "mlp.h"))
    wrote(out.library)
    wrote(out.header)
    print(f"C symbols {out.prefix}_*")
    return step


if __name__ == "__main__":
    main()
