"""`graphc viz script.py:object --stage S --out FILE`: draw a graph a script builds, without editing it."""
from __future__ import annotations

import argparse
import os
import runpy
import sys
from typing import Any

from ..ir.errors import InputError
from .export import EXTENSIONS, save
from .stages import stage_names


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("viz", help="draw the graph of a tensor or function defined in a script",
                              description=__doc__)
    p.add_argument("target", metavar="PATH/TO/script.py:object",
                   help="the script (run as with `python script.py`, but not as __main__) and the name of "
                        "a Tensor, list of Tensors or Function it defines")
    p.add_argument("--stage", default="forward", help=f"which graph to draw: {', '.join(stage_names())}")
    p.add_argument("--out", required=True, help=f"the file to write; its extension picks the format: "
                                                f"{', '.join(EXTENSIONS)}")
    p.add_argument("--depth", type=int, default=None, help="keep only nodes this many edges above an output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    save(load(args.target), args.out, stage=args.stage, max_depth=args.depth)
    print(f"wrote {args.out}")
    return 0


def load(target: str) -> Any:
    """Run the script of `path.py:name` and return the object it binds to `name`."""
    path, _, name = target.rpartition(":")
    if not path or not name:
        raise InputError(f"viz: expected PATH/TO/script.py:object, got {target!r}", locate=False)
    if not os.path.isfile(path):
        raise InputError(f"viz: no script at {path!r}", locate=False)
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)  # the script may import its neighbours, as under `python script.py`
    try:
        namespace = runpy.run_path(path, run_name="__graphc_viz__")
    finally:
        sys.path.remove(folder)
    if name not in namespace:
        found = sorted(k for k, v in namespace.items() if _drawable(v))
        raise InputError(f"viz: {path} defines no {name!r}", locate=False,
                         fix=f"it defines these drawable objects: {', '.join(found) or 'none'}")
    return namespace[name]


def _drawable(v: Any) -> bool:
    from ..function import Function
    from ..ir import Graph, Tensor
    return isinstance(v, (Tensor, Function, Graph)) or (
        isinstance(v, (list, tuple)) and bool(v) and all(isinstance(t, Tensor) for t in v))
