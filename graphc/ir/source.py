"""Where in the user's code a tensor was declared.

Every node records the first stack frame outside graphc itself, so that errors
(and visualizations) point at the user's line, never at graphc internals.
"""
from __future__ import annotations

import contextlib
import functools
import linecache
import os
import sys
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_INTERNAL_DIRS: list[str] = [_PKG_DIR + os.sep]


def register_internal_dir(path: str) -> None:
    """Frames under `path` are graphc's own (used for the installed `graphc.backends`)."""
    path = os.path.abspath(path) + os.sep
    if path not in _INTERNAL_DIRS:
        _INTERNAL_DIRS.append(path)


@dataclass(frozen=True, eq=False)
class Scope:
    """What a node was built inside: a module call (`features.0`, a `Conv2d`) or an optimizer's update.

    Views draw each scope as a box (`gc.viz`). `declared` is the user's line that made the module,
    `called` the line that called it; `params` are the (attribute name, parameter) pairs the module
    owns, or for an optimizer's update the one parameter it updates (name "")."""

    path: str  # dotted module path ("" for the model called by the user), or the optimizer's class name
    kind: str  # "module" or "optimizer"
    type: str  # the module's or optimizer's class name
    declared: "SourceLoc | None" = None
    called: "SourceLoc | None" = None
    parent: "Scope | None" = None
    params: tuple = ()


SCOPE: ContextVar["Scope | None"] = ContextVar("graphc_scope", default=None)


@contextlib.contextmanager
def in_scope(scope: "Scope | None") -> Iterator[None]:
    """Nodes built inside carry `scope` in their location (`node.loc.scope`)."""
    token = SCOPE.set(scope)
    try:
        yield
    finally:
        SCOPE.reset(token)


def current_scope() -> "Scope | None":
    return SCOPE.get()


def name_scope(name: str) -> "Scope | None":
    """The scope a '/'-separated node name gives, as PyTorch's ONNX exporter names nodes:
    `/features/features.0/Conv` was built in `features.0` inside `features` (imported models' boxes)."""
    parts = tuple(p for p in name.split("/") if p)[:-1]
    return _name_scope(parts) if parts else None


@functools.lru_cache(maxsize=4096)
def _name_scope(parts: tuple[str, ...]) -> Scope:
    """One Scope object per path, so the nodes of one module share it."""
    return Scope(parts[-1], "module", "", parent=_name_scope(parts[:-1]) if len(parts) > 1 else None)


def scoped(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Nodes `fn` builds carry a scope named after it, so views draw a call of a loss as one box."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with in_scope(Scope(fn.__name__, "function", fn.__name__, None, user_location(), SCOPE.get())):
            return fn(*args, **kwargs)
    return wrapper


@dataclass(frozen=True)
class SourceLoc:
    filename: str
    lineno: int
    function: str
    scope: Scope | None = field(default=None, compare=False)  # the module call or update it was built in

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
            return SourceLoc(filename, frame.f_lineno, frame.f_code.co_name, SCOPE.get())
        frame = frame.f_back
    return None


def construction_site(obj: object) -> SourceLoc | None:
    """The user's line that constructed `obj`: the innermost frame outside graphc and outside `obj`'s
    own constructors (a user's module subclass runs its `__init__` in the user's file)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not (_is_internal(filename) or _is_generated_by_graphc(frame) or frame.f_locals.get("self") is obj):
            return SourceLoc(filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None


def user_stacklevel() -> int:
    """The `stacklevel` at which a `warnings.warn` made by this function's caller names the user's line."""
    frame, level = sys._getframe(1), 1
    while frame is not None and (_is_internal(frame.f_code.co_filename) or _is_generated_by_graphc(frame)):
        frame, level = frame.f_back, level + 1
    return level
