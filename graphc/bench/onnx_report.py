"""`graphc bench --onnx`'s results as Markdown: run times with graphc-llvm's speedup, cold starts, the output
check, and where graphc-llvm's time goes on the rows where onnxruntime is faster."""
from __future__ import annotations

from .onnx_suite import ATOL, RTOL, Results
from .report import _version, header

FWS = ("graphc-llvm", "onnxruntime")


def _cell(run: dict, key: str, fmt: str) -> str:
    if "na" in run:
        return f"n/a ({run['na']})"
    return format(run[key], fmt) if run.get(key) is not None else "n/a"


def _check(row: dict) -> str:
    check = row.get("check")
    if check is None:
        return "n/a"
    if not check["equal"]:
        return "DIFFER: " + (check.get("why") or f"max abs {check['max_abs']:.2g} of max {check['scale']:.2g}")
    return f"equal (max abs {check['max_abs']:.1e} of max {check['scale']:.2g})"


def table(res: Results) -> list[str]:
    rows = ["| model | batch | graphc-llvm ms | onnxruntime ms | graphc-llvm speedup | graphc-llvm cold s | "
            "onnxruntime cold s | outputs |", "|---" * 8 + "|"]
    for row in res.rows:
        if "na" in row:
            rows.append(f"| {row['model']} | {row['batch']} | n/a ({row['na']}) |" + " |" * 5)
            continue
        ours, theirs = row["graphc-llvm"], row["onnxruntime"]
        timed = row.get("check", {}).get("equal") and "run_ms" in ours and "run_ms" in theirs
        speedup = f"{theirs['run_ms'] / ours['run_ms']:.2f}x" if timed else "n/a"
        run = [_cell(r, "run_ms", ".2f") if timed or "na" in r else "(outputs differ)" for r in (ours, theirs)]
        rows.append(f"| {row['model']} | {row['batch']} | {run[0]} | {run[1]} | {speedup} | "
                    f"{_cell(ours, 'cold_s', '.2f')} | {_cell(theirs, 'cold_s', '.2f')} | {_check(row)} |")
    return rows


def where_lines(res: Results) -> list[str]:
    """For each row where onnxruntime is faster: graphc-llvm's profiled run by kernel kind (kinds under 2% left
    out) and its slowest kernels."""
    lines = []
    for row in res.rows:
        ours, theirs = row.get("graphc-llvm", {}), row.get("onnxruntime", {})
        prof = ours.get("profile")
        if not prof or "run_ms" not in theirs or ours["run_ms"] <= theirs["run_ms"]:
            continue
        step = prof["step_ms"]
        kinds = sorted(prof["kinds_ms"].items(), key=lambda kv: -kv[1])
        kinds.append(("outside kernels", max(0.0, step - sum(prof["kinds_ms"].values()))))
        shares = ", ".join(f"{k} {100 * ms / step:.0f}% ({ms:.2f} ms)" for k, ms in kinds if ms >= 0.02 * step)
        lines.append(f"- {row['model']} batch {row['batch']} (profiled run {step:.2f} ms): {shares}; slowest: "
                     + "; ".join(prof["top"][:3]))
    return lines


def summary(res: Results) -> str:
    timed = [r for r in res.rows if r.get("check", {}).get("equal") and "run_ms" in r.get("graphc-llvm", {})
             and "run_ms" in r.get("onnxruntime", {})]
    faster = [r for r in timed if r["graphc-llvm"]["run_ms"] <= r["onnxruntime"]["run_ms"]]
    return (f"graphc-llvm is at least as fast as onnxruntime on {len(faster)} of {len(timed)} timed rows "
            f"({len(res.rows)} rows in all).")


def markdown(res: Results, argv: list[str]) -> str:
    s = res.settings
    parts = [f"- {line}" for line in header(argv)]
    parts.append(f"- onnx {_version('onnx')}, onnxruntime {_version('onnxruntime')} (CPUExecutionProvider, "
                 f"{s.threads} intra-op threads, sequential execution, all graph optimizations); graphc-llvm with "
                 f"{s.threads} BLAS threads, a fresh compile cache per run")
    rounds = f"; the median of {s.rounds} rounds, each framework in turn in a fresh process" if s.rounds > 1 else ""
    parts += ["", f"Median inference time in ms (up to {s.repeats} runs or {s.budget_s:g} s after 2 warm-up runs"
              f"{rounds}); graphc-llvm speedup = onnxruntime ms / graphc-llvm ms. Cold: reading the file, "
              f"importing and compiling (graphc) or building the session (onnxruntime), and the first run. "
              f"Outputs compared on the first round (rtol {RTOL:g}, atol {ATOL:g} x the largest output) before "
              f"any time is reported.", ""]
    parts += table(res) + ["", summary(res)]
    where = where_lines(res)
    if where:
        parts += ["", "Where graphc-llvm's time goes where onnxruntime is faster (`fn.profile()` of the run: kernel "
                  "time by kind as a share of the profiled run, then the slowest kernels):", ""] + where
    return "\n".join(parts)
