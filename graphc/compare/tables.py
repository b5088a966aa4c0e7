"""Tables of results: aligned text for the terminal, or Markdown."""
from __future__ import annotations

from typing import Callable, Sequence

from .comparison import Comparison
from .finite import Sweep
from .result import MethodResult
from .study import Study

HEADER = ["method", "status", "tree", "shared", "new ops", "derive", "compile", "evaluate",
          "max abs err", "max rel err", "note"]


def _num(v: float | int | None, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    if unit == "s":
        return f"{v * 1e3:.3g} ms" if v < 1 else f"{v:.3g} s"
    return f"{v:.2e}"


def result_row(r: MethodResult) -> list[str]:
    return [r.method, r.status, _num(r.tree), _num(r.shared), _num(r.new), _num(r.derive_s, "s"),
            _num(r.compile_s, "s"), _num(r.eval_s, "s"), _num(r.abs_err), _num(r.rel_err), r.note]


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x).replace("|", "\\|") for x in row) + " |" for row in rows]
    return "\n".join(lines)


def comparison_rows(c: Comparison) -> list[list[str]]:
    return [result_row(r) for r in c.results]


def table(c: Comparison, render: Callable = text_table) -> str:
    """One problem's methods, side by side (`render=markdown_table` for Markdown)."""
    title = f"{c.problem.name or 'problem'} ({c.problem.n_elements} inputs, {c.problem.dtype}); " \
            f"reference: {c.reference_label}"
    return title + "\n\n" + render(HEADER, comparison_rows(c))


def study_table(study: Study, render: Callable = text_table) -> str:
    """Per depth: the forward graph's ops, and each method's sizes and errors."""
    header = ["depth", "forward ops"] + HEADER
    rows = [[str(d), str(ops)] + result_row(r)
            for d, ops, c in zip(study.depths, study.forward_ops, study.comparisons) for r in c.results]
    return render(header, rows)


def sweep_table(sweeps: Sequence[Sweep], render: Callable = text_table) -> str:
    """Relative error per step size h, one column per (dtype, scheme)."""
    cols = [(s, scheme) for s in sweeps for scheme in s.errors]
    header = ["h"] + [f"{s.dtype} {scheme}" for s, scheme in cols]
    rows = [[f"{h:.0e}"] + [f"{s.errors[scheme][i]:.2e}" for s, scheme in cols]
            for i, h in enumerate(sweeps[0].steps)]
    best = ["best h"] + [f"{s.best_step(scheme):.0e}" for s, scheme in cols]
    return render(header, rows + [best])
