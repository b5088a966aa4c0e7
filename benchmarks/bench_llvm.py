"""Training-step benchmarks: graphc-llvm vs graphc-numpy vs PyTorch eager, and float32 GEMM at 1024^3.

W1: sine MLP 2-64-64-1 (sigmoid), MSE, full batch 1000, SGD.
W3: MLP 784-512-512-10 (ReLU), softmax cross-entropy, batch 128, Adam.
Same initial weights everywhere; the first losses are checked to agree.
Run: python3 benchmarks/bench_llvm.py  (prints a Markdown table)
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")  # before SciPy's OpenBLAS loads (see blas.py)

import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import graphc as gc  # noqa: E402


def median_time(step, repeats: int) -> float:
    step()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def workload(name: str):
    rng = np.random.default_rng(0)
    if name == "W1":
        sizes, act, batch = [2, 64, 64, 1], "sigmoid", 1000
        x = rng.uniform(-1, 1, (batch, 2)).astype(np.float32)
        y = (np.sin(3 * x[:, :1]) * np.cos(x[:, 1:])).astype(np.float32)
    else:
        sizes, act, batch = [784, 512, 512, 10], "relu", 128
        x = rng.standard_normal((batch, 784)).astype(np.float32)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    weights = [((rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32), np.zeros(b, np.float32))
               for a, b in zip(sizes, sizes[1:])]
    return act, weights, x, y


def graphc_step(name: str, backend: str):
    act, weights, xv, yv = workload(name)
    params = [gc.parameter(w.copy(), f"W{i}") for i, (w, _) in enumerate(weights)]
    biases = [gc.parameter(b.copy(), f"b{i}") for i, (_, b) in enumerate(weights)]
    x, y = gc.placeholder(xv.shape, "float32"), gc.placeholder(yv.shape, "float32")
    h = x
    for i, (w, b) in enumerate(zip(params, biases)):
        h = h @ w + b
        if i < len(params) - 1:
            h = getattr(gc, act)(h)
    ps = params + biases
    if name == "W1":
        loss = gc.mean(gc.square(h - y))
        updates = [(p, p - 0.1 * g) for p, g in zip(ps, gc.grad(loss, ps))]
    else:
        loss = gc.losses.cross_entropy(h, y)
        updates = gc.optim.Adam(ps, lr=1e-3).updates(loss)
    fn = gc.function([x, y], loss, updates=updates, backend=backend)
    t = time.perf_counter()
    first = float(fn(xv, yv))
    return first, time.perf_counter() - t, lambda: fn(xv, yv)


def torch_step(name: str):
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    act, weights, xv, yv = workload(name)
    ws = [torch.tensor(w, requires_grad=True) for w, _ in weights]
    bs = [torch.tensor(b, requires_grad=True) for _, b in weights]
    x, y = torch.tensor(xv), torch.tensor(yv)
    opt = torch.optim.SGD(ws + bs, lr=0.1) if name == "W1" else torch.optim.Adam(ws + bs, lr=1e-3)
    fact = torch.sigmoid if act == "sigmoid" else torch.relu

    def step():
        h = x
        for i, (w, b) in enumerate(zip(ws, bs)):
            h = h @ w + b
            if i < len(ws) - 1:
                h = fact(h)
        loss = torch.mean((h - y) ** 2) if name == "W1" else torch.nn.functional.cross_entropy(h, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.detach())
    return step(), step


def gemm_gflops(n: int = 1024) -> tuple[float, float]:
    """GFLOP/s of graphc-llvm's float32 a @ b and of NumPy's matmul at n^3."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, n, n)).astype(np.float32)
    x, y = gc.placeholder((n, n), "float32"), gc.placeholder((n, n), "float32")
    fn = gc.function([x, y], x @ y, backend="llvm")
    flops = 2 * n ** 3 / 1e9
    return flops / median_time(lambda: fn(a, b), 20), flops / median_time(lambda: a @ b, 20)


def main() -> None:
    import llvmlite
    import torch
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores; "
          f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
          f"llvmlite {llvmlite.__version__}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}\n")
    print("| workload | graphc-llvm step | graphc-numpy step | torch eager step | llvm cold compile | "
          "numpy cold compile | first loss (llvm / numpy / torch) |")
    print("|---|---|---|---|---|---|---|")
    for name, repeats in (("W1", 50), ("W3", 50)):
        l_llvm, c_llvm, s_llvm = graphc_step(name, "llvm")
        l_np, c_np, s_np = graphc_step(name, "numpy")
        l_t, s_t = torch_step(name)
        assert abs(l_llvm - l_t) <= 1e-4 * abs(l_t) and abs(l_np - l_t) <= 1e-4 * abs(l_t), (l_llvm, l_np, l_t)
        ms = [1e3 * median_time(s, repeats) for s in (s_llvm, s_np, s_t)]
        print(f"| {name} | {ms[0]:.3f} ms | {ms[1]:.3f} ms | {ms[2]:.3f} ms | {c_llvm:.2f} s | {c_np:.2f} s | "
              f"{l_llvm:.6f} / {l_np:.6f} / {l_t:.6f} |")
    ours, numpys = gemm_gflops()
    print(f"\nfloat32 GEMM 1024^3: graphc-llvm (SciPy sgemm pointer) {ours:.0f} GFLOP/s; numpy matmul {numpys:.0f} GFLOP/s")


if __name__ == "__main__":
    main()
