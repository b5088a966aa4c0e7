"""Runs the workloads in fresh worker processes, one per framework, and checks the first losses agree.

A shared machine has slow phases that last minutes. With `rounds` > 1 every
workload runs its frameworks in turn that many times (a fresh process and a
fresh disk cache each time), and the report takes the median of the rounds:
a slow phase then lands on every framework alike instead of on whichever ran
during it.
"""
from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Callable

from .peaks import Peaks
from .peaks import measure as measure_peaks
from .workloads import WORKLOADS

FRAMEWORKS = ("graphc-llvm", "graphc-numpy", "torch", "torch-compile", "torch-compile-full", "jax", "pytensor")
#: graphc's own builds: `graphc bench --check` requires both to compile and run every workload
GRAPHC_BUILDS = ("graphc-llvm", "graphc-numpy")
#: the initial-loss tolerance across frameworks (float32 sums in different orders)
LOSS_RTOL = 1e-4


@dataclass
class Settings:
    """How much to measure: steps per median, seconds per median, threads, which workloads and frameworks."""

    workloads: tuple[str, ...] = tuple(WORKLOADS)
    frameworks: tuple[str, ...] = FRAMEWORKS
    repeats: int = 100
    budget_s: float = 10.0
    rounds: int = 3             # runs of every framework per workload, in turn; the report takes their median
    threads: int = 2
    gemm_n: int = 1024          # 0: skip the GEMM line
    pytensor_python: str | None = None  # an interpreter with PyTensor and Numba (Numba's llvmlite is not graphc's)
    timeout_s: float = 600.0
    roofline: bool = True       # measure this machine's peaks for the roofline table (graphc.bench.roofline)

    @classmethod
    def quick(cls, **kw) -> "Settings":
        return cls(**{"repeats": 10, "budget_s": 2.0, "rounds": 1, **kw})

    @classmethod
    def check(cls, **kw) -> "Settings":
        """`graphc bench --check`: a few steps per framework, no GEMM or peaks; enough to see that every workload
        compiles and runs and to compare graphc-llvm's step with graphc-numpy's, not to time anything."""
        return cls(**{"repeats": 5, "budget_s": 0.5, "rounds": 1, **kw, "gemm_n": 0, "roofline": False})


@dataclass
class Results:
    """Per workload, per framework: the worker's JSON (or {"na": reason}); plus GEMM rates and loss errors."""

    settings: Settings
    runs: dict[str, dict[str, dict]] = field(default_factory=dict)
    gemm: dict[str, dict] = field(default_factory=dict)
    loss_errors: list[str] = field(default_factory=list)
    peaks: Peaks | None = None  # this machine's measured peaks, when settings.roofline


def environment(threads: int, cache_dir: str | None = None) -> dict[str, str]:
    """The workers' environment: thread counts (torch.compile's compile workers too) fixed before any library
    loads, graphc's cache dir."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TORCHINDUCTOR_COMPILE_THREADS"):
        env[var] = str(threads)
    env["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={threads}"
    if cache_dir is not None:
        env["GRAPHC_CACHE_DIR"] = cache_dir
    return env


def run_worker(job: dict, env: dict[str, str], timeout_s: float, python: str = sys.executable,
               module: str = "graphc.bench.worker") -> dict:
    """The result of the worker `module` (the training-step worker, or graphc.bench.onnx_worker), or
    {"na": why} when it failed, timed out or printed no result."""
    cmd = [python, "-m", module, json.dumps(job)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"na": f"timed out after {timeout_s:.0f} s"}
    except OSError as e:
        return {"na": f"cannot start {python}: {e}"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"na": f"failed (exit {proc.returncode}): {tail[:200]}"}
    out = json.loads(lines[-1])
    if "unsupported" in out:
        return {"na": out["unsupported"]}
    return {"na": f"failed: {out['error']}"} if "error" in out else out


def _missing(framework: str) -> str | None:
    module = {"torch": "torch", "torch-compile": "torch", "torch-compile-full": "torch", "jax": "jax",
              "pytensor": "pytensor"}.get(framework)
    return "not installed" if module and importlib.util.find_spec(module) is None else None


def measure(name: str, framework: str, s: Settings, cache_dir: str) -> dict:
    """One framework on one workload; graphc-llvm also gets a warm start from the cache its cold run filled."""
    python = s.pytensor_python if framework == "pytensor" and s.pytensor_python else sys.executable
    why = _missing(framework) if python == sys.executable else None
    if why:
        return {"na": why}
    job = {"framework": framework, "workload": name, "repeats": s.repeats, "budget_s": s.budget_s,
           "threads": s.threads}
    env = environment(s.threads, cache_dir)
    out = run_worker(dict(job, profile=s.roofline and framework == "graphc-llvm"), env, s.timeout_s, python)
    if framework == "graphc-llvm" and "na" not in out:
        warm = run_worker(dict(job, repeats=0), env, s.timeout_s)
        out["warm_s"] = warm.get("cold_s")
    return out


def check_losses(name: str, runs: dict[str, dict]) -> list[str]:
    """Why the frameworks' first losses disagree (relative to graphc-numpy, else the first one), if they do."""
    losses = {fw: r["first_loss"] for fw, r in runs.items() if "first_loss" in r}
    if not losses:
        return []
    ref_fw = "graphc-numpy" if "graphc-numpy" in losses else next(iter(losses))
    ref = losses[ref_fw]
    return [f"{name}: {fw} first loss {v:.7g} != {ref_fw} {ref:.7g} (rtol {LOSS_RTOL})"
            for fw, v in losses.items() if not abs(v - ref) <= LOSS_RTOL * abs(ref)]


