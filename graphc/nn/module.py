"""`Module`: a named tree of parameters, the unit the optimizer and checkpoints see.

Attributes that are parameters (`gc.parameter`) or modules register themselves
in assignment order, so `named_parameters()` is stable and checkpoints are keyed
by dotted paths like `layers.0.weight`. A module builds graph, it runs nothing:
`module(x)` returns a symbolic tensor for the current mode (train or eval).
"""
from __future__ import annotations

import os
import weakref
from typing import Any, Iterator, Mapping

import numpy as np

from ..ir import DTypeError, GraphcError, ShapeError, Tensor
from ..ir.source import Scope, construction_site, current_scope, in_scope, user_location
from .calls import note_call
from .summary import Summary, summary


def _is_parameter(value: Any) -> bool:
    return isinstance(value, Tensor) and hasattr(value, "value")


class Module:
    """Base class of layers: subclasses assign parameters/sub-modules and define `forward`."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_declared", construction_site(self))

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise GraphcError(f"{type(self).__name__}: call super().__init__() before assigning {name!r}")
        if isinstance(value, Module):
            self._modules[name] = value
            value.__dict__.setdefault("_owner", (weakref.ref(self), name))  # the first parent names it in errors
        elif _is_parameter(value) and name not in self._buffers:
            self._parameters[name] = value
        object.__setattr__(self, name, value)

    def buffer(self, name: str, value: Tensor) -> Tensor:
        """Register non-trainable state (a parameter the optimizer must not touch)."""
        if not _is_parameter(value):
            raise GraphcError(f"{type(self).__name__}.buffer({name!r}): needs a gc.parameter, got {value!r}")
        self._buffers[name] = value
        object.__setattr__(self, name, value)
        return value

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        """The layer's graph for these inputs; calling the module (`layer(x)`) runs it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        with in_scope(self._scope()):
            out = self.forward(*args, **kwargs)
        note_call(self, list(args) + list(kwargs.values()), out)
        return out

    def _scope(self) -> Scope:
        """This call's scope: every node built inside carries it (`node.loc.scope`), so views can draw
        the module as one box named by its dotted path, with the lines that made and called it."""
        path = self._path()
        return Scope(path, "module", type(self).__name__, self.__dict__.get("_declared"), user_location(),
                     current_scope(), tuple(self._parameters.items()) + tuple(self._buffers.items()))

    def _path(self) -> str:
        """The dotted path from the outermost module holding this one ("" for that module itself)."""
        names, root = [], self
        while True:
            owner = root.__dict__.get("_owner")
            parent = owner[0]() if owner else None
            if parent is None:
                return ".".join(reversed(names))
            names.append(owner[1])
            root = parent

    # -- the tree ------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module and every sub-module, by dotted path (this one is `prefix`)."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}{name}.")

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        """Trainable parameters by dotted path, in declaration order."""
        for prefix, m in self.named_modules():
            for name, p in m._parameters.items():
                yield prefix + name, p

    def parameters(self) -> list[Tensor]:
        """The trainable parameters of the tree, in declaration order (what an optimizer takes)."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        """Non-trainable state (e.g. batch-norm running statistics) by dotted path."""
        for prefix, m in self.named_modules():
            for name, b in m._buffers.items():
                yield prefix + name, b

    def train(self, mode: bool = True) -> "Module":
        """Set train mode (dropout active) for graphs built from now on; returns self."""
        for _, m in self.named_modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        """`train(False)`: evaluation mode for graphs built from now on; returns self."""
        return self.train(False)

    def updates(self) -> list[tuple[Tensor, Tensor]]:
        """State updates a train step must apply besides the optimizer's (e.g. RNG counters)."""
        return []

    def state_updates(self) -> list[tuple[Tensor, Tensor]]:
        """`updates()` of every module in the tree."""
        return [u for _, m in self.named_modules() for u in m.updates()]

    # -- state -----------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer value, by dotted path."""
        return {name: p.value.copy() for name, p in [*self.named_parameters(), *self.named_buffers()]}

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Set every parameter and buffer from `state`, checking names, shapes and dtypes first."""
        own = dict([*self.named_parameters(), *self.named_buffers()])
        missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or unexpected:
            raise GraphcError(f"{type(self).__name__}.load_state_dict: missing {missing}, unexpected {unexpected}",
                              fix="load a state saved from a model of the same architecture")
        for name, p in own.items():
            new = np.asarray(state[name])
            if new.shape != p.value.shape:
                raise ShapeError(f"{type(self).__name__}.load_state_dict: parameter {name!r} has shape "
                                 f"{p.value.shape}, the state holds {new.shape}",
                                 fix="build the model with the sizes it was saved with")
            if new.dtype != p.value.dtype:
                raise DTypeError(f"{type(self).__name__}.load_state_dict: parameter {name!r} is "
                                 f"{p.value.dtype}, the state holds {new.dtype}",
                                 fix="build the model with the dtype it was saved with")
        for name, p in own.items():
            p.value = state[name]

    def save(self, path: str | os.PathLike) -> None:
        """Write `state_dict()` to an .npz file at `path`, atomically (no pickle)."""
        from .state import save_state
        save_state(self.state_dict(), path)

    def load(self, path: str | os.PathLike) -> None:
        """Set parameters and buffers from a file written by `save`, checked as `load_state_dict` checks."""
        from .state import load_state
        self.load_state_dict(load_state(path))

    def summary(self, input_shape: Any, dtype: Any = "float32") -> Summary:
        """A table of the layers a forward pass on `input_shape` calls (`print` it); see `graphc.nn.summary`."""
        return summary(self, input_shape, dtype)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({n}): " + repr(m).replace("\n", "\n  ") for n, m in self._modules.items())
        return f"{type(self).__name__}({self.extra_repr()}{inner}{chr(10) if inner else ''})"

    def extra_repr(self) -> str:
        """The sizes and options shown inside this module's repr (empty by default)."""
        return ""

    def _mode_label(self) -> str:
        """How mode errors name this layer: its type, and its dotted path in the model that holds it."""
        path, root = self._path(), self
        while root.__dict__.get("_owner") and root.__dict__["_owner"][0]() is not None:
            root = root.__dict__["_owner"][0]()
        layer = f"{type(self).__name__}({self.extra_repr()})"
        return f"{layer} at {path!r} of a {type(root).__name__}" if path else layer


class Sequential(Module):
    """Modules applied in order; children are named '0', '1', ..."""

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise GraphcError(f"Sequential: item {i} is a {type(layer).__name__}, not a Module",
                                  fix="wrap functions with gc.nn.Activation(fn)")
            setattr(self, str(i), layer)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def forward(self, x: Tensor) -> Tensor:
        for layer in self:
            x = layer(x)
        return x
