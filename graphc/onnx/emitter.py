"""The ONNX graph an export builds: nodes, initializers and names, and graphc's dtypes as ONNX's."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..ir import GraphcError, Tensor


class ExportError(GraphcError, ValueError):
    """A graph cannot be written as ONNX (an op with no ONNX form, an input missing, a bad argument)."""


#: graphc dtype -> onnx.TensorProto data type name
_DTYPES = {"bool": "BOOL", "int8": "INT8", "int16": "INT16", "int32": "INT32", "int64": "INT64", "uint8": "UINT8",
           "uint16": "UINT16", "uint32": "UINT32", "uint64": "UINT64", "float16": "FLOAT16", "bfloat16": "BFLOAT16",
           "float32": "FLOAT", "float64": "DOUBLE"}


def onnx_dtype(dtype: str) -> int:
    """The ONNX element type of a graphc dtype."""
    from onnx import TensorProto
    if dtype not in _DTYPES:
        raise ExportError(f"export: the dtype {dtype} has no ONNX element type", fix="cast to a supported dtype")
    return getattr(TensorProto, _DTYPES[dtype])


#: ONNX Slice's "to the end" and "before the start" sentinels
INT64_MAX, INT64_MIN = 2 ** 63 - 1, -2 ** 63
#: dtype -> the type a Where on it goes through (onnxruntime 1.32 has no Where kernel for these)
WHERE_VIA = {"int16": "int32", "uint16": "int32", "uint64": "int64", "bfloat16": "float32"}


class Emitter:
    """The ONNX graph being built: nodes, initializers, and the ONNX name of each graphc tensor."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self.values: dict[int, str] = {}  # id(graphc tensor) -> ONNX name
        self.typed: list = []  # graphc's type of each converted value (the checker holds ONNX's to it)
        self._taken: set[str] = set()
        self._consts: dict[tuple, str] = {}

    def child(self) -> "Emitter":
        """An emitter for a subgraph (a loop body): its own nodes, values and types; names, constants and
        initializers shared with this one (a body reads the outer graph's values by name)."""
        sub = Emitter(self.opset)
        sub.initializers, sub._taken, sub._consts = self.initializers, self._taken, self._consts
        sub.values = dict(self.values)
        return sub

    def fresh(self, hint: str) -> str:
        """A name no other value has: `hint`, else `hint_1`, `hint_2`, ..."""
        name, k = hint, 0
        while name in self._taken:
            k += 1
            name = f"{hint}_{k}"
        self._taken.add(name)
        return name

    def op(self, op_type: str, inputs: Sequence[str], hint: str | None = None, outputs: int = 1,
           **attrs: Any) -> Any:
        """Append one node; its output name (a list of them when `outputs` > 1). Empty-string inputs are
        ONNX's omitted optional inputs."""
        from onnx import helper
        outs = [self.fresh(hint or op_type.lower()) for _ in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=outs[0], **attrs))
        return outs[0] if outputs == 1 else outs

    def const(self, value: Any, dtype: str | None = None, hint: str = "const") -> str:
        """An initializer holding `value` (one per distinct value, dtype and shape)."""
        a = np.asarray(value) if dtype is None else np.asarray(value, dtype=np_dtype(dtype))
        key = (a.dtype.str, a.shape, a.tobytes())
        if key not in self._consts:
            self._consts[key] = self.initializer(a, self.fresh(hint))
        return self._consts[key]

    def ints(self, values: Sequence[int]) -> str:
        """A 1-D int64 constant (axes, shapes, pads, starts, ...)."""
        return self.const(np.asarray(list(values), dtype=np.int64), hint="ints")

    def scalar(self, value: float, like: Tensor | str) -> str:
        """A 0-d constant of the dtype of `like` (a graphc tensor or dtype name): broadcasts against it."""
        return self.const(value, like if isinstance(like, str) else like.dtype, hint="c")

    def initializer(self, array: np.ndarray, name: str) -> str:
        from onnx import numpy_helper
        tensor = numpy_helper.from_array(np.array(array, order="C"), name)  # ascontiguousarray makes 0-d 1-d
        self.initializers.append(tensor)
        return name

    def where(self, cond: str, a: str, b: str, dtype: str, hint: str | None = None) -> str:
        """Where(cond, a, b) for values of `dtype`; through a wider type (exact, or the same bits) where
        onnxruntime has no Where kernel for it (16-bit ints, uint64, bfloat16)."""
        via = WHERE_VIA.get(dtype)
        if via is None:
            return self.op("Where", [cond, a, b], hint=hint)
        wide = [self.op("Cast", [v], to=onnx_dtype(via)) for v in (a, b)]
        return self.op("Cast", [self.op("Where", [cond, *wide])], hint=hint, to=onnx_dtype(dtype))

    def shape_of(self, name: str, start: int | None = None, end: int | None = None) -> str:
        """The runtime shape of a value (dims start:end), as an int64 vector."""
        return self.op("Shape", [name], hint="shape", start=start, end=end)


def np_dtype(dtype: str) -> Any:
    if dtype == "bfloat16":
        import ml_dtypes
        return ml_dtypes.bfloat16
    return np.dtype(dtype)


def value_info(name: str, t: Tensor, free: bool = False) -> Any:
    """A typed value; free dims named `<name>_dim<i>` with `free` (graph inputs), left unknown otherwise."""
    from onnx import helper
    dims = [d if d is not None else (f"{name}_dim{i}" if free else None) for i, d in enumerate(t.shape)]
    return helper.make_tensor_value_info(name, onnx_dtype(t.dtype), dims)
