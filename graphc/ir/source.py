"""Where in the user's code a tensor was declared.

Every node records the first stack frame outside graphc itself, so that errors
(and visualizations) point at the user's line, never at graphc internals.
"""
from __future__ import annotations

import contextlib
import linecache
import os
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_INTERNAL_DIRS: list[str] = [_PKG_DIR + os.sep]


def register_internal_dir(path: str) -> None:
    """Frames under `path` are graphc's own (used for the installed `graphc.backends`)."""
    path = os.path.abspath(path) + os.sep
    if path not in _INTERNAL_DIRS:
        _INTERNAL_DIRS.append(path)


@dataclass(frozen=True)
class SourceLoc:
    filename: str
    lineno: int
    function: str

    @property
    def code(self) -> str:
        return linecache.getline(self.filename, self.lineno).strip()

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno}"

    def describe(self) -> str:
        code = self.code
        return f"{self}: {code}" if code else str(self)


def _is_internal(filename: str) -> bool:
    return any(filename.startswith(d) for d in _INTERNAL_DIRS)


def _is_generated_by_graphc(frame) -> bool:
    """Code graphc generates at run time (a dataclass's `__init__` runs from '<string>' in the globals
    of the graphc module that declared it) is graphc's own too: the user's line is the one calling it."""
    return frame.f_code.co_filename.startswith("<") and frame.f_globals.get("__name__", "").startswith("graphc.")


INHERITED: ContextVar["SourceLoc | None"] = ContextVar("graphc_inherited_loc", default=None)


@contextlib.contextmanager
def inherit_location(loc: "SourceLoc | None") -> Iterator[None]:
    """Nodes built inside take `loc`: rewrites and gradients keep the user's line of what they replace."""
    token = INHERITED.set(loc)
    try:
        yield
    finally:
        INHERITED.reset(token)


def user_location() -> SourceLoc | None:
    """The location new nodes get: an inherited one, else the innermost frame outside graphc."""
    inherited = INHERITED.get()
    if inherited is not None:
        return inherited
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _is_internal(filename) and not _is_generated_by_graphc(frame):
            return SourceLoc(filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None


def user_stacklevel() -> int:
    """The `stacklevel` at which a `warnings.warn` made by this function's caller names the user's line."""
    frame, level = sys._getframe(1), 1
    while frame is not None and (_is_internal(frame.f_code.co_filename) or _is_generated_by_graphc(frame)):
        frame, level = frame.f_back, level + 1
    return level
