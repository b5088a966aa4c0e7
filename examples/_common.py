"""What every example shares: the `--out DIR`/`--quick` flags, and announcing and saving what it writes.

Kept tiny on purpose, so each example still reads top to bottom on its own. Every example's
`main(argv)` parses its command line here, writes only into `--out` (default `examples/out/`,
git-ignored, made if missing), and prints `wrote PATH` for each file it writes;
tests/test_examples.py runs each one with `--quick --out <tmp>` and checks exactly that.
"""
from __future__ import annotations

import argparse
import os
from typing import Callable, Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no display: the examples run headless and in CI
import matplotlib.pyplot as plt  # noqa: E402

from graphc.cliargs import output_folder  # noqa: E402

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def parse_args(doc: str | None, argv: Sequence[str] | None = None,
               options: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """`--out DIR` (made if missing) and `--quick`, plus the example's own `options`; `argv` as for argparse."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=output_folder, default=DEFAULT_OUT,
                        help="folder for everything the example writes (default: examples/out/, made if missing)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and few steps: the settings tests/test_examples.py runs")
    if options is not None:
        options(parser)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    return args


def wrote(path: str) -> str:
    """Announce a file the example wrote (`wrote PATH`, the line the tests check) and return its path."""
    print(f"wrote {path}")
    return path


def save(fig: plt.Figure, out: str, name: str) -> str:
    """Write `fig` to out/name as PNG, close it, announce it and return its path."""
    path = os.path.join(out, name)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return wrote(path)


def training_result(curve: Sequence[float], acc: float, out: str, name: str, xlabel: str, title: str,
                    log: bool = True) -> dict:
    """Plot a training loss curve to out/name (titled with the test accuracy) and return what the
    example's main returns: the accuracy and the first and last losses."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    steps = range(1, len(curve) + 1)
    if log:
        ax.semilogy(steps, curve)
    else:
        ax.plot(steps, curve, marker="o")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cross-entropy" if log else "mean cross-entropy")
    ax.set_title(f"{title}: test accuracy {acc:.1%}")
    save(fig, out, name)
    return {"accuracy": acc, "first_loss": curve[0], "last_loss": curve[-1]}


def report(out: str, name: str, title: str, **parts) -> str:
    """Write a `graphc.compare` report (report.md and its plots) into out/name; announce each file."""
    from graphc.compare.report import write_report
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    path = write_report(folder, title, **parts)
    for file in sorted(os.listdir(folder)):
        wrote(os.path.join(folder, file))
    return path
