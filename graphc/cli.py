"""The `graphc` command."""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np

from graphc import __version__
from graphc.cliargs import Parser, Renamed, natural_int, positive_int


def demo(args: argparse.Namespace) -> int:
    """Train the lectures' sine-fitting MLP (2 -> 64 -> 64 -> 1) and print the falling loss."""
    import graphc as gc
    from graphc import backends

    backend = backends.get(args.backend)
    rng = np.random.default_rng(args.seed)
    n = 1000
    X = rng.uniform(0, 10, size=(n, 2)).astype(np.float32)
    y = (np.sin(X[:, 0]) + np.cos(X[:, 1]) + 0.1 * rng.standard_normal(n)).astype(np.float32)[:, None]

    def layer(fan_in: int, fan_out: int, name: str):
        w = gc.parameter(rng.normal(0, np.sqrt(1.0 / fan_in), (fan_in, fan_out)).astype(np.float32), name=f"W{name}")
        b = gc.parameter(np.zeros(fan_out, np.float32), name=f"b{name}")
        return w, b

    params = [*layer(2, 64, "1"), *layer(64, 64, "2"), *layer(64, 1, "3")]
    W1, b1, W2, b2, W3, b3 = params
    x = gc.placeholder((None, 2), name="x")
    t = gc.placeholder((None, 1), name="y")
    h = gc.relu(x @ W1 + b1)
    h = gc.relu(h @ W2 + b2)
    loss = gc.mean(gc.square(h @ W3 + b3 - t))
    grads = gc.grad(loss, params)
    # Adam, written as graph updates so the whole step is one compiled call.
    lr, b1_, b2_, eps = 0.003, 0.9, 0.999, 1e-8
    step_count = gc.parameter(np.zeros((), np.float32), name="step")
    k = step_count + 1.0
    updates = [(step_count, k)]
    for p, g in zip(params, grads):
        m = gc.parameter(np.zeros_like(p.value), name=f"m_{p.name}")
        v = gc.parameter(np.zeros_like(p.value), name=f"v_{p.name}")
        m_new = b1_ * m + (1 - b1_) * g
        v_new = b2_ * v + (1 - b2_) * g * g
        m_hat = m_new / (1.0 - b1_ ** k)
        v_hat = v_new / (1.0 - b2_ ** k)
        updates += [(m, m_new), (v, v_new), (p, p - lr * m_hat / (gc.sqrt(v_hat) + eps))]
    step = gc.function([x, t], loss, updates=updates, backend=backend.name)

    print(f"graphc demo: sine MLP 2->64->64->1 (ReLU, Adam) on {n} points, backend={backend.name}")
    start = time.perf_counter()
    every = max(1, args.steps // 10)
    for k in range(1, args.steps + 1):
        value = float(step(X, y))  # the loss before this step's update
        if k == 1 or k % every == 0:
            print(f"  step {k:5d}  loss {value:.5f}")
    print(f"{args.steps} full-batch steps in {time.perf_counter() - start:.2f} s")
    return 0


def _version(module: str) -> str:
    """A package's version, or why it cannot be read (info must never crash)."""
    try:
        from importlib.metadata import version
        return version(module)
    except Exception as e:  # noqa: BLE001 - a missing or broken package is reported, not raised
        return f"not installed ({type(e).__name__})"


def _cpu() -> tuple[str, str]:
    """(CPU name, its enabled features) as LLVM sees them: what the LLVM backend compiles for."""
    try:
        import llvmlite.binding as llvm
        llvm.initialize_native_target()
        features = llvm.get_host_cpu_features().flatten().split(",")
        return llvm.get_host_cpu_name(), " ".join(f[1:] for f in features if f.startswith("+"))
    except Exception as e:  # noqa: BLE001
        return f"unknown ({e})", ""


def _gpu() -> str:
    """The NVIDIA GPUs nvidia-smi lists, and whether CuPy is installed; never raises."""
    cupy = "CuPy installed" if importlib.util.find_spec("cupy") else "CuPy not installed"
    if shutil.which("nvidia-smi") is None:
        return f"none found (no nvidia-smi on PATH); {cupy}"
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.SubprocessError) as e:
        return f"nvidia-smi failed ({e}); {cupy}"
    gpus = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    if out.returncode != 0 or not gpus:
        return f"nvidia-smi found no GPU ({(out.stderr or out.stdout).strip()[:120]}); {cupy}"
    return f"{'; '.join(gpus)}; {cupy}"


