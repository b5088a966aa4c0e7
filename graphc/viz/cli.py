"""`graphc viz script.py:object --stage S --out FILE`: draw a graph a script builds, without editing it."""
from __future__ import annotations

import argparse
import os
import runpy
import sys
import traceback
from typing import Any

from ..cliargs import natural_int, output_file
from ..ir.errors import GraphcError, InputError
from ..ir.source import SourceLoc
from .export import EXTENSIONS, save
from .stages import stage_names


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("viz", help="draw the graph of a tensor or function defined in a script",
                              description=__doc__)
    p.add_argument("target", metavar="PATH/TO/script.py:object",
                   help="the script (run as with `python script.py`, but not as __main__) and the name of "
                        "a Tensor, list of Tensors or Function it defines")
    p.add_argument("--stage", default="forward", help=f"which graph to draw: {', '.join(stage_names())}")
    p.add_argument("--out", required=True, type=_out, help=f"the file to write; its extension picks the format: "
                                                          f"{', '.join(EXTENSIONS)}")
    p.add_argument("--depth", type=natural_int, default=None, help="keep only nodes this many edges above an output")
    p.add_argument("--expand", type=natural_int, default=0,
                   help="open module boxes down to this depth (0: every module, gradient and optimizer box closed)")
    p.add_argument("--search", "--highlight", dest="search", default="", metavar="TERM",
                   help="mark the nodes whose op, name, module path or source line contains TERM (in a page: "
                        "fill its search box)")
    p.add_argument("--hide-optimizer", action="store_true", help="leave out the optimizer's update nodes")
    p.add_argument("--snapshots", action="store_true",
                   help="(.html) add a timeline of the graph after each optimization pass")
    p.set_defaults(run=run)


def _out(text: str) -> str:
    """--out: a file in an existing folder, with an extension `save` knows (checked before running the script)."""
    if os.path.splitext(text)[1].lower() not in EXTENSIONS:
        raise argparse.ArgumentTypeError(f"cannot tell the format of {text!r}: use one of the extensions "
                                         f"{', '.join(EXTENSIONS)}")
    return output_file(text)


def run(args: argparse.Namespace) -> int:
    obj = load(args.target)
    options = dict(stage=args.stage, max_depth=args.depth, expand=args.expand, search=args.search,
                   hide_optimizer=args.hide_optimizer)
    if args.snapshots:
        if not args.out.lower().endswith(".html"):
            raise InputError("viz: --snapshots needs an .html --out (the timeline is a page's)", locate=False)
        from ..passes import optimize
        from .model import declared
        options["snapshots"] = optimize(declared(obj)[0], snapshots=True)[1].snapshots()
    save(obj, args.out, **options)
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
        namespace = _run_script(path)
    finally:
        sys.path.remove(folder)
    if name not in namespace:
        found = sorted(k for k, v in namespace.items() if _drawable(v))
        raise InputError(f"viz: {path} defines no {name!r}", locate=False,
                         fix=f"it defines these drawable objects: {', '.join(found) or 'none'}")
    return namespace[name]


def _run_script(path: str) -> dict[str, Any]:
    """The script's globals; its own failure (a syntax error, an exception, sys.exit) becomes an InputError at
    the script's line. A graphc error it raises passes through: it already names the user's line."""
    try:
        return runpy.run_path(path, run_name="__graphc_viz__")
    except GraphcError:
        raise
    except SyntaxError as e:
        loc = SourceLoc(os.path.abspath(e.filename or path), e.lineno or 1, "<module>")
        raise InputError(f"viz: the script {path} has a syntax error: {e.msg}", loc=loc,
                         fix=f"correct it; python {path} shows the same error") from None
    except (Exception, SystemExit) as e:  # noqa: BLE001 - whatever the user's script raises is reported, not a crash
        script = os.path.abspath(path)
        lines = [f.lineno for f in traceback.extract_tb(e.__traceback__) if os.path.abspath(f.filename) == script]
        loc = SourceLoc(script, lines[-1], "<module>") if lines and lines[-1] else None
        if isinstance(e, SystemExit):
            what, fix = f"exited (sys.exit({e.code!r}))", "put what runs the script under if __name__ == '__main__':"
        else:
            what, fix = f"raised {type(e).__name__}: {e}", f"run python {path} to see the whole traceback"
        raise InputError(f"viz: the script {path} {what} before graphc could draw anything", loc=loc, locate=False,
                         fix=fix) from None


def _drawable(v: Any) -> bool:
    from ..function import Function
    from ..ir import Graph, Tensor
    return isinstance(v, (Tensor, Function, Graph)) or (
        isinstance(v, (list, tuple)) and bool(v) and all(isinstance(t, Tensor) for t in v))
