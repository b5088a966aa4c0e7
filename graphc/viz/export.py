"""`gc.viz.save`: one entry point that picks the format from the file's extension."""
from __future__ import annotations

import os
from typing import Any

from ..ir.errors import InputError
from .dot import dot_source
from .files import write_atomic
from .html import write_html
from .model import build, marked
from .nxgraph import view_networkx, write_graphml, write_json
from .render import FORMATS, write_rendered
from .stages import stage_names

EXTENSIONS = (".dot", ".gv", ".graphml", ".json", ".html") + tuple(f".{f}" for f in FORMATS)


def save(obj: Any, path: str | os.PathLike, stage: str = "forward", **options: Any) -> None:
    """Write `obj` at `stage` to `path` as DOT, GraphML, JSON, HTML, SVG, PNG or PDF (by extension).

    An HTML page shows `stage` first and offers every other available stage; the
    other formats hold the one stage. `expand` (module boxes opened down to that depth), and for
    HTML `snapshots`, `search` and `title`: see `gc.viz.to_html`; other options: see `gc.viz.build`.
    """
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext == ".html":
        write_html(obj, path, [stage] + [s for s in stage_names() if s != stage], **options)
        return
    if ext not in EXTENSIONS:
        raise InputError(f"viz: cannot tell the format of {os.fspath(path)!r}",
                         fix=f"use one of the extensions {', '.join(EXTENSIONS)}", locate=False)
    expand = options.pop("expand", 0)
    term = options.pop("search", "")
    options.pop("title", None)
    if options.pop("snapshots", None):
        raise InputError("viz: pass snapshots (a pass timeline) only to an .html file", locate=False)
    view = marked(build(obj, stage, **options), term)
    if ext in (".dot", ".gv"):
        write_atomic(path, dot_source(view, expand))
    elif ext == ".graphml":
        write_graphml(view_networkx(view), path)
    elif ext == ".json":
        write_json(view_networkx(view), path)
    else:
        write_rendered(dot_source(view, expand), path)
