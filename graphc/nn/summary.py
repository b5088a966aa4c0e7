"""`model.summary(...)`: a table of the layers a forward pass calls, their output shapes and sizes.

Like Keras's `model.summary()` and torchinfo: the model is called once on placeholders of the given
input shapes (a free batch dim stays `None`), every module call is recorded, and each row shows the
module's path, its type, the shape it returned and the parameters it holds. Building that graph
computes nothing, and the modules are left as they were (a train-mode BatchNorm keeps the batch
statistics of the graph you built, not those of the summary's).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Protocol, runtime_checkable

import numpy as np

from ..ir import InputError, Tensor, placeholder
from ..ir.dtypes import is_float
from .calls import record_calls

Shape = tuple  # tuple[int | None, ...]


@runtime_checkable
class ModuleTree(Protocol):
    """What a summary reads of a model: `gc.nn.Module`'s tree (module.py builds on this file, so the
    summary names the interface rather than the class)."""

    def __call__(self, *args: Any) -> Any: ...

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Any]]: ...

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]: ...

    def parameters(self) -> list[Tensor]: ...


@dataclass(frozen=True)
class Row:
    """One module call: `params` counts what it holds itself (and uncalled sub-modules; see `summary`)."""

    path: str
    type: str
    output_shapes: tuple[Shape, ...]
    params: int
    depth: int
    shared: bool = False  # a later call of a module already listed: its parameters were counted there


@dataclass(frozen=True)
class Summary:
    """The rows and totals of `summary`; `str()` (and `repr()`) is the table."""

    model: str
    rows: tuple[Row, ...]
    trainable_params: int
    non_trainable_params: int
    trainable_bytes: int
    non_trainable_bytes: int

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def total_bytes(self) -> int:
        return self.trainable_bytes + self.non_trainable_bytes

    def __str__(self) -> str:
        head = ("Layer (type)", "Output shape", "Param #")
        body = [("  " * r.depth + (f"{r.path} ({r.type})" if r.path else f"({r.type})"),
                 ", ".join(_shape(s) for s in r.output_shapes),
                 "(shared)" if r.shared else f"{r.params:,}") for r in self.rows]
        widths = [max(len(c[i]) for c in [head, *body]) for i in range(3)]
        line = lambda cells: f"{cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]:>{widths[2]}}"  # noqa: E731
        rule = "=" * len(line(head))
        return "\n".join([f"Model: {self.model}", rule, line(head), rule, *map(line, body), rule,
                          f"Total params: {self.total_params:,} ({_bytes(self.total_bytes)})",
                          f"Trainable params: {self.trainable_params:,} ({_bytes(self.trainable_bytes)})",
                          f"Non-trainable params: {self.non_trainable_params:,} "
                          f"({_bytes(self.non_trainable_bytes)})"])

    __repr__ = __str__


def _shape(shape: Shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def _inputs(input_shape: Any, dtype: Any) -> list[Tensor]:
    """Placeholders for one shape, several shapes, or the given tensors as they are."""
    if isinstance(input_shape, Tensor):
        return [input_shape]
    if not isinstance(input_shape, (tuple, list)):
        raise InputError(f"summary: input_shape must be a shape such as (None, 784) or a list of shapes, "
                         f"got {input_shape!r}", fix="pass the input's shape with None for the batch dim")
    several = len(input_shape) > 0 and all(isinstance(s, (tuple, list, Tensor)) for s in input_shape)
    shapes = list(input_shape) if several else [input_shape]
    dtypes = list(dtype) if isinstance(dtype, (tuple, list)) else [dtype] * len(shapes)
    if len(dtypes) != len(shapes):
        raise InputError(f"summary: {len(shapes)} input shapes but {len(dtypes)} dtypes",
                         fix="give one dtype for all inputs or one per input")
    return [s if isinstance(s, Tensor) else placeholder(tuple(s), d, name=f"input{i}")
            for i, (s, d) in enumerate(zip(shapes, dtypes))]


def _owner(path: str, called: set[str]) -> str:
    """The nearest module at or above `path` that was called (the root counts as called)."""
    while path and path not in called:
        path = path.rpartition(".")[0]
    return path


def _preorder(calls: list[tuple[str, Any]]) -> list[tuple[str, Any, int]]:
    """Calls recorded as they return (children first) reordered parent first, with their depth."""
    trees: list[tuple[str, Any, list]] = []
    for path, call in calls:
        kids = []
        while trees and path != trees[-1][0] and (not path or trees[-1][0].startswith(path + ".")):
            kids.insert(0, trees.pop())
        trees.append((path, call, kids))
    out: list[tuple[str, Any, int]] = []

    def walk(nodes: list, depth: int) -> None:
        for path, call, kids in nodes:
            out.append((path, call, depth))
            walk(kids, depth + 1)
    walk(trees, 0)
    return out


def _statistics(buffers: Iterable[Tensor]) -> list[Tensor]:
    """The buffers that count as non-trainable parameters: real numbers (an RNG key is a counter)."""
    return [b for b in buffers if is_float(b.dtype)]


def _size(ts: Iterable[Tensor]) -> int:
    return sum(t.size for t in ts)


def _nbytes(ts: Iterable[Tensor]) -> int:
    """Bytes from static shapes and dtypes: reading `.value` would pull a GPU-held parameter to the host."""
    return sum(t.size * np.dtype(t.dtype).itemsize for t in ts)


def summary(model: ModuleTree, input_shape: Any, dtype: Any = "float32") -> Summary:
    """Call `model` on placeholders of `input_shape` and tabulate the module calls.

    `input_shape` is one shape (`(None, 784)`: `None` is a free batch dim) or a list of shapes for a
    model with several inputs; `dtype` is one dtype or one per input; tensors are used as given.
    Each parameter is counted once, on the row of its module, or of the nearest calling ancestor when
    its module is run without a call of its own (an LSTM's cell inside the scan). Trainable params are
    `model.parameters()`; non-trainable ones are the float buffers (BatchNorm's running statistics),
    which checkpoints save but the optimizer never updates. Integer buffers (dropout's RNG key) are
    counters, not parameters, and are not counted.
    """
    if not isinstance(model, ModuleTree):
        raise InputError(f"summary: needs a gc.nn.Module, got {type(model).__name__}")
    inputs = _inputs(input_shape, dtype)
    paths = {}
    for prefix, m in model.named_modules():
        paths.setdefault(id(m), prefix[:-1])
    saved = [(m, dict(vars(m))) for _, m in model.named_modules()]
    try:
        with record_calls() as calls:
            model(*inputs)
    finally:
        for m, attrs in saved:  # forward may stash graph pieces (BatchNorm's batch statistics): restore them
            vars(m).clear()
            vars(m).update(attrs)
    found = [(paths.get(id(c.module), type(c.module).__name__), c) for c in calls]
    called = {p for p, _ in found}
    state: dict[str, dict[int, Tensor]] = {}  # row owner -> parameters and buffers by identity
    for prefix, m in model.named_modules():
        own = state.setdefault(_owner(prefix[:-1], called), {})
        own.update({id(t): t for t in [*m._parameters.values(), *_statistics(m._buffers.values())]})
    # the container itself is no row when its children are (the totals are its size)
    skip_root = bool(model._modules) and not state.get("") and len(found) > 1
    rows, seen = [], set()
    for path, call, depth in _preorder(found):
        m = call.module
        if m is model and skip_root:
            continue
        rows.append(Row(path, type(m).__name__, tuple(t.shape for t in call.outputs),
                        _size(state.get(path, {}).values()),
                        depth - skip_root, shared=id(m) in seen))
        seen.add(id(m))
    trainable = {id(p): p for p in model.parameters()}
    buffers = {id(b): b for b in _statistics(b for _, b in model.named_buffers()) if id(b) not in trainable}
    return Summary(type(model).__name__, tuple(rows), _size(trainable.values()), _size(buffers.values()),
                   _nbytes(trainable.values()), _nbytes(buffers.values()))
