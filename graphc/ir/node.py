"""Ops and the immutable, hash-consed tensor nodes they make.

A `Tensor` is one node of the graph: an op, its input tensors, and the static
type (shape, dtype) the op inferred for it. Equal (op, inputs) pairs are the same
Python object, so common subexpressions are shared as they are declared.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Sequence

from .errors import GradientError
from .source import SourceLoc, user_location

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

Shape = tuple  # tuple[int | None, ...]; None only on placeholders' free dims and what follows from them


class Op:
    """One operation: everything about it lives on its class.

    Subclasses set `name`, keep their attributes in `attrs()` (hashable; they make
    the op's identity), and implement:

    - `infer(*inputs) -> (shape, dtype)`: static checks, raising graphc errors;
    - `numpy(*arrays) -> ndarray`: the reference implementation;
    - `pullback(node, g) -> [grad or None per input]`: the reverse rule, with graphc ops;
    - optionally `jvp(node, tangents) -> tensor`: the forward rule (else derived);
    - `format(args) -> str`: how the op prints as math.
    """

    name: str = "op"
    #: The op's attributes, by name: set positionally by the constructor, they make its identity.
    fields: tuple[str, ...] = ()
    #: False for ops whose output carries no derivative (comparisons, argmax, ...).
    differentiable: bool = True
    #: Leaves (placeholders, parameters, constants) have no inputs and no rule.
    is_leaf: bool = False
    #: The kind of kernel the scheduler makes of it ("elementwise", "reduce", ...; "generic" runs its NumPy
    #: rule); backends find the emitter by the op's class, and the kind names the kernel in reports.
    kernel_kind: str = "generic"
    #: Indices of inputs read only for their shape and dtype (shape donors), never for their values.
    donors: tuple[int, ...] = ()
    #: Work per output element a loop pays to recompute the op instead of reading it stashed (in
    #: arithmetic instructions); None: never recomputed. Read by the reverse loop's stash policy.
    cost: int | None = None

    def __init__(self, *values: Any):
        if len(values) != len(self.fields):
            raise TypeError(f"{type(self).__name__} takes {len(self.fields)} attribute(s) {self.fields}")
        for name, value in zip(self.fields, values):
            setattr(self, name, value)

    def attrs(self) -> tuple:
        return tuple(getattr(self, f) for f in self.fields)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.attrs() == other.attrs()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash((type(self), self.attrs()))

    def __repr__(self) -> str:
        a = self.attrs()
        return f"{self.name}{a!r}" if a else self.name

    def infer(self, *inputs: "Tensor") -> tuple[Shape, str]:
        raise NotImplementedError(self.name)

    def numpy(self, *arrays: "np.ndarray") -> "np.ndarray":
        raise NotImplementedError(self.name)

    def pullback(self, node: "Tensor", g: "Tensor") -> Sequence["Tensor | None"]:
        raise GradientError(f"grad: {self.name} has no reverse rule", loc=node.loc,
                            fix=f"give {type(self).__name__} a pullback method, or set differentiable = False "
                                f"if its output carries no derivative")

    def jvp(self, node: "Tensor", tangents: Sequence["Tensor | None"]) -> "Tensor | None":
        return NotImplemented

    def format(self, args: Sequence[str]) -> str:
        extra = [f"{k}={v!r}" for k, v in self.describe_attrs().items()]
        return f"{self.name}({', '.join(list(args) + extra)})"

    def describe_attrs(self) -> dict[str, Any]:
        """Attributes by name, for printing and visualization."""
        return {f: getattr(self, f) for f in self.fields}


_INTERN: "weakref.WeakValueDictionary[tuple, Tensor]" = weakref.WeakValueDictionary()


class Tensor:
    """A symbolic tensor: one immutable node of a graphc graph."""

    __slots__ = ("op", "inputs", "shape", "dtype", "loc", "__weakref__")
    __array_priority__ = 1000  # so `ndarray + tensor` calls Tensor.__radd__
    op: Op
    inputs: tuple["Tensor", ...]
    shape: Shape
    dtype: str
    loc: SourceLoc | None

    @staticmethod
    def make(op: Op, inputs: Sequence["Tensor"] = (), loc: SourceLoc | None = None) -> "Tensor":
        """The node for `op` applied to `inputs`: the existing one if it was built before."""
        inputs = tuple(inputs)
        key = (op, tuple(id(t) for t in inputs))
        node = _INTERN.get(key)
        if node is not None:
            return node
        shape, dtype = op.infer(*inputs)
        node = object.__new__(Tensor)
        set_ = object.__setattr__
        set_(node, "op", op)
        set_(node, "inputs", inputs)
        set_(node, "shape", tuple(shape))
        set_(node, "dtype", dtype)
        set_(node, "loc", loc if loc is not None else user_location())
        _INTERN[key] = node
        return node

    def __setattr__(self, name: str, value: Any) -> None:
        prop = getattr(type(self), name, None)
        if isinstance(prop, property) and prop.fset is not None:  # e.g. a parameter's `.value`
            prop.fset(self, value)
            return
        raise AttributeError("graphc tensors are immutable; build a new tensor instead")

    def __hash__(self) -> int:  # identity: equal structure is already the same object
        return id(self)

    def __eq__(self, other):  # replaced by the elementwise comparison in graphc.ops
        return self is other

    def __bool__(self) -> bool:
        raise TypeError("a symbolic tensor has no truth value; use gc.where(...) for conditions")

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return len(self.shape)

    @property
    def size(self) -> int | None:
        """The number of elements, or None while a dim is free."""
        n = 1
        for d in self.shape:
            if d is None:
                return None
            n *= d
        return n

    @property
    def name(self) -> str | None:
        """The name given to a placeholder, parameter or constant (None for op nodes)."""
        return getattr(self.op, "label", None)

    def type_str(self) -> str:
        """The dtype and shape as graphc prints them: `float32[?, 3]` (? is a free dim)."""
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.dtype}[{dims}]"

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Tensor {self.op.name}{label} {self.type_str()}>"
