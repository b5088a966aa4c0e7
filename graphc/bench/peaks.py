"""This machine's peaks, measured (never quoted): FMA throughput and memory bandwidth, for the roofline.

Both kernels are LLVM IR compiled by graphc's own JIT pipeline (graphc.backends.llvm.runtime) for the
host CPU and run from `threads` Python threads at once (a ctypes call releases the GIL), so they use
the cores a benchmark run may use. Each figure is the best of a few repeats: on a shared machine the
best repeat is the one least disturbed, and a peak is what the hardware can do, not what it usually does.
"""
from __future__ import annotations

import ctypes
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from typing import Callable

import numpy as np

#: independent FMA accumulators per kernel: two FMA units with a 4-cycle latency need 8 in flight;
#: 12 leaves slack and, with the two operand registers, still fits x86's 16 vector registers
CHAINS = 12
#: seconds one timed call of a kernel aims at
CALL_S = 0.05
REPEATS = 5
_LANE_BYTES = {"float32": 4, "float64": 8}
_IR_TYPE = {"float32": "float", "float64": "double"}


@dataclass(frozen=True)
class Peaks:
    """Measured peaks: FMA GFLOP/s per dtype (an FMA is 2 FLOPs), triad bandwidth in GB/s, and how."""

    gflops: dict[str, float]
    bandwidth_gbs: float
    threads: int
    vector_bits: dict[str, int]   # the vector width that reached each dtype's peak
    triad_mib: float              # the triad's footprint (three arrays)
    llc_mib: float | None         # the last-level cache it has to exceed

    def describe(self) -> str:
        """One line for the report header: the numbers and how they were measured."""
        flops = ", ".join(f"{d} {g:.1f} GFLOP/s ({self.vector_bits[d]}-bit vectors)" for d, g in self.gflops.items())
        llc = f"; last-level cache {self.llc_mib:.0f} MiB" if self.llc_mib else ""
        return (f"measured peaks ({self.threads} threads, best of {REPEATS}): FMA {flops} — {CHAINS} independent "
                f"vector fmuladd chains per thread, JIT-compiled by graphc's LLVM pipeline; memory "
                f"{self.bandwidth_gbs:.1f} GB/s — STREAM triad a = b + s*c on float64, {self.triad_mib:.0f} MiB in "
                f"all{llc}, counting 24 bytes per element as STREAM does")

    def as_dict(self) -> dict:
        """The fields as plain JSON-ready data (for `graphc bench --json`)."""
        return asdict(self)


def jit(text: str, name: str, signature: type) -> tuple[Callable, object]:
    """Function `name` of IR `text`, JIT-compiled for the host CPU through graphc's O3 pipeline, as a
    ctypes function of `signature`; and its execution engine, which the caller must keep while calling."""
    import llvmlite.binding as llvm

    from graphc.backends.llvm import runtime
    module = runtime.optimized_module(text, runtime.target_machine())
    engine = llvm.create_mcjit_compiler(module, runtime.host_target_machine())
    engine.finalize_object()
    return signature(engine.get_function_address(name)), engine


def fma_ir(dtype: str, lanes: int, chains: int = CHAINS) -> str:
    """`double fma_chains(i64 n, T m, T c)`: `chains` vector accumulators, each `acc = acc*m + c` n times.

    m and c are arguments, so nothing folds; the accumulators are summed and returned, so nothing is dead."""
    t = _IR_TYPE[dtype]
    v = f"<{lanes} x {t}>"
    zeros = ", ".join(["i32 0"] * lanes)
    lines = [f"declare {v} @llvm.fmuladd.v{lanes}f{dtype[-2:]}({v}, {v}, {v})",
             f"define double @fma_chains(i64 %n, {t} %m, {t} %c) {{",
             "entry:",
             f"  %m0 = insertelement {v} poison, {t} %m, i32 0",
             f"  %mv = shufflevector {v} %m0, {v} poison, <{lanes} x i32> <{zeros}>",
             f"  %c0 = insertelement {v} poison, {t} %c, i32 0",
             f"  %cv = shufflevector {v} %c0, {v} poison, <{lanes} x i32> <{zeros}>",
             "  br label %loop",
             "loop:",
             "  %i = phi i64 [0, %entry], [%i1, %loop]"]
    lines += [f"  %a{k} = phi {v} [%cv, %entry], [%b{k}, %loop]" for k in range(chains)]
    lines += [f"  %b{k} = call {v} @llvm.fmuladd.v{lanes}f{dtype[-2:]}({v} %a{k}, {v} %mv, {v} %cv)"
              for k in range(chains)]
    lines += ["  %i1 = add i64 %i, 1", "  %more = icmp ult i64 %i1, %n", "  br i1 %more, label %loop, label %done",
              "done:", f"  %s0 = fadd {v} %b0, %b1"]
    lines += [f"  %s{k - 1} = fadd {v} %s{k - 2}, %b{k}" for k in range(2, chains)]
    lines += [f"  %x = extractelement {v} %s{chains - 2}, i32 0"]
    lines += ["  ret double %x" if dtype == "float64" else "  %y = fpext float %x to double\n  ret double %y", "}"]
    return "\n".join(lines) + "\n"


