"""One ONNX inference measurement in a fresh process: `python -m graphc.bench.onnx_worker '{"framework": ...}'`.

The job names a model file, an inputs file (.npz, one array per graph input) and where to write the
outputs (.npz, for the suite to compare); the worker prints its result as one JSON line: cold seconds
(reading the file, compiling or building the session, the first run) and the median run milliseconds.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Callable

import numpy as np

from .worker import median_ms

FRAMEWORKS = ("graphc-llvm", "onnxruntime")


def _graphc(path: str, feeds: dict[str, np.ndarray]) -> tuple[Callable[[], list], object]:
    """graphc.onnx.load of the file at the inputs' shapes, compiled for llvm: (run, compiled function)."""
    import graphc.onnx
    model = graphc.onnx.load(path, input_shapes={k: v.shape for k, v in feeds.items()})
    fn = model.function(backend="llvm")
    args = [feeds[name] for name in model.input_names]
    return lambda: fn(*args), (fn, args)


def _onnxruntime(path: str, feeds: dict[str, np.ndarray], threads: int) -> tuple[Callable[[], list], object]:
    """onnxruntime's CPU provider with `threads` intra-op threads, sequential execution, all graph optimizations
    (its defaults otherwise)."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return lambda: session.run(None, feeds), None


def profile(fn, args: list, calls: int = 2) -> dict:
    """Where graphc-llvm's run goes: fn.profile() (a profiling build of the same program), mean ms per call
    by kernel kind and the five slowest kernels."""
    prof = fn.profile(*args, calls=calls)
    return {"step_ms": 1e3 * prof.step_seconds,
            "kinds_ms": {k: 1e3 * s for k, s in prof.by_kind().items()},
            "top": [f"{k.kind} {k.name} {list(k.shape)} {1e3 * k.seconds:.2f} ms" for k in prof.top(5)]}


def measure(job: dict) -> dict:
    """Cold start and first outputs (saved to job["out"]), then the median run time."""
    if job["framework"] == "graphc-llvm":
        import graphc.backends.llvm.runtime  # noqa: F401 - the backend's modules load before the clock starts
        import graphc.onnx  # noqa: F401
    else:
        import onnxruntime  # noqa: F401
    with np.load(job["inputs"]) as data:
        feeds = {name: data[name] for name in data.files}
    t = time.perf_counter()
    if job["framework"] == "graphc-llvm":
        run, compiled = _graphc(job["model"], feeds)
    else:
        run, compiled = _onnxruntime(job["model"], feeds, job["threads"])
    outs = run()
    result = {"cold_s": time.perf_counter() - t}
    np.savez(job["out"], *[np.asarray(o) for o in outs])
    result["run_ms"], result["runs"] = median_ms(run, job["repeats"], job["budget_s"])
    if job.get("profile") and compiled is not None:
        result["profile"] = profile(*compiled)
    return result


def main(argv: list[str]) -> int:
    job = json.loads(argv[0])
    try:
        out = measure(job)
    except Exception as e:  # noqa: BLE001 - any failure becomes the table cell's reason
        message = " ".join(str(e).split())
        out = {"error": f"{type(e).__name__}: {message}"[:400]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
