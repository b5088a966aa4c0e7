"""Export the tiny sine MLP's training step as libmlp.so and mlp.h for train_mlp.c (see README.md).

The network is 1 -> 16 -> 1 (tanh) trained with SGD and momentum on y = sin(x); the C
program generates the same 64 points and calls the step in a loop.
Run: python3 export_mlp.py [folder]   (default: this folder)
"""
from __future__ import annotations

import os
import sys

import numpy as np

import graphc as gc

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


def main(folder: str = os.path.dirname(os.path.abspath(__file__))) -> gc.Function:
    step = build_step()
    out = gc.export_library(step, os.path.join(folder, "libmlp.so"), header=os.path.join(folder, "mlp.h"))
    print(f"wrote {out.library} and {out.header} (C symbols {out.prefix}_*)")
    return step


if __name__ == "__main__":
    main(*sys.argv[1:])
