"""`OnnxModel`: what `graphc.onnx.load` returns."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..function import Function, function
from ..ir import Tensor
from .registry import as_tensor


class OnnxModel:
    """An imported ONNX model as graphc tensors.

    - `inputs`: the placeholders, in the graph's input order (named as the ONNX inputs);
    - `outputs`: the graph outputs, in order; `input_names` / `output_names` their ONNX names;
    - `params`: the parameters made of the float initializers, by ONNX name (`gc.grad`, `gc.optim`
      and `gc.train.fit` use them as any parameter);
    - `tensor(name)`: any value of the model by its ONNX name;
    - `function(backend=...)`: `gc.function(inputs, outputs, ...)`.
    """

    def __init__(self, proto: Any, inputs: list[Tensor], outputs: list[Tensor], params: dict[str, Tensor],
                 values: Mapping[str, Any]):
        self.proto = proto
        self.inputs = inputs
        self.outputs = outputs
        self.params = params
        self.input_names = [x.name for x in inputs]
        self.output_names = [o.name for o in proto.graph.output]
        self._values = values

    def tensor(self, name: str) -> Tensor:
        """The graphc tensor of the ONNX value `name` (an input, initializer or node output)."""
        if name not in self._values:
            raise KeyError(f"the model has no value named {name!r}")
        v = self._values[name]
        if not isinstance(v, (Tensor, np.ndarray)):
            raise KeyError(f"the value {name!r} was not imported")
        return as_tensor(v, name)

    def function(self, backend: str = "auto", **kwargs: Any) -> Function:
        """The model compiled: called with one array per input, it returns one array per output (a list)."""
        return function(self.inputs, list(self.outputs), backend=backend, **kwargs)

    def __repr__(self) -> str:
        ins = ", ".join(f"{x.name}: {x.type_str()}" for x in self.inputs)
        outs = ", ".join(f"{n}: {o.type_str()}" for n, o in zip(self.output_names, self.outputs))
        return f"<OnnxModel ({ins}) -> ({outs}), {len(self.params)} parameters>"
