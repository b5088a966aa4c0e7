"""Data-parallel step time and scaling of bench workloads W3 and W4 (docs/distributed.md).

    python benchmarks/distributed.py                      # 1 and 2 ranks, W3 and W4, prints the tables
    python benchmarks/distributed.py --ranks 1 2 4 --steps 20 --json out.json

For each rank count N it runs itself under `mpiexec -n N` with one BLAS thread per rank
(OPENBLAS_NUM_THREADS=1) and times `graphc.distributed.DataParallelStep` on the workload's global
batch B split B/N per rank (llvm backend, the best of the steps): its three phases (this rank's
gradients into the buckets, the allreduce, the update) and the whole step; the one-process fused step
(`fw_graphc.step_function`) at batch B is the baseline. The 1-rank job also times the compute phases
at every local batch B/n (n = 1, 2, 4, ..., 64) for the model of step time on n machines:

    T(n) = compute(B/n) + alpha * log2(n) + 2 (n - 1) / n * bytes / bandwidth

(alpha: per-message latency, 5 us; bytes: what each rank allreduces per step; no overlap of the
allreduce with the backward pass: the gradients are reduced after the whole backward).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # graphc is imported by the ranks (worker), not by the launcher
    import numpy as np

    from graphc.distributed import DataParallelStep

WORKLOADS = ("W3", "W4")
ALPHA = 5e-6  # seconds per message step (a typical MPI latency over a data-center network)
BANDWIDTHS = {"10 Gb/s": 10e9 / 8, "100 Gb/s": 100e9 / 8}  # bytes per second
MACHINES = (2, 4, 8, 16, 32, 64)


def _phases(step: DataParallelStep, x: np.ndarray, y: np.ndarray, steps: int) -> dict[str, float]:
    """Best (least) seconds of each phase over `steps` steps (after 3 warm-up steps), each step's time the
    slowest rank's: on a machine shared with other jobs the best of several is the least disturbed."""
    times: dict[str, list[float]] = {"gradients": [], "allreduce": [], "update": [], "step": []}
    for i in range(steps + 3):
        step.world.comm.Barrier()
        t0 = time.perf_counter()
        buckets = step.local(x, y)
        t1 = time.perf_counter()
        step.reduce(buckets)
        t2 = time.perf_counter()
        step.apply(buckets)
        t3 = time.perf_counter()
        if i >= 3:
            slowest = max(step.world.gather((t1 - t0, t2 - t1, t3 - t2, t3 - t0)))  # the slowest rank sets the pace
            for k, v in zip(times, slowest):
                times[k].append(v)
    return {k: min(v) for k, v in times.items()}


def _step(w: Any, p: Any, rows: int) -> DataParallelStep:
    """The workload's data-parallel step on llvm, for `rows` rows per rank."""
    from graphc import distributed as dist
    from graphc.bench import fw_graphc
    net, x, y, loss, opt = fw_graphc.step_parts(p, rows)
    return dist.DataParallelStep(w, net, [x, y], loss, opt, net.state_updates(), "llvm", check_finite=False)


def worker(steps: int) -> tuple[int, dict]:
    """This rank and its measurements (run under mpiexec); rank 0's are the job's result."""
    from graphc import distributed as dist
    from graphc.bench import fw_graphc
    from graphc.bench.workloads import problem
    w = dist.init()
    out: dict = {"ranks": w.size, "workloads": {}}
    for name in WORKLOADS:
        p = problem(name)
        batch = p.x.shape[0]
        local = batch // w.size
        step = _step(w, p, local)
        rows = slice(w.rank * local, (w.rank + 1) * local)
        result = {"batch": batch, "local_batch": local, "bytes": step.bytes_per_step,
                  **_phases(step, p.x[rows], p.y[rows], steps)}
        if w.size == 1:
            fused = fw_graphc.step_function(p, "llvm")
            fused(p.x, p.y)
            result["fused_step"] = min(_timed(fused, p.x, p.y) for _ in range(steps))
            result["compute"] = {str(batch): result["gradients"] + result["update"]}  # measured just above
            for n in MACHINES:
                b = batch // n
                if b < 1:
                    break
                phases = _phases(_step(w, p, b), p.x[:b], p.y[:b], steps)
                result["compute"][str(b)] = phases["gradients"] + phases["update"]
        out["workloads"][name] = result
    return w.rank, out


def _timed(fn: Callable[..., Any], *args: Any) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def model_table(results: dict) -> str:
    """The projected step time and scaling efficiency on n machines, as a Markdown table."""
    lines = ["| workload | link | " + " | ".join(f"n={n}" for n in MACHINES) + " |",
             "|---|---|" + "---|" * len(MACHINES)]
    one = results["1"]["workloads"]
    for name in WORKLOADS:
        r = one[name]
        t1 = r["compute"][str(r["batch"])]
        for link, bw in BANDWIDTHS.items():
            cells = []
            for n in MACHINES:
                b = r["batch"] // n
                if str(b) not in r["compute"] or r["batch"] % n:
                    cells.append("-")
                    continue
                t = r["compute"][str(b)] + ALPHA * math.log2(n) + 2 * (n - 1) / n * r["bytes"] / bw
                cells.append(f"{t * 1e3:.2f} ms ({t1 / (n * t):.0%})")
            lines.append(f"| {name} | {link} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def measured_table(results: dict) -> str:
    """Step time by phase and scaling efficiency for each rank count, as a Markdown table."""
    lines = ["| workload | ranks | local batch | gradients | allreduce | update | step | speed-up | efficiency |"
             " bytes allreduced |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name in WORKLOADS:
        t1 = results["1"]["workloads"][name]["step"]
        fused = results["1"]["workloads"][name]["fused_step"]
        for n, res in sorted(results.items(), key=lambda kv: int(kv[0])):
            r = res["workloads"][name]
            ms = [f"{r[k] * 1e3:.2f} ms" for k in ("gradients", "allreduce", "update", "step")]
            lines.append(f"| {name} | {n} | {r['local_batch']} | " + " | ".join(ms)
                         + f" | {t1 / r['step']:.2f} | {t1 / (int(n) * r['step']):.0%} | {r['bytes']:,} |")
        lines.append(f"| {name} | 1, fused step | {results['1']['workloads'][name]['batch']} | | | | "
                     f"{fused * 1e3:.2f} ms | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--json", help="also write the measurements here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)  # internal: measure under mpiexec, write this file
    args = ap.parse_args(argv)
    if args.worker:
        rank, out = worker(args.steps)
        if rank == 0:
            with open(args.worker, "w") as f:
                json.dump(out, f)
        return
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    if mpiexec is None:
        raise SystemExit("needs mpiexec: pip install 'graphc[mpi]'")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.ranks:
            path = os.path.join(tmp, f"{n}.json")
            subprocess.run([mpiexec, "-n", str(n), sys.executable, __file__, "--worker", path,
                            "--steps", str(args.steps)], check=True, env=env)
            with open(path) as f:
                results[str(n)] = json.load(f)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print(measured_table(results))
    print()
    print(f"model: T(n) = compute(B/n) + {ALPHA * 1e6:.0f} us * log2 n + 2 (n-1)/n * bytes / bandwidth "
          "(efficiency T(1) / (n T(n)) in parentheses)")
    print(model_table(results))


if __name__ == "__main__":
    main()
