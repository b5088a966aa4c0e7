"""The suite's results as Markdown: step times with graphc-llvm's speedups and targets, compile times, GEMM."""
from __future__ import annotations

import datetime
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from . import roofline
from .suite import Results
from .workloads import PEERS, WORKLOADS


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def header(argv: list[str]) -> list[str]:
    """The command, the machine (CPU model, cores, load) and the versions of everything timed."""
    dists = ("graphc", "numpy", "llvmlite", "scipy", "torch", "jax", "jaxlib", "pytensor", "numba")
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return [f"command: `{' '.join(argv)}`",
            f"date: {datetime.datetime.now().isoformat(timespec='minutes')}",
            f"machine: {_cpu_model()}, {os.cpu_count()} logical cores, {platform.system()} {platform.machine()}; "
            f"load average at the end (1/5/15 min): {load}",
            f"versions: python {platform.python_version()}, " + ", ".join(f"{d} {_version(d)}" for d in dists),
            f"graphc-llvm's BLAS: {_blas()}"]


def _blas() -> str:
    from graphc.backends.llvm import blas  # the library the workers' LLVM backend calls
    found = blas.library()
    return "none (loop kernels)" if found is None else f"{found.source} ({found.int_bits}-bit sizes)"


def _ms(run: dict) -> str:
    return f"n/a ({run['na']})" if "na" in run else f"{run['step_ms']:.3f}" if "step_ms" in run else "n/a"


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def step_table(res: Results) -> list[str]:
    """Median step ms per framework; each peer's cell also shows graphc-llvm's speedup over it."""
    fws = res.settings.frameworks
    peers = [p for p in PEERS if p in fws]
    rows = ["| workload | " + " | ".join(f"{fw} ms" for fw in fws) + " | target | pass | issue's peer ms |",
            "|---" * (len(fws) + 4) + "|"]
    for name, runs in res.runs.items():
        w = WORKLOADS[name]
        ours = runs.get("graphc-llvm", {}).get("step_ms")
        cells = []
        for fw in fws:
            cell = _ms(runs[fw])
            if fw in peers and ours and "step_ms" in runs[fw]:
                cell += f" ({runs[fw]['step_ms'] / ours:.2f}x)"
            cells.append(cell)
        timed = {p: runs[p]["step_ms"] for p in peers if "step_ms" in runs[p]}
        target, ok = "n/a", None
        if ours and timed:
            fastest = min(timed, key=timed.get)
            need = {fastest: 1.0, **{p: k for p, k in w.min_speedup.items() if p in timed}}
            target = ", ".join(f">= {k:g}x {p}" for p, k in need.items())
            ok = all(timed[p] / ours >= k for p, k in need.items())
        rows.append(f"| {name}: {w.title} | " + " | ".join(cells) +
                    f" | {target} | {'n/a' if ok is None else 'yes' if ok else 'NO'} | "
                    + ", ".join(f"{p} {ms:g}" for p, ms in w.reference_ms.items()) + " |")
    return rows


def spread_lines(res: Results) -> list[str]:
    """Each framework's per-round median step times, where there was more than one round."""
    lines = []
    for name, runs in res.runs.items():
        cells = [f"{fw} " + " / ".join(f"{ms:.3f}" for ms in r["rounds_step_ms"])
                 for fw, r in runs.items() if len(r.get("rounds_step_ms", ())) > 1]
        if cells:
            lines.append(f"- {name}: " + "; ".join(cells))
    return ["Step ms of each round, in the order run (the table shows their median):", ""] + lines if lines else []


