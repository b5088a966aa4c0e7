"""SVG, PNG and PDF through the Graphviz `dot` program (DOT text itself needs no program)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess

from ..ir.errors import BackendError
from .files import write_atomic

FORMATS = ("svg", "png", "pdf")


class GraphvizNotFound(BackendError):
    """Rendering needs Graphviz's `dot` program, which is not on PATH."""


def dot_program() -> str:
    path = shutil.which("dot")
    if path is None:
        raise GraphvizNotFound("viz: rendering SVG/PNG/PDF needs Graphviz's `dot` program, which is not on PATH",
                               fix="install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew "
                                   "install graphviz; conda: conda install graphviz), or export DOT text "
                                   "with gc.viz.to_dot / a .dot file", locate=False)
    return path


def render(dot_text: str, fmt: str) -> bytes:
    """`dot_text` laid out and drawn by Graphviz in format `fmt` (svg, png, pdf, or any -T format)."""
    result = subprocess.run([dot_program(), f"-T{fmt}"], input=dot_text.encode(), capture_output=True)
    if result.returncode != 0:
        said = result.stderr.decode(errors="replace").strip()
        said = f"it said: {said[-800:]}" if said else "it printed nothing (out of memory or stack, on a large graph)"
        raise BackendError(f"viz: Graphviz's dot failed to render {fmt} ({_ended(result.returncode)}); {said}",
                           locate=False,
                           fix="for a large graph write .html (its layout is graphc's own, linear in the graph), or "
                               "draw fewer nodes with --depth / max_depth=; write .dot to run dot on it yourself")
    return result.stdout


def _ended(returncode: int) -> str:
    """How a process ended: its exit status, or the signal that killed it."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"


def write_rendered(dot_text: str, path: str | os.PathLike, fmt: str | None = None) -> None:
    """Render to `path`, in the format its extension names unless `fmt` is given."""
    fmt = fmt or os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise BackendError(f"viz: cannot render {os.fspath(path)!r}: the formats are {', '.join(FORMATS)}",
                           locate=False)
    write_atomic(path, render(dot_text, fmt))
