"""PNG plots (matplotlib, imported only here and only when a plot is drawn)."""
from __future__ import annotations

import io
from typing import Sequence

from .finite import Sweep, optimal_step
from .atomic import write_atomic
from .study import Study

#: What each curve of the size plot shows: (method, size field, label).
SIZE_CURVES = (
    ("symbolic", "tree", "symbolic: tree"),
    ("symbolic", "shared", "symbolic: after CSE"),
    ("reverse", "shared", "reverse mode: graph ops"),
    ("forward", "shared", "forward mode: graph ops"),
)


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: str) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    write_atomic(path, buf.getvalue())


def plot_sizes(studies: Sequence[Study], path: str) -> None:
    """Derivative size against depth on a log scale, one panel per family."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(studies), figsize=(5.5 * len(studies), 4.2), squeeze=False)
    for ax, study in zip(axes[0], studies):
        ax.plot(study.depths, study.forward_ops, "k--", label="forward graph ops")
        for method, size, label in SIZE_CURVES:
            pts = study.series(method, size)
            if pts:
                ax.plot(*zip(*pts), "o-", ms=3, label=label)
        for method, depth in study.exceeded().items():
            ax.axvline(depth, color="grey", lw=0.6, ls=":")
            ax.text(depth, ax.get_ylim()[1], f" {method} exceeded", rotation=90, va="top", fontsize=7)
        ax.set_yscale("log")
        ax.set(title=study.family, xlabel="depth", ylabel="operations")
        ax.legend(fontsize=7)
    _save(fig, path)
    plt.close(fig)


def plot_sweeps(sweeps: Sequence[Sweep], path: str) -> None:
    """Finite-difference error against step size (log-log), with the textbook optimal steps marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for sweep in sweeps:
        for scheme, errors in sweep.errors.items():
            line, = ax.loglog(sweep.steps, [max(e, 1e-17) for e in errors], "o-", ms=3,
                              label=f"{scheme}, {sweep.dtype}")
            ax.axvline(optimal_step(scheme, sweep.dtype), color=line.get_color(), lw=0.7, ls=":")
    ax.invert_xaxis()
    ax.set(xlabel="step h", ylabel="max |error| / max |derivative|",
           title="finite differences: truncation (left) against rounding (right)")
    ax.legend(fontsize=8)
    _save(fig, path)
    plt.close(fig)