def _cache_summary() -> str:
    """Where compiled code is cached (see backends/llvm/cache.py), its entries and size."""
    from graphc.backends.llvm import cache
    summary = cache.info()
    if not os.path.isdir(summary.directory):
        return f"{summary.directory} (not created yet)"
    entries = "1 entry" if summary.entries == 1 else f"{summary.entries} entries"
    return f"{summary.directory} ({entries}, {summary.bytes / 2 ** 20:.1f} MiB)"


def cache_command(args: argparse.Namespace) -> int:
    """`graphc cache info` and `graphc cache clear`: the LLVM backend's compiled-code cache."""
    from graphc.backends.llvm import cache
    if args.action == "clear":
        freed = cache.clear()
        print(f"removed {freed.entries} entries ({freed.bytes} bytes) from {freed.directory}")
    else:
        print(f"cache: {_cache_summary()}")
        with warnings.catch_warnings():  # the reason is printed here
            warnings.simplefilter("ignore")
            off = cache.disabled()
        if off is not None:
            print(f"not in use: {off}")
        print("set GRAPHC_CACHE_DIR to move it, GRAPHC_CACHE=0 to turn it off")
    return 0


def info(args: argparse.Namespace) -> int:
    """Print what graphc runs on: versions, backends (and why not), CPU, GPU, cache."""
    import graphc
    from graphc import backends

    print(f"graphc {graphc.__version__}")
    print(f"python {platform.python_version()} ({sys.executable})")
    for dist in ("numpy", "sympy", "llvmlite", "networkx"):
        print(f"{dist} {_version(dist)}")
    print("backends:")
    for name, why in backends.status().items():
        print(f"  {name:14s} {'available' if why is None else 'unavailable: ' + why}")
    name, features = _cpu()
    print(f"cpu: {name} ({os.cpu_count()} logical cores)")
    print(f"cpu features: {features}")
    print(f"gpu: {_gpu()}")
    print(f"cache: {_cache_summary()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the `graphc` command: 0 when it worked; a usage error exits 2 and a failure returns 1, each with
    one `graphc: error: ...` line on stderr (GRAPHC_TRACEBACK=1 adds the traceback of an unexpected one)."""
    parser = Parser(prog="graphc", description=__doc__)
    parser.add_argument("--version", action="version", version=f"graphc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="train the lectures' sine-fitting MLP and print the loss")
    p.add_argument("--steps", type=positive_int, default=2000, help="full-batch Adam steps (default 2000)")
    p.add_argument("--epochs", dest="steps", type=positive_int, action=Renamed, new="--steps",  # its name until 0.1.0
                   why="each step is full-batch, one epoch", help=argparse.SUPPRESS)
    p.add_argument("--seed", type=natural_int, default=0, help="seed of the data and the initial weights (0 or more)")
    p.add_argument("--backend", default="auto", help="numpy, llvm, cuda or auto (the best available)")
    p.set_defaults(run=demo)
    p = sub.add_parser("info", help="versions, backends (and why not), CPU, GPU and cache location")
    p.set_defaults(run=info)
    p = sub.add_parser("cache", help="the LLVM backend's compiled-code cache: where, how big; clear it")
    p.add_argument("action", choices=("info", "clear"), help="info: location, entries, size; clear: delete them")
    p.set_defaults(run=cache_command)
    from graphc.viz.cli import add_parser; add_parser(sub)  # noqa: E702 - the one line that wires `graphc viz`
    from graphc.compare.cli import add_parser; add_parser(sub)  # noqa: E702 - wires `graphc compare-diff`
    from graphc.bench.cli import add_parser; add_parser(sub)  # noqa: E702 - wires `graphc bench`
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("graphc: error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - every failure is one line; GRAPHC_TRACEBACK=1 for graphc's bugs
        print(f"graphc: error: {_one_line(e)}", file=sys.stderr)
        if os.environ.get("GRAPHC_TRACEBACK") == "1":
            raise
        return 1


def _one_line(e: Exception) -> str:
    """What went wrong, on one line: a graphc error with its user's line and fix, a file the OS refused,
    or an unexpected exception (a bug in graphc) with how to see its traceback."""
    from graphc.ir.errors import GraphcError
    if isinstance(e, GraphcError):
        # A user's script line is worth showing; the launcher's (bin/graphc, runpy) is not.
        where = f"{e.loc}: " if e.loc is not None and e.loc.filename.endswith(".py") else ""
        text = f"{where}{e.what}" + (f" (fix: {e.fix})" if e.fix else "")
    elif isinstance(e, OSError):
        text = f"{str(e.filename) + ': ' if e.filename else ''}{e.strerror or e}"
    else:
        text = (f"{type(e).__name__}: {e} (this is a bug in graphc: please report it with the command; "
                f"GRAPHC_TRACEBACK=1 shows the traceback)")
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
