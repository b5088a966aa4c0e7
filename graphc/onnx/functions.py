"""Expanding a node into the body of its ONNX function: a model's local functions, and the standard ops
ONNX defines as functions of other ops (Mish, Celu, LayerNormalization, ...), so that an op graphc has no
converter for still imports when its definition is made of ops it has."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import onnx
from onnx import AttributeProto, FunctionProto, NodeProto, defs, helper


def has_schema_function(node: NodeProto, domain: str, opset: int) -> bool:
    """Whether ONNX defines `node`'s op at `opset` as a function of other ops."""
    try:
        schema = defs.get_schema(node.op_type, opset, domain)
    except defs.SchemaError:
        return False
    return any(v <= opset for v in (*schema.function_opset_versions, *schema.context_dependent_function_opset_versions))


def schema_function(node: NodeProto, domain: str, opset: int,
                    input_types: Callable[[], Sequence[onnx.TypeProto]]) -> FunctionProto | None:
    """The body ONNX defines for `node` at `opset` (context-dependent ones need the input types), or None."""
    try:
        schema = defs.get_schema(node.op_type, opset, domain)
    except defs.SchemaError:
        return None
    versions = [v for v in schema.function_opset_versions if v <= opset]
    raw: bytes | None = None
    if versions:
        raw = schema.get_function_with_opset_version(max(versions))
    else:
        versions = [v for v in schema.context_dependent_function_opset_versions if v <= opset]
        if versions:
            types = [t.SerializeToString() for t in input_types()]
            try:
                raw = schema.get_context_dependent_function_with_opset_version(max(versions),
                                                                                node.SerializeToString(), types)
            except Exception:  # noqa: BLE001 - onnx raises plain errors for types its builder cannot handle
                return None
    if not raw:
        return None
    fn = FunctionProto()
    fn.ParseFromString(raw)
    if not fn.node:
        return None
    for name, attr in schema.attributes.items():  # the schema's defaults, for references the node leaves unset
        if attr.default_value.type and name not in {a.name for a in fn.attribute_proto}:
            fn.attribute_proto.append(_renamed(attr.default_value, name))
    return fn


def instantiate(fn: FunctionProto, node: NodeProto, prefix: str) -> list[NodeProto]:
    """The body of `fn` applied to `node`: formal names bound to the node's, locals under `prefix`,
    attribute references replaced by the node's attributes (or the function's defaults)."""
    names: dict[str, str] = {"": ""}
    for formal, actual in zip(fn.input, node.input):
        names[formal] = actual
    for formal in fn.input[len(node.input):]:
        names[formal] = ""
    for formal, actual in zip(fn.output, node.output):
        names[formal] = actual
    given = {a.name: a for a in node.attribute}
    defaults = {a.name: a for a in fn.attribute_proto}

    def rename(name: str) -> str:
        if name not in names:
            names[name] = f"{prefix}/{name}"
        return names[name]

    body = []
    for i, inner in enumerate(fn.node):
        attrs = []
        for a in inner.attribute:
            if a.ref_attr_name:
                src = given.get(a.ref_attr_name) or defaults.get(a.ref_attr_name)
                if src is None:
                    continue
                a = _renamed(src, a.name)
            attrs.append(a)
        new = helper.make_node(inner.op_type, [rename(n) for n in inner.input], [rename(n) for n in inner.output],
                               name=f"{prefix}/{inner.name or inner.op_type + str(i)}", domain=inner.domain)
        new.attribute.extend(attrs)
        body.append(new)
    return body


def _renamed(a: AttributeProto, name: str) -> AttributeProto:
    b = AttributeProto()
    b.CopyFrom(a)
    b.name = name
    return b


def function_opsets(fn: FunctionProto, outer: dict[str, int]) -> dict[str, int]:
    opsets = dict(outer)
    for imp in fn.opset_import:
        opsets[_domain(imp.domain)] = imp.version
    return opsets


def _domain(d: str) -> str:
    return "" if d in ("", "ai.onnx") else d


def node_domain(node: Any) -> str:
    return _domain(node.domain)