def sanity(res: Results) -> list[str]:
    """What `graphc bench --check` fails on: the first losses disagreeing (res.loss_errors), a graphc build that did
    not compile or run a workload, and graphc-llvm's step slower than graphc-numpy's, the interpreter it must beat
    (a sanity ratio that catches a native build gone badly wrong, not a timing target)."""
    problems = list(res.loss_errors)
    for name, runs in res.runs.items():
        problems += [f"{name}: {fw} {runs[fw]['na']}" for fw in GRAPHC_BUILDS if "na" in runs.get(fw, {})]
        llvm, numpy = (runs.get(fw, {}).get("step_ms") for fw in GRAPHC_BUILDS)
        if llvm is not None and numpy is not None and llvm > numpy:
            problems.append(f"{name}: graphc-llvm's step ({llvm:.3f} ms) is slower than graphc-numpy's "
                            f"({numpy:.3f} ms)")
    return problems


#: the timings a result holds, each reported as its median over the rounds
TIMES = ("step_ms", "cold_s", "warm_s")


def combine(outs: list[dict]) -> dict:
    """One framework's rounds as one result: the median of each timing, every round's step time kept
    (`rounds_step_ms`); a round that failed makes the whole result that failure."""
    failed = [o for o in outs if "na" in o]
    if failed:
        return failed[0]
    out = dict(outs[0])
    for key in TIMES:
        values = [o[key] for o in outs if o.get(key) is not None]
        if values:
            out[key] = statistics.median(values)
    out["rounds_step_ms"] = [o["step_ms"] for o in outs if "step_ms" in o]
    profiles = [o["profile"] for o in outs if "profile" in o]
    if profiles:  # graphc-llvm's kernel times by kind: the median of each over the rounds
        out["profile"] = {"step_ms": statistics.median(p["step_ms"] for p in profiles),
                          "kinds_ms": {k: statistics.median(p["kinds_ms"].get(k, 0.0) for p in profiles)
                                       for k in profiles[0]["kinds_ms"]}}
    return out


def run(s: Settings, log: Callable[[str], None] = lambda msg: None) -> Results:
    """Every selected workload on every selected framework (`s.rounds` times, in turn), then the GEMM
    rates; each in its own process; then, in this process, the machine's peaks for the roofline."""
    res = Results(s)
    with tempfile.TemporaryDirectory(prefix="graphc-bench-") as tmp:
        for name in s.workloads:
            outs: dict[str, list[dict]] = {fw: [] for fw in s.frameworks}
            for r in range(s.rounds):
                for fw in s.frameworks:
                    log(f"{name} {fw} (round {r + 1} of {s.rounds}) ...")
                    outs[fw].append(measure(name, fw, s, os.path.join(tmp, f"{name}-{r}")))
            runs = res.runs[name] = {fw: combine(o) for fw, o in outs.items()}
            res.loss_errors += check_losses(name, runs)
        if s.gemm_n and "graphc-llvm" in s.frameworks:
            for dtype in ("float32", "float64"):
                log(f"GEMM {dtype} {s.gemm_n}^3 ...")
                job = {"gemm": dtype, "n": s.gemm_n, "threads": s.threads}
                res.gemm[dtype] = run_worker(job, environment(s.threads, tmp), s.timeout_s)
    if s.roofline:
        log(f"peak FMA rate and memory bandwidth on {s.threads} threads ...")
        res.peaks = measure_peaks(s.threads)
    return res
