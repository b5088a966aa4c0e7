"""Compile time against time per step, per backend: the numbers of docs/backends.md, "Which backend when".

    python benchmarks/backend_tradeoff.py [--backends numpy llvm] [--steps 100] [--blocks 7]

The lectures' sine MLP step (2 -> 64 -> 64 -> 1, ReLU, Adam, batch 32). Each backend runs in a fresh
process with an empty compile cache (cold), and llvm once more with the cache that run left (warm):
"first call" is building the step (gradient, optimizer updates, gc.function) and its first call; "step"
the median over `--blocks` blocks of `--steps` calls.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def measure(backend: str, steps: int, blocks: int) -> None:
    """One backend in this process: print the first call's and a step's time."""
    import graphc as gc
    x, y = gc.data.sine(32, seed=0)
    model = gc.nn.MLP([2, 64, 64, 1], rng=0)
    xs, ys = gc.placeholder((None, 2), name="x"), gc.placeholder((None, 1), name="y")
    start = time.perf_counter()
    loss = gc.losses.mse(model(xs), ys)
    step = gc.function([xs, ys], loss, updates=gc.optim.Adam(model.parameters(), lr=1e-3).updates(loss),
                       backend=backend)
    step(x, y)
    first = time.perf_counter() - start
    times = []
    for _ in range(blocks):
        t = time.perf_counter()
        for _ in range(steps):
            step(x, y)
        times.append((time.perf_counter() - t) / steps)
    print(f"{step.backend:6s} first call {first * 1e3:6.0f} ms   step {statistics.median(times) * 1e6:8.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["numpy", "llvm"])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--blocks", type=int, default=7)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.child, args.steps, args.blocks)
        return
    for backend in args.backends:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, GRAPHC_CACHE_DIR=cache)
            runs = ("cold", "warm") if backend.startswith("llvm") else ("cold",)
            for run in runs:
                print(f"{run}: ", end="", flush=True)
                subprocess.run([sys.executable, __file__, "--child", backend, "--steps", str(args.steps),
                                "--blocks", str(args.blocks)], env=env, check=True)


if __name__ == "__main__":
    main()
