"""Train/eval modes a graph was built in, so a compiled function never runs the wrong one silently.

A layer whose graph depends on a train/eval flag (Dropout, BatchNorm) records the nodes it built
with `record`: which layer, in which mode, and the state a train step must update (a dropout key,
running statistics). `gc.function` collects the records of its graph (`Modes.of`); each call then
compares the layers' current flags with the compiled ones (`Modes.check`, a loop over a few pairs)
and refuses a mismatch with a `ModeError` naming the layer, both modes and the fix, and a train step
that leaves such state alone gets a warning when it is compiled (`Modes.warn_stale_state`). A graph
that holds a layer in both modes (built once in each, on purpose) runs both whatever the flag.

A layer records the nodes that are its own (they read its parameters, its key, or are its output),
not shared subexpressions such as a batch mean, which another graph may build as the same node.
An owner is any object with a bool `training` and a `_mode_label()` naming it for messages
(`gc.nn.Module` has both). Records go with their nodes.
"""
from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass
from typing import Any, Iterable

from .errors import ModeError
from .graph import Graph
from .node import Tensor


@dataclass(frozen=True, eq=False)
class Record:
    """A layer built a node in `training` mode; a train step must update `state` (parameters)."""

    owner: Any
    training: bool
    state: tuple[Tensor, ...] = ()
    stale: str = ""  # what goes wrong when a train step leaves `state` alone


# id(node) -> {(id(owner), training): Record}; by id, as Tensor's == builds a node, and dropped with the node
_RECORDS: dict[int, dict[tuple[int, bool], Record]] = {}


def record(owner: Any, tensors: Iterable[Tensor], state: tuple[Tensor, ...] = (), stale: str = "") -> None:
    """Note that `owner`, in its current mode, built `tensors` (and needs `state` updated in train steps)."""
    rec = Record(owner, bool(owner.training), state, stale)
    for t in tensors:
        if id(t) not in _RECORDS:
            _RECORDS[id(t)] = {}
            weakref.finalize(t, _RECORDS.pop, id(t), None)
        _RECORDS[id(t)].setdefault((id(owner), rec.training), rec)


def _mode(training: bool) -> str:
    return "train" if training else "eval"


@dataclass(frozen=True)
class Modes:
    """The mode-dependent layers of one compiled graph, each with the one mode it was built in."""

    layers: tuple[tuple[Any, bool], ...]
    records: tuple[Record, ...]

    @staticmethod
    def of(graph: Graph) -> "Modes":
        records: dict[tuple[int, bool], Record] = {}
        for node in graph.nodes:
            records.update(_RECORDS.get(id(node), {}))
        built: dict[int, tuple[Any, set[bool]]] = {}
        for r in records.values():
            built.setdefault(id(r.owner), (r.owner, set()))[1].add(r.training)
        layers = tuple((owner, modes.pop()) for owner, modes in built.values() if len(modes) == 1)
        return Modes(layers, tuple(records.values()))

    def check(self) -> None:
        """Refuse a call while a layer is in another mode than the graph was built in."""
        for owner, training in self.layers:
            if bool(owner.training) != training:
                self._refuse()

    def _refuse(self) -> None:
        """The ModeError naming every layer whose flag differs from the compiled mode."""
        wrong = [(owner, training) for owner, training in self.layers if bool(owner.training) != training]
        then, now = _mode(wrong[0][1]), _mode(not wrong[0][1])
        layers = "; ".join(f"{owner._mode_label()} is in {_mode(not t)} mode, compiled in {_mode(t)} mode"
                           for owner, t in wrong)
        raise ModeError(f"function: {layers} (a compiled graph keeps the mode its layers were built in)",
                        fix=f"build the graph and compile it again after model.{now}(), or call model.{then}() "
                            f"before calling it; gc.train.predict/evaluate/fit pick the right mode themselves")

    def warn_stale_state(self, updated: Iterable[Tensor], stacklevel: int) -> None:
        """Warn once per layer when a train step (a function with updates) leaves a train-mode layer's state."""
        updated_ids = {id(p) for p in updated}
        for r in self.records:
            missing = [p for p in r.state if id(p) not in updated_ids]
            if r.training and missing:
                names = ", ".join(p.name or repr(p) for p in missing)
                warnings.warn(f"function: {r.owner._mode_label()} is in train mode in this step, which updates "
                              f"parameters but not its {names}: {r.stale}. Fix: pass "
                              f"updates=opt.updates(loss) + model.state_updates() (or compile after model.eval() "
                              f"if it should not train)", RuntimeWarning, stacklevel=stacklevel + 1)
