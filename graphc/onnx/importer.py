"""`load`: an ONNX model as a graphc graph.

The importer walks the graph once in order. Graph inputs become placeholders, initializers parameters (or
constants), and each node goes to its converter (graphc/onnx/convert), to the body of its ONNX function,
or (when all its inputs are known at import time) to onnx's NumPy reference, which folds the shape
arithmetic of exported models into static arguments. Nodes graphc cannot express are collected, not
raised one by one: after the walk, one `OnnxUnsupportedError` lists them all.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import onnx
from onnx import defs, helper, numpy_helper

from ..ir import Tensor
from ..ir.errors import GraphcError, ShapeError
from ..ir.leaves import constant, parameter, placeholder
from ..ir.source import SourceLoc, inherit_location, name_scope
from . import convert  # noqa: F401 - registers the converters
from .errors import Gap, OnnxUnsupportedError, Unsupported
from .functions import function_opsets, has_schema_function, instantiate, node_domain, schema_function
from .registry import REGISTRY, NodeCtx, Value, as_tensor, onnx_dtype
from .model import OnnxModel

#: Arrays known at import time from this many elements on are held as buffers, not compiled in as constants.
LARGE = 1 << 14
#: Ops never folded at import time: their value is not a function of their inputs.
_NOT_FOLDED = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli", "Multinomial",
               "Optional", "OptionalHasElement", "OptionalGetElement"}  # optionals: graphc has tensors only
#: Ops whose output shape depends on input values: imported only when folded (docs/onnx.md says why).
DATA_DEPENDENT = {"NonZero", "Unique", "Compress", "NonMaxSuppression", "StringSplit"}


@dataclass(frozen=True)
class OnnxLoc(SourceLoc):
    """Where an op came from: the model file, the node's index in its graph, its op type and name.

    Errors and `gc.viz` print it as `model.onnx:12: Conv 'conv1'`."""

    op_type: str = ""
    node: str = ""

    @property
    def code(self) -> str:
        return f"{self.op_type} {self.node!r}" if self.node else self.op_type


class _Poisoned:
    """The value of an output whose node could not be imported (its consumers are skipped)."""


POISON = _Poisoned()


def load(model: "str | os.PathLike | onnx.ModelProto", *, trainable: bool = True,
         input_shapes: Mapping[str, Sequence[int | None]] | None = None,
         static_inputs: Mapping[str, Any] | None = None) -> OnnxModel:
    """An ONNX model (a path or a `ModelProto`) as a graphc graph: see `OnnxModel`.

    Float initializers become trainable `gc.parameter`s named as in the model (`trainable=False`: constants;
    integer initializers are always constants). `input_shapes` fixes graph inputs' dims by input name
    (symbolic dims are otherwise `None`); shapes computed in the graph (Shape -> Reshape) need them known.
    `static_inputs` gives graph inputs values fixed at import (they are no longer inputs of the graph):
    for models that read an input as a shape, axes or padding, as JAX's `static_argnums`.
    Raises `OnnxUnsupportedError` listing every node graphc cannot express."""
    if isinstance(model, onnx.ModelProto):
        proto, label = model, f"<ModelProto {model.graph.name!r}>"
    else:
        proto, label = onnx.load(os.fspath(model)), os.fspath(model)
    return _Importer(proto, label, trainable, dict(input_shapes or {}), dict(static_inputs or {})).run()


class _Importer:
    def __init__(self, proto: onnx.ModelProto, label: str, trainable: bool, input_shapes: dict, static: dict):
        self.static = static
        self.proto = proto
        self.label = label
        self.file = os.path.basename(label) if not label.startswith("<") else label
        self.trainable = trainable
        self.input_shapes = input_shapes
        self.env: dict[str, Value | _Poisoned] = {}
        self.gaps: list[Gap] = []
        self.params: dict[str, Tensor] = {}
        self.held: dict[str, tuple[np.ndarray, Tensor]] = {}
        self.local_functions = {(f.domain, f.name): f for f in proto.functions}
        self.opsets = {node_domain(o): o.version for o in proto.opset_import}

    def run(self) -> OnnxModel:
        g = self.proto.graph
        for init in g.initializer:
            self._initializer(init)
        for sparse in g.sparse_initializer:
            self._gap(sparse.values.name, "SparseTensor", "", "sparse initializers")
        inputs = []
        for vi in g.input:
            if vi.name in self.env:
                continue  # an initializer also listed as an input (IR version < 4)
            if vi.name in self.static:
                self.env[vi.name] = np.require(self.static[vi.name], requirements="C")
                continue
            x = self._input(vi)
            if x is not None:
                inputs.append(x)
        for i, node in enumerate(g.node):
            self._node(node, self.opsets, i)
        outputs = []
        for vi in g.output:
            v = self.env.get(vi.name, POISON)
            if not isinstance(v, _Poisoned):
                try:
                    outputs.append(as_tensor(v, f"output {vi.name!r}"))
                except Unsupported as e:
                    self._gap(vi.name, "Output", "", e.what)
        if self.gaps:
            raise OnnxUnsupportedError(self.label, self.gaps)
        return OnnxModel(self.proto, inputs, outputs, self.params, self.env)

    # -- leaves ---------------------------------------------------------------------------------------
    def _initializer(self, init: onnx.TensorProto) -> None:
        try:
            array = numpy_helper.to_array(init)
            onnx_dtype(init.data_type, f"initializer {init.name!r}")
        except Unsupported as e:
            self._gap(init.name, "Initializer", "", e.what)
            self.env[init.name] = POISON
            return
        except Exception as e:  # noqa: BLE001 - external data missing, bad raw data: onnx's own error text
            self._gap(init.name, "Initializer", "", f"cannot read the data: {e}")
            self.env[init.name] = POISON
            return
        if self.trainable and array.dtype.kind == "f":
            p = parameter(array, name=init.name)
            self.params[init.name] = p
            self.env[init.name] = p
        else:
            self.env[init.name] = np.require(array, requirements="C")

    def _input(self, vi: onnx.ValueInfoProto) -> Tensor | None:
        t = vi.type
        if not t.HasField("tensor_type"):
            self._gap(vi.name, "Input", "", f"input of type {t.WhichOneof('value')} (graphc has tensors only)")
            self.env[vi.name] = POISON
            return None
        try:
            dtype = onnx_dtype(t.tensor_type.elem_type, f"graph input {vi.name!r}")
        except Unsupported as e:
            self._gap(vi.name, "Input", "", e.what)
            self.env[vi.name] = POISON
            return None
        if vi.name in self.input_shapes:
            shape = tuple(self.input_shapes[vi.name])
        elif t.tensor_type.HasField("shape"):
            shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in t.tensor_type.shape.dim)
        else:
            raise ShapeError(f"onnx.load({self.label}): graph input {vi.name!r} has no declared rank",
                             fix=f"pass input_shapes={{{vi.name!r}: (...)}}", locate=False)
        x = placeholder(shape, dtype, name=vi.name)
        self.env[vi.name] = x
        return x

    def _materialize(self, name: str, array: np.ndarray) -> Tensor:
        """An import-time array as a graph tensor: a constant, or for a large one (a weight made by
        ConstantOfShape, an initializer with trainable=False) a parameter buffer that is not in `params`,
        so compiled code and the compile cache do not carry the weights."""
        if array.size < LARGE or array.dtype.kind != "f":
            return constant(array)
        held = self.held.get(name)
        if held is None or held[0] is not array:
            held = self.held[name] = (array, parameter(array, name=name))
        return held[1]

    # -- nodes ----------------------------------------------------------------------------------------
    def _gap(self, name: str, op_type: str, domain: str, what: str, opset: int = 0) -> None:
        self.gaps.append(Gap(name, op_type, domain, opset, what))

    def _node(self, node: onnx.NodeProto, opsets: dict[str, int], index: int) -> None:
        domain = node_domain(node)
        opset = opsets.get(domain)
        name = node.name or f"{node.op_type}_{index}"
        inputs = [self.env.get(n, POISON) if n else None for n in node.input]
        missing = [n for n, v in zip(node.input, inputs) if n and n not in self.env]
        if missing:
            raise ShapeError(f"onnx.load({self.label}): node {name!r} ({node.op_type}) reads {missing}, which "
                             "no earlier node, input or initializer defines (is the graph sorted?)", locate=False)
        local = self.local_functions.get((node.domain, node.op_type))
        if local is not None:
            for inner in instantiate(local, node, name):
                self._node(inner, function_opsets(local, opsets), index)
            return
        if opset is None:
            self._fail(node, domain, 0, f"the model imports no opset for domain {domain!r}")
            return
        conv = REGISTRY.get((domain, node.op_type))
        try:
            version = defs.get_schema(node.op_type, opset, domain).since_version
        except defs.SchemaError:
            version = None
        if conv is None and version is None:
            self._fail(node, domain, opset, "unknown op (no ONNX schema at this opset, no local function)")
            return
        if any(isinstance(v, _Poisoned) for v in inputs):
            if conv is None and not has_schema_function(node, domain, opset):
                self._fail(node, domain, opset, self._why_missing(node.op_type))
            self._poison(node)
            return
        if node.op_type not in _NOT_FOLDED and all(v is None or isinstance(v, np.ndarray) for v in inputs) \
                and domain == "" and self._fold(node, opset, inputs):
            return
        loc = OnnxLoc(self.file, index, name, name_scope(name), op_type=node.op_type, node=name)  # gc.viz boxes
        why, needs = self._why_missing(node.op_type), None
        if conv is not None and version is not None and version >= conv.since:
            ctx = NodeCtx(node, inputs, version, opset, self._materialize)
            try:
                with inherit_location(loc):
                    out = conv.fn(ctx)
                self._bind(node, out)
                return
            except Unsupported as e:
                why, needs = e.what, e.needs
        elif conv is not None:
            why = f"version {version} of {node.op_type} is older than graphc covers ({conv.since} on)"
        body = self._body(node, domain, opset, inputs, name)
        if body is not None:
            fn_opsets, nodes = body
            for inner in nodes:
                self._node(inner, fn_opsets, index)
            return
        self._fail(node, domain, opset, why, needs)

    def _why_missing(self, op_type: str) -> str:
        if op_type in DATA_DEPENDENT:
            return ("its output shape depends on input values; graphc's shapes are static (it imports only when "
                    "its inputs are constants)")
        return "no converter for this op"

    def _body(self, node, domain, opset, inputs, name):
        def input_types():
            types = []
            for v in inputs:
                if v is None:
                    types.append(onnx.TypeProto())
                    continue
                dtype, shape = (v.dtype, v.shape) if isinstance(v, np.ndarray) else (np.dtype(v.dtype), v.shape)
                types.append(helper.make_tensor_type_proto(helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape))
            return types
        fn = schema_function(node, domain, opset, input_types)
        if fn is None:
            return None
        return function_opsets(fn, {domain: opset, **{k: v for k, v in self.opsets.items() if k != domain}}), \
            instantiate(fn, node, name)

    def _fold(self, node: onnx.NodeProto, opset: int, inputs: list) -> bool:
        """Evaluate a node whose inputs are all known with onnx's reference; False if it cannot."""
        from onnx.reference import ReferenceEvaluator
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            return False
        try:
            ref = ReferenceEvaluator(node, opsets={"": opset})
            feeds = {n: v for n, v in zip(node.input, inputs) if n}
            outs = ref.run(None, feeds)
        except Exception:  # noqa: BLE001 - the reference lacks the op or rejects the inputs: convert instead
            return False
        if any(not isinstance(o, np.ndarray) for o in outs):
            return False
        self._bind(node, [np.require(o, requirements="C") for o in outs])
        return True

    def _bind(self, node: onnx.NodeProto, out: Any) -> None:
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        for i, name in enumerate(node.output):
            if not name:
                continue
            if i >= len(outs) or outs[i] is None:
                raise GraphcError(f"onnx.load({self.label}): node {node.name!r} ({node.op_type}): output {i} "
                                  f"({name!r}) is not produced by graphc's converter", locate=False)
            self.env[name] = outs[i]

    def _fail(self, node, domain, opset, what, needs=None) -> None:
        self.gaps.append(Gap(node.name or node.op_type, node.op_type, domain, opset, what, needs))
        self._poison(node)

    def _poison(self, node) -> None:
        for name in node.output:
            if name:
                self.env[name] = POISON


