"""A Markdown report with its PNG plots, each file written atomically."""
from __future__ import annotations

import os
from typing import Sequence

from .atomic import write_atomic
from .comparison import Comparison
from .finite import Sweep
from .plots import plot_sizes, plot_sweeps
from .study import Study
from .tables import markdown_table, study_table, sweep_table, table

SIZES_PNG = "sizes.png"
SWEEP_PNG = "fd_sweep.png"

NOTES = """\
Columns: *tree* is the derivative written out as formulas without sharing (symbolic only);
*shared* is its size with sharing: after `sympy.cse` for symbolic, op nodes of the derivative
graph for reverse and forward mode, the forward graph for finite differences (run once per
evaluation); *new ops* are the derivative graph's nodes that the forward graph lacks.
*derive* builds the derivative, *compile* turns it into a callable (CSE + lambdify, or
`gc.function` plus its first call), *evaluate* is the best of a few calls. Errors are
max |g - ref| and that divided by max |ref|, against mpmath at 50 digits."""


def write_report(folder: str, title: str, comparisons: Sequence[Comparison] = (),
                 studies: Sequence[Study] = (), sweeps: Sequence[Sweep] = ()) -> str:
    """Write `report.md` (and `sizes.png`, `fd_sweep.png` when there is data) into `folder`; return its path."""
    parts = [f"# {title}", NOTES]
    for c in comparisons:
        parts.append("## " + table(c, markdown_table))
    if studies:
        plot_sizes(studies, os.path.join(folder, SIZES_PNG))
        parts.append(f"## Derivative size against depth\n\n![sizes]({SIZES_PNG})")
        for s in studies:
            limits = ", ".join(f"{m} at depth {d}" for m, d in s.exceeded().items()) or "none"
            parts.append(f"### {s.family}\n\nLimits hit: {limits}.\n\n{study_table(s, markdown_table)}")
    if sweeps:
        plot_sweeps(sweeps, os.path.join(folder, SWEEP_PNG))
        parts.append(f"## Finite differences: error against step size\n\n![sweep]({SWEEP_PNG})\n\n"
                     + sweep_table(sweeps, markdown_table))
    path = os.path.join(folder, "report.md")
    write_atomic(path, "\n\n".join(parts) + "\n")
    return path
