"""Converters from ONNX nodes to graphc ops, registered by (domain, op_type).

A converter is a function of one `NodeCtx` returning the node's outputs: graphc tensors, or NumPy arrays
for values known at import time (shapes, constants) so that the shape arithmetic of exported models
(Shape -> Gather -> Concat -> Reshape) folds into static arguments. It raises `Unsupported` for what
graphc cannot express; the importer collects those over the whole model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence, Union

import numpy as np
from onnx import helper

from ..ir import Tensor
from ..ir.dtypes import DTYPES
from ..ir.leaves import Parameter, Placeholder, constant
from .errors import Unsupported

Value = Union[Tensor, np.ndarray]


@dataclass(frozen=True)
class Converter:
    domain: str
    op_type: str
    since: int  # the first ONNX schema version (since_version) the converter handles; all later ones too
    fn: Callable[["NodeCtx"], Any]


REGISTRY: dict[tuple[str, str], Converter] = {}


def converter(*op_types: str, since: int = 1, domain: str = "") -> Callable:
    """Register `fn` as the converter of `op_types` for every schema version from `since` on."""
    def register(fn: Callable) -> Callable:
        for op in op_types:
            REGISTRY[(domain, op)] = Converter(domain, op, since, fn)
        return fn
    return register


def graphc_dtype(np_dtype: Any, what: str) -> str:
    """The graphc dtype for a NumPy one, or `Unsupported` naming it (the dtypes grow with graphc's)."""
    name = np.dtype(np_dtype).name
    if name not in DTYPES:
        raise Unsupported(f"{what} has dtype {name}; graphc supports {', '.join(DTYPES)}")
    return name


def onnx_dtype(elem_type: int, what: str) -> str:
    """The graphc dtype for an ONNX element type, or `Unsupported` naming it."""
    try:
        np_dtype = helper.tensor_dtype_to_np_dtype(elem_type)
    except (KeyError, ValueError, TypeError):
        np_dtype = None
    if np_dtype is None or np.dtype(np_dtype).kind in "OSUV":
        raise Unsupported(f"{what} has dtype {helper.tensor_dtype_to_string(elem_type)}; "
                          f"graphc supports {', '.join(DTYPES)}")
    return graphc_dtype(np_dtype, what)


def as_tensor(v: Value, what: str) -> Tensor:
    if isinstance(v, Tensor):
        return v
    graphc_dtype(v.dtype, what)
    return constant(np.asarray(v))


class NodeCtx:
    """One ONNX node as its converter sees it: attributes, inputs (tensors or import-time arrays)."""

    def __init__(self, proto: Any, inputs: Sequence[Value | None], version: int, opset: int):
        self.proto = proto
        self.name = proto.name
        self.op_type = proto.op_type
        self.inputs = list(inputs)
        self.version = version  # the op schema's since_version the node resolves to
        self.opset = opset
        self._attrs = {a.name: a for a in proto.attribute}
        self.n_outputs = len(proto.output)

    def attr(self, name: str, default: Any = None) -> Any:
        a = self._attrs.get(name)
        if a is None:
            return default
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            return v.decode()
        if isinstance(v, list) and v and isinstance(v[0], bytes):
            return [s.decode() for s in v]
        return v

    def has_attr(self, name: str) -> bool:
        return name in self._attrs

    def has(self, i: int) -> bool:
        return i < len(self.inputs) and self.inputs[i] is not None

    def tensor(self, i: int) -> Tensor:
        return as_tensor(self.inputs[i], f"input {i}")

    def tensors(self) -> list[Tensor]:
        return [self.tensor(i) for i in range(len(self.inputs)) if self.has(i)]

    def is_static(self, i: int) -> bool:
        return self.has(i) and isinstance(self.inputs[i], np.ndarray)

    def static(self, i: int, what: str) -> np.ndarray:
        """Input `i` as an array known at import time; graphc shapes are static, so shape-like inputs must be."""
        v = self.inputs[i] if i < len(self.inputs) else None
        if isinstance(v, Tensor) and isinstance(v.op, Parameter):
            return v.op.state.array.copy()  # an initializer read as a shape or padding: its value at import
        if isinstance(v, Tensor) and isinstance(v.op, Placeholder):
            raise Unsupported(f"input {i} ({what}) is the graph input {v.name!r}; graphc needs its value at import "
                              f"time (pass it in load(..., static_inputs={{{v.name!r}: ...}}))", needs=v.name)
        if not isinstance(v, np.ndarray):
            raise Unsupported(f"input {i} ({what}) is computed from the model's inputs; graphc needs it known "
                              "at import time (fix the input shapes with load(..., input_shapes=...))")
        return v

    def ints(self, i: int, what: str) -> list[int]:
        return [int(d) for d in np.asarray(self.static(i, what)).reshape(-1)]

    def axis(self, axis: int, rank: int) -> int:
        if not -rank <= axis < max(rank, 1):
            raise Unsupported(f"axis {axis} is out of range for rank {rank}")
        return axis % max(rank, 1)
