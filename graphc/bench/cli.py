"""`graphc bench` (and benchmarks/run.py): run the workload suite and print its Markdown report."""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from dataclasses import asdict

from ..cliargs import output_file, positive_int, subset
from . import report, roofline, suite
from .onnx_models import MODELS as ONNX_MODELS
from .workloads import WORKLOADS


def _executable(path: str) -> str:
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise argparse.ArgumentTypeError(f"{path!r} is not an executable file (give a Python interpreter)")
    return path


#: `graphc bench --check`'s frameworks unless --frameworks names others: graphc's builds, and PyTorch eager (when
#: installed) for a first loss from an independent implementation
CHECK_FRAMEWORKS = suite.GRAPHC_BUILDS + ("torch",)


def positive_ints(text: str) -> tuple[int, ...]:
    """A type: a non-empty comma-separated list of positive whole numbers (batch sizes)."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of positive whole numbers")
    return tuple(positive_int(part) for part in parts)


def bench_onnx(args: argparse.Namespace) -> int:
    """`graphc bench --onnx`: exit 1 when a model fails to run on either framework or the outputs differ."""
    from . import onnx_report, onnx_suite
    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None:
        print("graphc: error: bench --onnx needs onnx and onnxruntime: pip install 'graphc[onnx]'", file=sys.stderr)
        return 1
    chosen = {"models": args.models, "batches": args.batches, "threads": args.threads or 2}
    if args.rounds is not None:
        chosen["rounds"] = args.rounds
    make = onnx_suite.Settings.check if args.check or args.quick else onnx_suite.Settings
    settings = make(**chosen)
    results = onnx_suite.run(settings, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    command = args.argv or [os.path.basename(sys.argv[0])] + sys.argv[1:]
    print(onnx_report.markdown(results, command))
    if args.json:
        tmp = f"{args.json}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump({"settings": asdict(settings), "rows": results.rows, "header": report.header(command)}, f,
                      indent=1)
        os.replace(tmp, args.json)
    problems = onnx_suite.problems(results)
    for problem in problems:
        print(f"graphc: error: bench --onnx: {problem}", file=sys.stderr)
    return 1 if problems else 0


def bench(args: argparse.Namespace) -> int:
    """Run the suite; exit 1 when the frameworks' initial losses disagree (with --check: on any sanity problem)."""
    if args.onnx:
        return bench_onnx(args)
    frameworks = args.frameworks or (CHECK_FRAMEWORKS if args.check else suite.FRAMEWORKS)
    threads = args.threads or (1 if args.check else 2)
    chosen = {"workloads": args.workloads, "frameworks": frameworks, "threads": threads,
              "gemm_n": 0 if args.no_gemm else 1024, "pytensor_python": args.pytensor_python,
              "roofline": not args.no_roofline}
    if args.rounds is not None:
        chosen["rounds"] = args.rounds
    make = suite.Settings.check if args.check else suite.Settings.quick if args.quick else suite.Settings
    settings = make(**chosen)
    results = suite.run(settings, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    command = args.argv or [os.path.basename(sys.argv[0])] + sys.argv[1:]
    text = report.markdown(results, command)
    print(text)
    if args.json:
        tmp = f"{args.json}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump({"settings": asdict(settings), "runs": results.runs, "gemm": results.gemm,
                       "loss_errors": results.loss_errors, "header": report.header(command),
                       "roofline": roofline.summary(results)}, f, indent=1)
        os.replace(tmp, args.json)
    if args.check:
        problems = suite.sanity(results)
        for problem in problems:
            print(f"graphc: error: bench --check: {problem}", file=sys.stderr)
        if not problems:
            print(f"bench --check: {', '.join(settings.workloads)} compile and run on "
                  f"{', '.join(suite.GRAPHC_BUILDS)}; first losses agree; graphc-llvm's step is faster than "
                  "graphc-numpy's", file=sys.stderr)
        return 1 if problems else 0
    if results.loss_errors:
        print("graphc: error: bench: the frameworks' initial losses disagree (see the report)", file=sys.stderr)
        return 1
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Wire `graphc bench` into the `graphc` command."""
    p = sub.add_parser("bench", help="time the training-step workloads against PyTorch (eager and torch.compile), JAX "
                                     "and PyTensor (when installed)",
                       description="Times the training-step workloads on graphc-llvm, graphc-numpy and the installed "
                                   "peers, each in a fresh process, from the same initial weights (first losses "
                                   "checked equal), and prints a Markdown report; see docs/benchmarks.md.")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="few repeats (10 steps or 2 s per median): a smoke run")
    mode.add_argument("--check", action="store_true",
                      help="CI's sanity run (graphc-llvm, graphc-numpy and torch unless --frameworks says otherwise; "
                           "a few steps, no GEMM or roofline): exit 1 unless every workload compiles and runs on both "
                           "graphc builds, the first losses agree and graphc-llvm's step beats graphc-numpy's")
    p.add_argument("--workloads", type=subset(tuple(WORKLOADS)), default=tuple(WORKLOADS),
                   help="comma-separated subset, e.g. W1,W3 (default all)")
    p.add_argument("--frameworks", type=subset(suite.FRAMEWORKS),
                   help=f"comma-separated subset of {','.join(suite.FRAMEWORKS)} (default all; with --check: "
                        f"{','.join(CHECK_FRAMEWORKS)})")
    p.add_argument("--threads", type=positive_int,
                   help="threads every framework may use (default 2; with --check 1: two BLAS threads on a loaded "
                        "machine spin against each other, and a sanity ratio must not depend on the load)")
    p.add_argument("--rounds", type=positive_int,
                   help="runs of every framework per workload, in turn; the report takes their median "
                        "(default 3, 1 with --quick or --check)")
    p.add_argument("--no-gemm", action="store_true", help="skip the 1024^3 GEMM rates")
    p.add_argument("--no-roofline", action="store_true",
                   help="skip measuring the machine's peak FMA rate and memory bandwidth, and the roofline table")
    p.add_argument("--pytensor-python", metavar="PYTHON", type=_executable,
                   help="run PyTensor under this interpreter (a virtual environment with Numba, whose llvmlite "
                        "differs from graphc's; see docs/benchmarks.md)")
    p.add_argument("--json", metavar="PATH", type=output_file, help="also write the raw results as JSON")
    onnx = p.add_argument_group("ONNX inference against onnxruntime (needs the onnx extra)")
    onnx.add_argument("--onnx", action="store_true",
                      help="time ONNX models' inference on graphc-llvm and onnxruntime's CPU provider instead of the "
                           "training workloads (outputs checked equal; exit 1 when a model fails or they differ); "
                           "with --check or --quick: one round of a few runs")
    onnx.add_argument("--models", type=subset(ONNX_MODELS), default=ONNX_MODELS,
                      help=f"with --onnx: comma-separated subset of {','.join(ONNX_MODELS)} (default all)")
    onnx.add_argument("--batches", type=positive_ints, default=(1, 16),
                      help="with --onnx: comma-separated batch sizes (default 1,16)")
    p.set_defaults(run=bench, argv=None)


def main(argv: list[str] | None = None) -> int:
    """benchmarks/run.py's entry: the same options as `graphc bench`."""
    parser = argparse.ArgumentParser(prog="benchmarks/run.py")
    add_parser(parser.add_subparsers(dest="command", required=True))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(["bench"] + argv)
    args.argv = ["python3", "benchmarks/run.py"] + argv
    return args.run(args)
