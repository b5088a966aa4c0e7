"""What every lecture example shares: the `--out`/`--quick` flags and saving a figure as PNG.

Kept tiny on purpose, so each example still reads top to bottom on its own.
"""
from __future__ import annotations

import argparse
import os

import matplotlib

matplotlib.use("Agg")  # files only, no display: the examples run headless and in CI
import matplotlib.pyplot as plt  # noqa: E402

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def parse_args(doc: str | None) -> argparse.Namespace:
    """`--out DIR` for the PNGs and `--quick` for the short settings the tests use."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT, help="directory for the PNG plots (default: examples/out/)")
    parser.add_argument("--quick", action="store_true", help="fewer steps: the settings tests/test_examples.py uses")
    return parser.parse_args()


def save(fig: plt.Figure, out: str, name: str) -> str:
    """Write `fig` to out/name, close it, and return the path (printed by the caller)."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
