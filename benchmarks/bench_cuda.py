"""The cuda backend on a GPU: W3 and W4 training steps vs PyTorch CUDA eager, and a large fused
elementwise kernel vs a device-to-device copy of the same bytes (the memory-bandwidth bound).

Run on a GPU machine: python3 benchmarks/bench_cuda.py [--repeats 50] [--elements 67108864]
Each time is the median over repeats of one step followed by a device synchronize; inputs are already on
the device for both frameworks (graphc takes CuPy arrays in place). Losses are printed to show both
frameworks train the same network from the same weights (graphc.bench.workloads).
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from typing import Callable

import numpy as np

import graphc as gc
from graphc.backends.cuda import to_numpy
from graphc.bench import fw_graphc, fw_torch, workloads


def median_ms(step: Callable[[], object], sync: Callable[[], None], repeats: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def workload_row(name: str, repeats: int) -> str:
    import cupy
    import torch
    p = workloads.problem(name)
    on_device = dataclasses.replace(p, x=cupy.asarray(p.x), y=cupy.asarray(p.y))
    ours = fw_graphc.build(on_device, "cuda")
    first = float(to_numpy(ours()))
    ours_ms = median_ms(ours, cupy.cuda.get_current_stream().synchronize, repeats)
    torch.set_default_device("cuda")
    try:
        theirs = fw_torch.build(p, threads=1)
        torch_first = float(theirs())
        torch_ms = median_ms(theirs, torch.cuda.synchronize, repeats)
    finally:
        torch.set_default_device("cpu")
    return (f"| {name}: {p.workload.title} | {ours_ms:.3f} ms | {torch_ms:.3f} ms | {torch_ms / ours_ms:.2f}x "
            f"| {first:.6f} / {torch_first:.6f} |")


def bandwidth_rows(n: int, repeats: int) -> list[str]:
    """A fused elementwise kernel reading and writing n float32 vs cupy's device-to-device copy."""
    import cupy
    x = cupy.asarray(np.random.default_rng(0).standard_normal(n).astype(np.float32))
    p = gc.placeholder((n,), "float32")
    f = gc.function([p], gc.tanh(p) * 0.5 + p * p, backend="cuda")
    out = cupy.empty_like(x)
    sync = cupy.cuda.get_current_stream().synchronize
    kernel_ms = median_ms(lambda: f(x), sync, repeats)
    copy_ms = median_ms(lambda: cupy.copyto(out, x), sync, repeats)
    gbs = lambda ms: 2 * n * 4 / (ms * 1e-3) / 1e9  # noqa: E731 - bytes read + written per second
    return [f"| fused elementwise tanh(x)*0.5 + x*x, {n} float32 (one graphc call) | {kernel_ms:.3f} ms "
            f"| {gbs(kernel_ms):.0f} GB/s |",
            f"| device-to-device copy, same bytes | {copy_ms:.3f} ms | {gbs(copy_ms):.0f} GB/s |"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--elements", type=int, default=1 << 26)
    args = ap.parse_args()
    import cupy
    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    print(f"GPU: {props['name'].decode()}; CuPy {cupy.__version__}")
    print("\n| workload | graphc cuda | torch cuda eager | speedup | first loss graphc / torch |")
    print("|---|---|---|---|---|")
    for name in ("W3", "W4"):
        print(workload_row(name, args.repeats))
    print("\n| kernel | time | bandwidth |\n|---|---|---|")
    for row in bandwidth_rows(args.elements, args.repeats):
        print(row)


if __name__ == "__main__":
    main()
