"""One measurement in a fresh process: `python -m graphc.bench.worker '{"framework": ..., ...}'`.

The suite starts one worker per framework and workload so that no framework's caches, threads
or JIT state leak into another's timings; the worker prints its result as one JSON line.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import statistics
import sys
import time
from typing import Callable

import numpy as np

from . import workloads

#: framework -> the modules it needs, imported before the cold-compile clock starts (as `import torch`
#: brings torch.nn and torch.optim, graphc's layers, optimizers and backend modules are imported first)
GRAPHC = ("graphc.nn", "graphc.losses", "graphc.optim")
IMPORTS = {"graphc-llvm": GRAPHC + ("graphc.backends.llvm.runtime",),
           "graphc-numpy": GRAPHC + ("graphc.backends.numpy",),
           "torch": ("torch",), "jax": ("jax",), "pytensor": ("pytensor",)}


def builder(framework: str, threads: int) -> Callable[[workloads.Problem], Callable[[], object]]:
    """The function that builds `framework`'s training step for a problem."""
    if framework.startswith("graphc-"):
        from . import fw_graphc
        return lambda p: fw_graphc.build(p, framework.removeprefix("graphc-"))
    module = importlib.import_module(f"graphc.bench.fw_{framework}")
    return lambda p: module.build(p, threads)


def median_ms(step: Callable[[], object], repeats: int, budget_s: float) -> tuple[float, int]:
    """Median milliseconds of `step` over up to `repeats` calls (fewer once `budget_s` is spent), after warm-up."""
    for _ in range(max(2, repeats // 10)):
        step()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats and (len(times) < 3 or time.perf_counter() - start < budget_s):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times), len(times)


def pytensor_flags() -> str:
    """PyTensor's settings: Numba when it is importable (PyTensor's default), else its C backend; float32."""
    mode = "mode=NUMBA" if importlib.util.find_spec("numba") else "mode=FAST_RUN,linker=cvm"
    return f"{mode},floatX=float32"


def train_step(framework: str, workload: str, repeats: int, budget_s: float, threads: int) -> dict:
    """Cold compile (build + first call), the first loss and the median step time of one framework."""
    if framework == "pytensor":
        os.environ.setdefault("PYTENSOR_FLAGS", pytensor_flags())  # read when PyTensor loads
    for module in IMPORTS[framework]:
        importlib.import_module(module)
    build = builder(framework, threads)
    problem = workloads.problem(workload)
    t = time.perf_counter()
    step = build(problem)
    first = float(np.asarray(step()))
    out = {"cold_s": time.perf_counter() - t, "first_loss": first}
    if framework == "pytensor":
        out["flags"] = os.environ["PYTENSOR_FLAGS"]
    if repeats:
        out["step_ms"], out["steps"] = median_ms(step, repeats, budget_s)
    return out


def gemm(dtype: str, n: int, threads: int) -> dict:
    """GFLOP/s of an n^3 matmul in graphc-llvm, NumPy and (when installed) PyTorch."""
    import graphc as gc
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, n, n)).astype(dtype)
    x, y = gc.placeholder((n, n), dtype), gc.placeholder((n, n), dtype)
    fn = gc.function([x, y], x @ y, backend="llvm")
    runs = {"graphc-llvm": lambda: fn(a, b), "numpy": lambda: a @ b}
    if importlib.util.find_spec("torch"):
        import torch
        torch.set_num_threads(threads)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        runs["torch"] = lambda: ta @ tb
    return {name: 2 * n ** 3 / 1e6 / ms for name, ms in block_medians(runs, blocks=3, calls=10).items()}


def block_medians(runs: dict[str, Callable[[], object]], blocks: int, calls: int) -> dict[str, float]:
    """Each callable's median milliseconds: the median over `blocks` rounds, which take the callables
    in turn, of the median of `calls` consecutive calls (after warm-up calls). Consecutive, because a
    framework's thread pool keeps spinning a while after its last call (OpenMP's block time) and
    slows whatever runs next; in rounds, so that a slow phase of the machine costs a block, not one
    contender's whole measurement."""
    medians: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(blocks):
        for name, run in runs.items():
            medians[name].append(median_ms(run, calls, 5.0)[0])
    return {name: statistics.median(ms) for name, ms in medians.items()}


def main(argv: list[str]) -> int:
    job = json.loads(argv[0])
    try:
        if "gemm" in job:
            out = gemm(job["gemm"], job["n"], job["threads"])
        else:
            out = train_step(job["framework"], job["workload"], job["repeats"], job["budget_s"], job["threads"])
    except Exception as e:  # noqa: BLE001 - any failure becomes the table cell's reason
        out = {"error": f"{type(e).__name__}: {e}"[:300]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