TRIAD_IR = """
define void @triad(ptr noalias %a, ptr noalias %b, ptr noalias %c, double %s, i64 %n) {
entry:
  %any = icmp sgt i64 %n, 0
  br i1 %any, label %loop, label %done
loop:
  %i = phi i64 [0, %entry], [%i1, %loop]
  %pb = getelementptr inbounds double, ptr %b, i64 %i
  %pc = getelementptr inbounds double, ptr %c, i64 %i
  %pa = getelementptr inbounds double, ptr %a, i64 %i
  %vb = load double, ptr %pb
  %vc = load double, ptr %pc
  %vs = fmul double %s, %vc
  %va = fadd double %vb, %vs
  store double %va, ptr %pa
  %i1 = add i64 %i, 1
  %more = icmp ult i64 %i1, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}
"""


def _best_wall(pool: ThreadPoolExecutor, calls: list[Callable[[], object]], repeats: int) -> float:
    """The shortest wall time, over `repeats`, of running all `calls` at once (one per thread)."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for f in [pool.submit(c) for c in calls]:
            f.result()
        best = min(best, time.perf_counter() - t)
    return best


def vector_widths() -> list[int]:
    """The vector widths in bits to try: 128 up to the host's widest (AVX-512, AVX or SSE/NEON)."""
    import llvmlite.binding as llvm
    features = llvm.get_host_cpu_features()
    widest = 512 if features.get("avx512f") else 256 if features.get("avx") else 128
    return [w for w in (128, 256, 512) if w <= widest]


def fma_gflops(dtype: str, threads: int, repeats: int = REPEATS) -> tuple[float, int]:
    """Peak FMA GFLOP/s of `dtype` on `threads` threads, and the vector width (bits) that reached it."""
    best = (0.0, 0)
    with ThreadPoolExecutor(threads) as pool:
        for bits in vector_widths():
            lanes = bits // (8 * _LANE_BYTES[dtype])
            ctype = ctypes.c_float if dtype == "float32" else ctypes.c_double
            kernel, _engine = jit(fma_ir(dtype, lanes), "fma_chains",
                                   ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_int64, ctype, ctype))
            n = 10_000  # iterations per call: grown until one call takes about CALL_S
            while (wall := _best_wall(pool, [partial(kernel, n, 0.999, 1e-3)], 1)) < CALL_S / 4:
                n *= 4
            n = max(n, int(n * CALL_S / wall))
            wall = _best_wall(pool, [partial(kernel, n, 0.999, 1e-3)] * threads, repeats)
            best = max(best, (threads * n * CHAINS * lanes * 2 / wall / 1e9, bits))
    return best


def llc_bytes() -> int | None:
    """The largest cache Linux reports for CPU 0 (the last level), in bytes; None where it says nothing."""
    import glob
    sizes = []
    for path in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"):
        with open(path) as f:
            text = f.read().strip()
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        sizes.append(int(text.rstrip("KMG")) * scale)
    return max(sizes) if sizes else None


def triad_gbs(threads: int, repeats: int = REPEATS) -> tuple[float, float]:
    """STREAM-triad bandwidth in GB/s (24 bytes per element) over a footprint of 4x the last-level cache
    (at least 256 MiB, at most 2 GiB, so that a reported cache of a whole host stays affordable), and the
    footprint in MiB."""
    llc = llc_bytes() or 64 << 20
    n = min(max(4 * llc, 256 << 20), 2 << 30) // 24
    a, b, c = np.empty(n), np.full(n, 1.0), np.full(n, 2.0)
    a.fill(0.0)  # touch every page before timing
    triad, _engine = jit(TRIAD_IR, "triad", ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p,
                                                              ctypes.c_void_p, ctypes.c_double, ctypes.c_int64))
    edges = [int(e) for e in np.linspace(0, n, threads + 1)]

    chunks = [partial(triad, a.ctypes.data + 8 * lo, b.ctypes.data + 8 * lo, c.ctypes.data + 8 * lo, 3.0, hi - lo)
              for lo, hi in zip(edges, edges[1:])]
    with ThreadPoolExecutor(threads) as pool:
        wall = _best_wall(pool, chunks, repeats)
    if a[n // 2] != 7.0:
        raise RuntimeError(f"the triad kernel computed {a[n // 2]}, not 1 + 3*2 = 7")
    return 24 * n / wall / 1e9, 24 * n / (1 << 20)


def measure(threads: int) -> Peaks:
    """FMA peaks for float32 and float64 and the triad bandwidth, on `threads` threads."""
    flops = {d: fma_gflops(d, threads) for d in ("float32", "float64")}
    gbs, mib = triad_gbs(threads)
    llc = llc_bytes()
    return Peaks({d: g for d, (g, _) in flops.items()}, gbs, threads, {d: b for d, (_, b) in flops.items()}, mib,
                 llc / (1 << 20) if llc else None)
