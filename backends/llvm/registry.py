"""Op class -> emitter tables that both native backends dispatch through.

Each emitter registers itself on the op classes it compiles, beside its own
definition (`@EMITTERS.register(ScatterAdd)`), and a lookup walks the op's
MRO: the most specific registered class wins, so a subclass of `Elementwise`
or of a reduction gets its base's emitter without the backend knowing it.
The CUDA backend keeps registries of its own (cuda/lowering.py), naming the
LLVM emitters it reuses, so the two tables never drift apart silently.
Lookups run once per kernel at compile time, never per call.
"""
from __future__ import annotations

from typing import Callable, Generic, TypeVar

F = TypeVar("F", bound=Callable)


class Registry(Generic[F]):
    """A table of functions keyed by op class, looked up along an op's MRO."""

    def __init__(self, name: str):
        self.name = name
        self._table: dict[type, F] = {}

    def register(self, *op_classes: type) -> Callable[[F], F]:
        """A decorator that files the function under each of `op_classes` (each class once)."""
        def add(fn: F) -> F:
            for cls in op_classes:
                if cls in self._table:
                    raise ValueError(f"{self.name}: {cls.__qualname__} already has "
                                     f"{getattr(self._table[cls], '__qualname__', self._table[cls])}")
                self._table[cls] = fn
            return fn
        return add

    def lookup(self, op_class: type) -> F | None:
        """The function of the nearest class in `op_class`'s MRO that has one, or None."""
        for cls in op_class.__mro__:
            fn = self._table.get(cls)
            if fn is not None:
                return fn
        return None

    def classes(self) -> list[type]:
        """The registered op classes (for reports and tests)."""
        return list(self._table)


#: the LLVM backend's emitters, `emitter(ctx, kernel, kernel_function)`, filled where each is defined
#: (emitters.py imports every module that registers one)
EMITTERS: Registry = Registry("llvm emitters")
