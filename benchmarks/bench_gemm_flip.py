"""Products x @ W.T (B's k axis contiguous) both ways round through OpenBLAS, and NumPy's time.

    python benchmarks/bench_gemm_flip.py [--rounds 25] [MxNxK ...]

graphc-llvm computes row-major C = A @ B as column-major C^T = B^T A^T, unless
`matmul.flip_pays` says the flipped call (column-major C = A B, then a tiled
transpose) is faster. This compiles each product twice in one process, once
with the flip disabled, and times the two alternately in blocks (medians of
`--rounds` blocks of 20 calls), so that the machine's slow phases hit both.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Callable

os.environ["GRAPHC_CACHE"] = "0"  # each variant compiles afresh (the IR cache would serve one for both)

import numpy as np  # noqa: E402

import graphc as gc  # noqa: E402
from graphc.backends.llvm import matmul  # noqa: E402


def step(m: int, n: int, k: int, flip: bool, rng: np.random.Generator) -> Callable[[], object]:
    saved = matmul.FLIP_ROWS
    matmul.FLIP_ROWS = saved if flip else 1 << 62
    try:
        x, w = gc.placeholder((m, k), "float32"), gc.placeholder((n, k), "float32")
        f = gc.function([x, w], x @ w.T, backend="llvm")
        xv, wv = rng.standard_normal((m, k), np.float32), rng.standard_normal((n, k), np.float32)
        np.testing.assert_allclose(f(xv, wv), xv @ wv.T, rtol=1e-3, atol=1e-3)
    finally:
        matmul.FLIP_ROWS = saved
    return lambda: f(xv, wv)


def median_us(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            call()
            start = time.perf_counter()
            for _ in range(20):
                call()
            times[name].append((time.perf_counter() - start) / 20 * 1e6)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shapes", nargs="*", default=["32x512x128", "32x128x512", "16x256x1024", "128x512x512"])
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("| M x N x K | usual us | flipped us | speedup | numpy us | flip chosen |")
    print("|---|---|---|---|---|---|")
    for shape in args.shapes:
        m, n, k = map(int, shape.split("x"))
        xv, wv = rng.standard_normal((m, k), np.float32), rng.standard_normal((n, k), np.float32)
        t = median_us({"usual": step(m, n, k, False, rng), "flipped": step(m, n, k, True, rng),
                       "numpy": lambda: xv @ wv.T}, args.rounds)  # noqa: B023 - called in this iteration
        print(f"| {shape} | {t['usual']:.1f} | {t['flipped']:.1f} | {t['usual'] / t['flipped']:.2f}x "
              f"| {t['numpy']:.1f} | {'yes' if matmul.flip_pays(m, n, k) else 'no'} |")


if __name__ == "__main__":
    main()
