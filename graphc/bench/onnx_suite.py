"""`graphc bench --onnx`: ONNX models' inference on graphc-llvm against onnxruntime's CPU provider.

For every model (graphc.bench.onnx_models) and batch size the suite writes the model and one batch of
random inputs to a temporary folder, then runs each framework in a fresh worker process
(graphc.bench.onnx_worker; graphc with a fresh, empty compile cache, so its cold start includes compiling),
`rounds` times in turn, and compares the two frameworks' outputs before it reports any timing: a row whose
outputs differ is a failure, not a speed.
"""
from __future__ import annotations

import importlib.util
import os
import statistics
import tempfile
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .suite import environment, run_worker

#: graphc's outputs against onnxruntime's: float32 through up to 120 layers summed in other orders
RTOL, ATOL = 1e-3, 1e-5


@dataclass
class Settings:
    """Which models and batches; runs per median, seconds per median; threads; rounds of both frameworks."""

    models: tuple[str, ...] = ()
    batches: tuple[int, ...] = (1, 16)
    repeats: int = 50
    budget_s: float = 10.0
    rounds: int = 3
    threads: int = 2
    profile: bool = True          # graphc-llvm's kernel times by kind, for the rows where it is slower
    timeout_s: float = 900.0

    @classmethod
    def check(cls, **kw) -> "Settings":
        """A few runs, one round, no profile: enough to see every model import, compile and agree."""
        return cls(**{"repeats": 3, "budget_s": 0.5, "rounds": 1, **kw, "profile": False})


@dataclass
class Results:
    settings: Settings
    rows: list[dict] = field(default_factory=list)  # one per (model, batch): frameworks' results and the check


def _combine(outs: list[dict]) -> dict:
    """One framework's rounds: the median of each timing; a failed round makes the result that failure."""
    failed = [o for o in outs if "na" in o]
    if failed:
        return failed[0]
    out = dict(outs[-1])
    for key in ("cold_s", "run_ms"):
        out[key] = statistics.median(o[key] for o in outs)
    out["rounds_run_ms"] = [o["run_ms"] for o in outs]
    return out


def compare(graphc_out: str, ort_out: str) -> dict:
    """Whether graphc's outputs equal onnxruntime's (RTOL, and ATOL times the largest output): the largest
    absolute difference, relative to the largest output magnitude."""
    with np.load(graphc_out) as g, np.load(ort_out) as o:
        ours, theirs = [g[k] for k in g.files], [o[k] for k in o.files]
    if len(ours) != len(theirs) or any(a.shape != b.shape for a, b in zip(ours, theirs)):
        return {"equal": False, "why": f"shapes {[a.shape for a in ours]} != {[b.shape for b in theirs]}"}
    diff = max(float(np.abs(a.astype(np.float64) - b).max()) for a, b in zip(ours, theirs))
    scale = max(float(np.abs(b).max()) for b in theirs)
    equal = all(np.allclose(a, b, rtol=RTOL, atol=ATOL * max(scale, 1e-30)) for a, b in zip(ours, theirs))
    return {"equal": equal, "max_abs": diff, "scale": scale}


def _missing(name: str) -> str | None:
    from . import onnx_models
    if name in onnx_models.TORCH and importlib.util.find_spec("torch") is None:
        return "torch not installed (needed to export this model)"
    return None


def measure_model(name: str, s: Settings, tmp: str, log: Callable[[str], None]) -> list[dict]:
    """Both frameworks on one model at each batch size: a row per batch."""
    from . import onnx_models
    rows = []
    why = _missing(name)
    if why:
        return [{"model": name, "batch": b, "na": why} for b in s.batches]
    base = onnx_models.exported(name) if name in onnx_models.TORCH else None
    for batch in s.batches:
        model = base if base is not None else onnx_models.light(name, batch)
        path, inputs = os.path.join(tmp, f"{name}-{batch}.onnx"), os.path.join(tmp, f"{name}-{batch}-inputs.npz")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        np.savez(inputs, **onnx_models.inputs(model, batch, seed=1))
        outs: dict[str, list[dict]] = {"graphc-llvm": [], "onnxruntime": []}
        row: dict = {"model": name, "batch": batch}
        for r in range(s.rounds):
            for fw in outs:
                log(f"{name} batch {batch} {fw} (round {r + 1} of {s.rounds}) ...")
                cache = tempfile.mkdtemp(prefix="cache-", dir=tmp)  # every graphc run compiles cold
                job = {"framework": fw, "model": path, "inputs": inputs, "out": os.path.join(tmp, f"{fw}.npz"),
                       "repeats": s.repeats, "budget_s": s.budget_s, "threads": s.threads,
                       "profile": s.profile and r == s.rounds - 1}
                outs[fw].append(run_worker(job, environment(s.threads, cache), s.timeout_s,
                                           module="graphc.bench.onnx_worker"))
            if any("na" in o[-1] for o in outs.values()):
                break
            if r == 0:  # the first round's outputs decide whether the timings mean anything
                row["check"] = compare(os.path.join(tmp, "graphc-llvm.npz"), os.path.join(tmp, "onnxruntime.npz"))
                if not row["check"]["equal"]:
                    break
        row.update({fw: _combine(o) for fw, o in outs.items()})
        rows.append(row)
        os.remove(path)
    return rows


def run(s: Settings, log: Callable[[str], None] = lambda msg: None) -> Results:
    """Every selected model at every batch size, each framework in its own process."""
    res = Results(s)
    for name in s.models:
        with tempfile.TemporaryDirectory(prefix="graphc-bench-onnx-") as tmp:
            res.rows += measure_model(name, s, tmp, log)
    return res


def problems(res: Results) -> list[str]:
    """What `graphc bench --onnx --check` fails on: a framework that did not run a model, outputs that differ."""
    out = []
    for row in res.rows:
        where = f"{row['model']} batch {row['batch']}"
        if "na" in row:
            continue  # an optional dependency missing: said in the table, not a failure
        out += [f"{where}: {fw} {row[fw]['na']}" for fw in ("graphc-llvm", "onnxruntime") if "na" in row[fw]]
        check = row.get("check")
        if check is not None and not check["equal"]:
            why = check.get("why") or f"max abs difference {check['max_abs']:.3g}"
            out.append(f"{where}: graphc-llvm's outputs differ from onnxruntime's ({why})")
    return out
