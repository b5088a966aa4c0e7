"""Recording module calls: `with gc.nn.record_calls() as calls: model(x)` lists every module call
made inside, for the views built from them (`gc.viz` draws modules as boxes, `model.summary()`
tabulates them). A module notes its own calls (`Module.__call__`); nothing is kept outside a recording.
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Iterator

from ..ir import Tensor


@dataclass(frozen=True)
class Call:
    """One module call while recording: which module, its tensor inputs, its tensor outputs."""

    module: Any  # the gc.nn.Module called
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]


_CALLS: ContextVar[list[Call] | None] = ContextVar("graphc_module_calls", default=None)


@contextlib.contextmanager
def record_calls() -> Iterator[list[Call]]:
    """Record every module call made inside (for drawing modules as boxes with gc.viz)."""
    calls: list[Call] = []
    token = _CALLS.set(calls)
    try:
        yield calls
    finally:
        _CALLS.reset(token)


def note_call(module: Any, args: list[Any], out: Any) -> None:
    """Record that `module` was called on `args` and returned `out`, if a `record_calls` is open."""
    calls = _CALLS.get()
    if calls is not None:
        calls.append(Call(module, _tensors(args), _tensors(out)))


def _tensors(value: Any) -> tuple[Tensor, ...]:
    if isinstance(value, Tensor):
        return (value,)
    if isinstance(value, (tuple, list)):
        return tuple(t for v in value for t in _tensors(v))
    return ()
