"""graphc as an ONNX backend (`onnx.backend.base.Backend`), so onnx's own conformance suite
(`onnx.backend.test.BackendTest`) runs graphc.

`prepare` imports the model (raising `OnnxUnsupportedError` for what graphc cannot express) and returns
a `GraphcRep`; its `run` imports the model again for the concrete shapes of the call where the model has
free dims (so shape arithmetic folds), compiles it with graphc's `llvm` build (or the backend named by
`prepare(..., backend=...)`) and caches one compiled function per input signature."""
from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx.backend.base import Backend, BackendRep

from ..function import Function
from .errors import OnnxUnsupportedError
from .importer import load
from .model import OnnxModel


class GraphcRep(BackendRep):
    """A prepared model: `run(inputs)` returns the outputs as a tuple of arrays.

    Inputs the model reads as shapes, axes or paddings (`static`) are specialized on: each distinct value
    imports and compiles the model once with it fixed (as JAX's `static_argnums`)."""

    def __init__(self, proto: onnx.ModelProto, model: OnnxModel | None, static: set[str], backend: str):
        self.proto = proto
        self.model = model
        self.static = static
        self.backend = backend
        self.input_names = [vi.name for vi in proto.graph.input
                            if vi.name not in {i.name for i in proto.graph.initializer}]
        self._compiled: dict[tuple, tuple[OnnxModel, Function]] = {}

    def _for(self, feeds: dict[str, np.ndarray]) -> tuple[OnnxModel, Function]:
        key = tuple((n, a.shape, a.dtype.str, a.tobytes() if n in self.static else None) for n, a in feeds.items())
        if key not in self._compiled:
            model = self.model
            if model is None or any(None in x.shape for x in model.inputs):
                model = load(self.proto, trainable=False,
                             input_shapes={n: a.shape for n, a in feeds.items() if n not in self.static},
                             static_inputs={n: feeds[n] for n in self.static})
            self._compiled[key] = (model, model.function(backend=self.backend))
        return self._compiled[key]

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        if isinstance(inputs, dict):
            inputs = [inputs[name] for name in self.input_names]
        elif isinstance(inputs, np.ndarray):
            inputs = [inputs]
        arrays = [np.asarray(a) for a in inputs]
        if len(arrays) != len(self.input_names):
            raise ValueError(f"the model takes {len(self.input_names)} inputs {self.input_names}, got {len(arrays)}")
        feeds = dict(zip(self.input_names, arrays))
        model, fn = self._for(feeds)
        outs = fn(*[feeds[n] for n in model.input_names])
        return tuple(np.asarray(o) for o in outs)


class GraphcBackend(Backend):
    """onnx's backend interface over graphc (CPU: the `llvm` build by default)."""

    @classmethod
    def is_compatible(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> bool:
        return True  # what graphc cannot import, `prepare` names (BackendTest then reports the test)

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", backend: str = "llvm",
                **kwargs: Any) -> GraphcRep:
        super().prepare(model, device, **kwargs)
        try:
            return GraphcRep(model, load(model, trainable=False), set(), backend)
        except OnnxUnsupportedError as e:
            static = {g.needs for g in e.gaps}
            if None in static:
                raise
            return GraphcRep(model, None, static, backend)  # imported per value of these inputs

    @classmethod
    def run_model(cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU", **kwargs: Any):
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node: onnx.NodeProto, inputs: Any, device: str = "CPU", outputs_info=None,
                 **kwargs: Any) -> tuple[np.ndarray, ...]:
        """One node applied to `inputs` (arrays, in the node's input order)."""
        super().run_node(node, inputs, device=device, outputs_info=outputs_info)
        arrays = [np.asarray(a) for a in inputs]
        names = [n for n in node.input if n]
        graph_inputs = [onnx.helper.make_tensor_value_info(n, onnx.helper.np_dtype_to_tensor_dtype(a.dtype),
                                                           a.shape) for n, a in zip(names, arrays)]
        graph_outputs = [onnx.helper.make_empty_tensor_value_info(n) for n in node.output if n]
        graph = onnx.helper.make_graph([node], "run_node", graph_inputs, graph_outputs)
        domain = node.domain or ""
        opset = kwargs.pop("opset_version", onnx.defs.onnx_opset_version())
        model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid(domain, opset)])
        return cls.prepare(model, device, **kwargs).run(arrays)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return onnx.backend.base.Device(device).type == onnx.backend.base.DeviceType.CPU


prepare = GraphcBackend.prepare
run_model = GraphcBackend.run_model
run_node = GraphcBackend.run_node
supports_device = GraphcBackend.supports_device