def compile_table(res: Results) -> list[str]:
    """Cold compile (build + first step, fresh process) per framework, graphc-llvm's warm start, first losses."""
    fws = res.settings.frameworks
    rows = ["| workload | " + " | ".join(f"{fw} cold" for fw in fws) +
            " | graphc-llvm warm | target (cold / warm) | pass (cold / warm) | first loss |",
            "|---" * (len(fws) + 5) + "|"]
    for name, runs in res.runs.items():
        w = WORKLOADS[name]
        llvm = runs.get("graphc-llvm", {})
        cold, warm = llvm.get("cold_s"), llvm.get("warm_s")
        ok = " / ".join("n/a" if v is None else "yes" if v <= limit else "NO"
                        for v, limit in ((cold, w.cold_target_s), (warm, 0.1)))
        losses = {fw: r["first_loss"] for fw, r in runs.items() if "first_loss" in r}
        agree = not any(e.startswith(f"{name}:") for e in res.loss_errors)
        loss = f"{next(iter(losses.values())):.6f} ({len(losses)} agree)" if losses and agree else \
            "DISAGREE: " + ", ".join(f"{fw} {v:.6f}" for fw, v in losses.items())
        rows.append(f"| {name} | " + " | ".join(_s(runs[fw].get("cold_s")) for fw in fws) +
                    f" | {_s(warm)} | <= {w.cold_target_s:g} s / <= 0.1 s | {ok} | {loss} |")
    return rows


def gemm_lines(res: Results) -> list[str]:
    """graphc-llvm's n^3 GEMM rate against the best of NumPy and PyTorch (the issue asks for >= 90%)."""
    lines = []
    for dtype, rates in res.gemm.items():
        if "na" in rates:
            lines.append(f"- {dtype} GEMM {res.settings.gemm_n}^3: n/a ({rates['na']})")
            continue
        best = max((k for k in rates if k != "graphc-llvm"), key=rates.get)
        share = rates["graphc-llvm"] / rates[best]
        verdict = "yes" if share >= 0.9 else "NO"
        lines.append(f"- {dtype} GEMM {res.settings.gemm_n}^3: " +
                     ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in rates.items()) +
                     f"; graphc-llvm at {100 * share:.0f}% of {best} (target >= 90%: {verdict})")
    return lines


def roofline_lines(res: Results) -> list[str]:
    """The roofline table under a line saying what it counts (graphc.bench.roofline has the method)."""
    rows, where = roofline.table(res), roofline.where_lines(res)
    if where:
        rows += ["", "Where graphc-llvm's step time goes, for each workload below half its roofline: `fn.profile()` of "
                 "the step, kernel time by kind as a share of the profiled step (kinds under 1% left out).", ""] + where
    return ["", "Roofline: each step's FLOPs (counted on graphc's graph of the step) and least bytes moved (a model: "
            "updated tensors, gradients and stored activations each written and read once, inputs read once), "
            "the time the measured peaks allow, max(FLOPs / FMA peak, bytes / bandwidth), and each framework's "
            "share of it (roofline / median step time); see docs/benchmarks.md.", ""] + rows if rows else []


def markdown(res: Results, argv: list[str] | None = None) -> str:
    """The whole report: header, the two tables, GEMM lines and any initial-loss disagreement."""
    s = res.settings
    command = argv if argv is not None else [os.path.basename(sys.executable)] + sys.argv
    parts = [f"- {line}" for line in header(command)]
    parts += [f"- {res.peaks.describe()}"] if res.peaks else []
    rounds = f"; the median of {s.rounds} rounds, each framework in turn in a fresh process" if s.rounds > 1 else ""
    parts += ["", f"Median step time in ms ({s.threads} threads; up to {s.repeats} steps or {s.budget_s:g} s after "
              f"warm-up{rounds}); in a peer's cell, (Nx) is graphc-llvm's speedup over it. The last column: the peers' "
              "times the issue measured on a quiet machine, to judge this run's load.", ""]
    flags = sorted({r["flags"] for runs in res.runs.values() for r in runs.values() if "flags" in r})
    where = f" under {s.pytensor_python}" if s.pytensor_python else ""
    parts += [f"PyTensor ran{where} with PYTENSOR_FLAGS={' / '.join(flags)}.", ""] if flags else []
    spread = spread_lines(res)
    parts += step_table(res) + [""] + spread + ([""] if spread else [])
    parts += ["Cold compile: building the step and its first call in a fresh process; warm: the same for "
              "graphc-llvm in a second process with its disk cache filled (medians over the rounds).", ""]
    parts += compile_table(res)
    if res.gemm:
        parts += [""] + gemm_lines(res)
    parts += roofline_lines(res)
    if res.loss_errors:
        parts += ["", "INITIAL LOSSES DISAGREE:"] + [f"- {e}" for e in res.loss_errors]
    return "\n".join(parts) + "\n"
