"""SVG, PNG and PDF through the Graphviz `dot` program (DOT text itself needs no program)."""
from __future__ import annotations

import os
import shutil
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
        raise BackendError(f"viz: Graphviz failed to render {fmt}: {result.stderr.decode(errors='replace').strip()}",
                           locate=False)
    return result.stdout


def write_rendered(dot_text: str, path: str | os.PathLike, fmt: str | None = None) -> None:
    """Render to `path`, in the format its extension names unless `fmt` is given."""
    fmt = fmt or os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise BackendError(f"viz: cannot render {os.fspath(path)!r}: the formats are {', '.join(FORMATS)}",
                           locate=False)
    write_atomic(path, render(dot_text, fmt))
