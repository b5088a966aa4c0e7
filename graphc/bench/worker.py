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
import tempfile
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np

from . import workloads

#: framework -> the modules it needs, imported before the cold-compile clock starts (as `import torch`
#: brings torch.nn and torch.optim, graphc's layers, optimizers and backend modules are imported first)
GRAPHC = ("graphc.nn", "graphc.losses", "graphc.optim")
#: torch.compile's compiler stack (dynamo, inductor), which torch imports lazily on the first compile
TORCH_COMPILE = ("torch", "torch._dynamo", "torch._inductor.compile_fx")
IMPORTS = {"graphc-llvm": GRAPHC + ("graphc.backends.llvm.runtime",),
           "graphc-numpy": GRAPHC + ("graphc.backends.numpy",),
           "torch": ("torch",), "torch-compile": TORCH_COMPILE, "torch-compile-full": TORCH_COMPILE,
           "jax": ("jax",), "pytensor": ("pytensor",)}


def builder(framework: str, threads: int) -> Callable[[workloads.Problem], Callable[[], object]]:
    """The function that builds `framework`'s training step for a problem."""
    if framework.startswith("graphc-"):
        from . import fw_graphc
        return lambda p: fw_graphc.build(p, framework.removeprefix("graphc-"))
    if framework.startswith("torch-compile"):
        from . import fw_torch_compile
        return lambda p: fw_torch_compile.build(p, threads, full=framework == "torch-compile-full")
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


@contextmanager
def fresh_inductor_cache() -> Iterator[None]:
    """torch.compile without its on-disk caches: inductor's cache dir (generated and compiled kernels) in a new
    temporary folder, removed afterwards, and its FX-graph and AOTAutograd caches off, so that a worker's
    compile is cold; set before torch loads, which reads them then, and restored after."""
    with tempfile.TemporaryDirectory(prefix="graphc-bench-inductor-") as tmp:
        settings = {"TORCHINDUCTOR_CACHE_DIR": tmp, "TORCHINDUCTOR_FX_GRAPH_CACHE": "0",
                    "TORCHINDUCTOR_AUTOGRAD_CACHE": "0"}
        saved = {var: os.environ.get(var) for var in settings}
        os.environ.update(settings)
        try:
            yield
        finally:
            for var, value in saved.items():
                if value is None:
                    os.environ.pop(var, None)
                else:
                    os.environ[var] = value


def kernel_profile(workload: str, calls: int = 20) -> dict:
    """Where graphc-llvm's step time goes: fn.profile() of the workload's step (a profiling build of the same
    program), its mean step and kernel milliseconds by kernel kind, for the report's roofline section."""
    from . import fw_graphc
    p = workloads.problem(workload)
    fn = fw_graphc.step_function(p, "llvm")
    prof = fn.profile(p.x, p.y, calls=calls)
    return {"step_ms": 1e3 * prof.step_seconds, "kinds_ms": {k: 1e3 * s for k, s in prof.by_kind().items()}}


def train_step(framework: str, workload: str, repeats: int, budget_s: float, threads: int) -> dict:
    """Cold compile (build + first call), the first loss and the median step time of one framework."""
    if framework.startswith("torch-compile"):
        with fresh_inductor_cache():
            return _train_step(framework, workload, repeats, budget_s, threads)
    return _train_step(framework, workload, repeats, budget_s, threads)


def _train_step(framework: str, workload: str, repeats: int, budget_s: float, threads: int) -> dict:
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
            if job.get("profile"):
                out["profile"] = kernel_profile(job["workload"])
    except NotImplementedError as e:  # a framework without an adapter for this workload: a reason, not a failure
        out = {"unsupported": str(e)}
    except Exception as e:  # noqa: BLE001 - any failure becomes the table cell's reason
        message = " ".join(str(e).split())  # one line: it becomes a table cell
        out = {"error": f"{type(e).__name__}: {message}"[:300]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
