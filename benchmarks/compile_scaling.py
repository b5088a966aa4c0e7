"""First-call (compile) time against graph size, phase by phase (docs/benchmarks.md).

    python benchmarks/compile_scaling.py                         # the table in docs/benchmarks.md
    python benchmarks/compile_scaling.py --shapes chain --sizes 1000,4000 --backends llvm --levels O2

Each (shape, size, backend, level) runs in a fresh process with the disk caches off, so every
compile is a cold one and the peak resident memory (VmHWM) is that compile's own. Sizes count the
nodes of the graph handed to `gc.function` (the forward graph and its gradient). The shapes:

- `chain`: a scalar recurrence (sin, multiply-add) and its derivative, as in tests/test_large_graph.py;
- `mix`: a (16, 16) tensor through elementwise ops with a matmul or a row sum every few ops, and its
  gradient;
- `mlp`: the gradient of a deep tanh MLP (8 wide, batch 4) with an SGD update per layer.

Phases: building the graph, `gc.grad`, the passes (the slowest three named), scheduling the kernel
program, lowering it to LLVM IR, LLVM's optimization, code generation, then the whole first call.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from typing import Callable, Iterator

SIZES = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)


def build(shape: str, nodes: int) -> tuple[list, list, list, list]:
    """(inputs, outputs, updates, arguments) of a graph of about `nodes` nodes."""
    import numpy as np

    import graphc as gc
    from graphc.testing.models import deep_tanh_mlp
    if shape == "chain":  # 4 ops a step forward, about 7 with the derivative
        x = gc.placeholder((), "float64", "x")
        y = x
        for i in range(nodes // 11 * 2):
            y = y * 0.99999 + 1e-6 if i % 2 else gc.sin(y) * 0.5 + y * 0.5
        return [x], [y, gc.grad(y, x)], [], [np.float64(0.3)]
    if shape == "mix":  # about 13 nodes a step with the gradient
        x = gc.placeholder((16, 16), "float32", "x")
        w = gc.constant(np.eye(16, dtype=np.float32) * 0.5)
        y = x
        for i in range(nodes // 13):
            y = gc.tanh(y) * 0.9 + 0.1 * y
            if i % 3 == 0:
                y = y @ w
            elif i % 3 == 1:
                y = y - gc.sum(y, axis=1, keepdims=True) * 0.01
        loss = gc.sum(y * y)
        return [x], [loss, gc.grad(loss, x)], [], [np.ones((16, 16), np.float32) * 0.1]
    if shape == "mlp":  # about 19 nodes a layer with the gradient and the update
        x, loss, updates = deep_tanh_mlp(nodes // 19)
        return [x], [loss], updates, [np.ones((4, 8), np.float32)]
    raise SystemExit(f"unknown shape {shape!r}: use chain, mix or mlp")


class Timers:
    """Seconds per phase, from wrappers around the functions that do each phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def wrap(self, module: object, name: str, phase: str) -> Iterator[None]:
        inner: Callable = getattr(module, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - start
        setattr(module, name, timed)
        try:
            yield
        finally:
            setattr(module, name, inner)


def measure(shape: str, nodes: int, backend: str, level: str) -> dict:
    """One cold compile, timed by phase (run in a fresh process: see main)."""
    os.environ["GRAPHC_CACHE"] = "0"
    sys.setrecursionlimit(10_000)
    import graphc as gc
    timers = Timers()
    start = time.perf_counter()
    inputs, outputs, updates, args = build(shape, nodes)
    built = time.perf_counter() - start
    fn = gc.function(inputs, outputs, updates=updates, backend=backend, optimize=level)
    with phase_timers(timers, backend):
        start = time.perf_counter()
        fn(*args)
        first = time.perf_counter() - start
    report = fn.passes_report()
    passes = sorted(((r.seconds, r.name) for r in report.records), reverse=True)
    status = open("/proc/self/status").read()
    peak_kb = int(status.split("VmHWM:")[1].split()[0])
    return {"shape": shape, "nodes": len(fn.graph), "backend": backend, "level": level, "build_grad_s": built,
            "passes_s": sum(s for s, _ in passes), "slowest_passes": [(n, round(s, 2)) for s, n in passes[:3]],
            **{k: round(v, 3) for k, v in timers.seconds.items()}, "first_call_s": round(first, 3),
            "peak_mb": peak_kb // 1024}


@contextmanager
def phase_timers(timers: Timers, backend: str) -> Iterator[None]:
    """Time the scheduling and, on llvm, the IR generation, LLVM's optimization and code generation."""
    function = sys.modules["graphc.function"]  # the module (graphc.function is also the function)
    with ExitStack() as stack:
        stack.enter_context(timers.wrap(function, "lower", "schedule_s"))
        if backend.startswith("llvm"):
            from graphc.backends.llvm import runtime
            stack.enter_context(timers.wrap(runtime, "lower_cached", "llvm_ir_s"))
            stack.enter_context(timers.wrap(runtime, "optimized_module", "llvm_opt_s"))
            stack.enter_context(timers.wrap(runtime, "machine", "llvm_opt_codegen_s"))
        yield


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default="chain,mix,mlp")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--backends", default="numpy,llvm")
    ap.add_argument("--levels", default="O0,O2")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per compile before it is reported as '>'")
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # shape,nodes,backend,level: the child process
    a = ap.parse_args()
    if a.one:
        shape, nodes, backend, level = a.one.split(",")
        print(json.dumps(measure(shape, int(nodes), backend, level)))
        return
    rows = []
    print("| shape | nodes | backend | level | build+grad s | passes s | schedule s | IR s | LLVM opt+codegen s "
          "| first call s | peak MB | slowest passes |\n|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
          flush=True)
    for shape in a.shapes.split(","):
        for backend in a.backends.split(","):
            for level in a.levels.split(","):
                for nodes in map(int, a.sizes.split(",")):
                    cmd = [sys.executable, __file__, "--one", f"{shape},{nodes},{backend},{level}"]
                    try:
                        out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout, check=True)
                    except subprocess.TimeoutExpired:
                        print(f"| {shape} | ~{nodes} | {backend} | {level} | | | | | | > {a.timeout:.0f} | | |",
                              flush=True)
                        break  # larger sizes would take longer still
                    except subprocess.CalledProcessError as e:
                        print(f"| {shape} | ~{nodes} | {backend} | {level} | failed: "
                              f"{e.stderr.strip().splitlines()[-1] if e.stderr.strip() else e.returncode} |",
                              flush=True)
                        break
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    rows.append(r)
                    print(f"| {shape} | {r['nodes']:,} | {backend} | {level} | {r['build_grad_s']:.2f} | "
                          f"{r['passes_s']:.2f} | {r.get('schedule_s', 0):.2f} | {r.get('llvm_ir_s', 0):.2f} | "
                          f"{r.get('llvm_opt_codegen_s', 0):.2f} | {r['first_call_s']:.2f} | {r['peak_mb']} | "
                          f"{', '.join(f'{n} {s}' for n, s in r['slowest_passes'])} |", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
