"""graphc's exceptions: each message leads with the user's source line.

A message has three parts, in this order: where (the user's file:line and code),
what (the op, with the shapes and dtypes of its operands), and how to fix it.
"""
from __future__ import annotations

from .source import SourceLoc, user_location


class GraphcError(Exception):
    """Base class of every error graphc raises on purpose."""

    def __init__(self, what: str, *, fix: str | None = None, loc: SourceLoc | None = None,
                 locate: bool = True):
        if loc is None and locate:
            loc = user_location()
        self.loc = loc
        self.what = what
        self.fix = fix
        parts = [loc.describe()] if loc is not None else []
        parts.append(what)
        if fix:
            parts.append(f"fix: {fix}")
        super().__init__("\n  ".join(parts))

    def located(self, loc: SourceLoc | None) -> "GraphcError":
        """This error led by `loc`: an op's NumPy rule raises it at run time without knowing its node."""
        return type(self)(self.what, fix=self.fix, loc=loc, locate=False)


class ShapeError(GraphcError, ValueError):
    """Operand shapes do not fit the op (raised when the op is declared)."""


class DTypeError(GraphcError, TypeError):
    """Operand dtypes do not fit the op (raised when the op is declared)."""


class ArgumentError(GraphcError, ValueError):
    """An argument's value is outside what it may be (a learning rate, a probability, an epsilon)."""


class InputError(GraphcError, ValueError):
    """A compiled function was called with arguments that do not match its inputs."""


class ModeError(InputError):
    """A compiled function was called with a layer in another mode (train/eval) than it was built in."""


class GradientError(GraphcError, ValueError):
    """A gradient was asked for that does not exist (disconnected or integer input)."""


class IndexRangeError(GraphcError, IndexError):
    """An index of a gather (take, Embedding) or a class label is out of range (found at run time)."""


class BackendError(GraphcError, RuntimeError):
    """A backend is unknown, unavailable, or cannot compile a graph."""


class CheckpointError(GraphcError, ValueError):
    """A checkpoint cannot be read, is of a newer format, or does not fit the model or optimizer."""


class NonFiniteError(GraphcError, FloatingPointError):
    """A checked step (`check_finite=True`) or `fit` made a NaN or an infinity (found at run time)."""


class BackendFallbackWarning(UserWarning):
    """`backend="auto"` runs a function on the NumPy reference because the llvm build cannot be used here
    (llvmlite has no native target on this host, or cannot compile this graph). It is said once per reason
    in a process; the function keeps it in `fn.backend_reason`, and `backend="numpy"` chooses the reference
    without it."""
