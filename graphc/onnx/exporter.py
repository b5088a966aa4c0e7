"""graphc graphs out as ONNX models: a forward model, a gradient graph or a training step.

Gradients are ordinary graphs here, so exporting `gc.grad(loss, params)` is exporting any other
graph: every op graphc's reverse rules build (unbroadcast sums, the transposed convolutions, the
scatters of slices and gathers, where-masks) has a converter to standard ONNX ops (the default
domain only, so any runtime runs it) in `graphc.onnx.export_ops`, `export_windows` and
`export_loops`. Placeholders become graph inputs and parameters initializers, both under their
graphc names; a training step's updates become extra outputs, the parameters' new values. The
model is checked with `onnx.checker` (full check) before it is returned or written.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np

from ..ir import Tensor
from ..ir.graph import toposort
from ..ir.leaves import Parameter, Placeholder
from .emitter import Emitter, ExportError, value_info

#: the opset models are written for unless asked otherwise (Col2Im, which pooling gradients need, is 18)
DEFAULT_OPSET = 18
MIN_OPSET = 18


def converters() -> dict[type, Callable]:
    """Every registered export converter, by op class: the converter modules register on import, which this
    makes sure of (they import export_registry, so it cannot import them)."""
    from . import export_loops, export_ops, export_windows  # noqa: F401 - each registers its converters
    from .export_registry import CONVERTERS
    return CONVERTERS


def export(outputs: Any, path: str | os.PathLike | None = None, *, inputs: Sequence[Tensor] | None = None,
           updates: Sequence[tuple[Tensor, Tensor]] | None = None, names: Sequence[str] | None = None,
           opset: int | None = None, params_as_inputs: bool = False, check: bool = True,
           model_name: str = "graphc") -> Any:
    """The ONNX model (`onnx.ModelProto`) computing `outputs`; written to `path` too when given.

    `outputs` is a tensor, a sequence of tensors, or a compiled `gc.Function` (its inputs, outputs and
    updates are exported). Gradient graphs (`gc.grad`) export like any other. Inputs are the
    placeholders the outputs read (in `inputs`' order when given; by default in the order the graph
    reaches them); parameters become initializers holding their current values (with
    `params_as_inputs`, also graph inputs, so a runtime can feed new values), all under their graphc
    names. `updates` (a training step's `(param, new_value)` pairs) become extra outputs named
    `<param>.updated`. `names` names the outputs (default `output0`, `output1`, ...). The file is
    written atomically (a temporary file renamed into place). Every op the graph holds must have an
    ONNX form; the ones that do not are all named in one `ExportError`.
    """
    import onnx
    from onnx import helper

    from .export_registry import emit_nodes, unexportable

    converters()

    outs, ins, ups = _unpack(outputs, inputs, updates)
    opset = _check_opset(opset)
    out_names = _output_names(outs, names)
    nodes = toposort(list(outs) + [v for _, v in ups] + list(ins) + [p for p, _ in ups])
    problems = unexportable(nodes)
    if problems:
        raise ExportError("export: the graph holds ops with no ONNX form:\n    " + "\n    ".join(problems),
                          fix="export a graph without them (e.g. a model in eval mode, before any fusion)")
    given = {id(t) for t in ins}
    missing = [t for t in nodes if isinstance(t.op, Placeholder) and id(t) not in given]
    if missing:
        raise ExportError("export: the outputs read placeholders that are not among `inputs`: "
                          + ", ".join(_label(t) for t in missing), fix="pass every placeholder they read in inputs=")
    e = Emitter(opset)
    graph_inputs, graph_outputs = [], []
    for t in ins:
        graph_inputs.append(value_info(e.fresh(_leaf_name(t, "input")), t, free=True))
        e.values[id(t)] = graph_inputs[-1].name
    for t in nodes:
        if isinstance(t.op, Parameter):
            name = e.initializer(np.array(t.op.state.array), e.fresh(_leaf_name(t, "param")))
            e.values[id(t)] = name
            if params_as_inputs:
                graph_inputs.append(value_info(name, t))
    roots = list(outs) + [v for _, v in ups]
    root_names = out_names + [f"{e.values[id(p)]}.updated" for p, _ in ups]  # the parameter's ONNX name
    for name in root_names:  # reserved before any intermediate value is named
        if name in e._taken:
            raise ExportError(f"export: the output name {name!r} is already the name of an input or parameter",
                              fix="pass other names in names=")
        e._taken.add(name)
    emit_nodes(e, roots)
    for t, name in zip(roots, root_names):
        e.nodes.append(helper.make_node("Identity", [e.values[id(t)]], [name], name=name))
        graph_outputs.append(value_info(name, t))
    graph = helper.make_graph(e.nodes, model_name, graph_inputs, graph_outputs, initializer=e.initializers,
                              value_info=e.typed)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="graphc",
                              producer_version=_version())
    if check:
        onnx.checker.check_model(model, full_check=True)
    if path is not None:
        _write_atomic(model, os.fspath(path))
    return model


def _unpack(outputs: Any, inputs: Sequence[Tensor] | None,
            updates: Sequence[tuple[Tensor, Tensor]] | None) -> tuple[list, list, list]:
    """(outputs, inputs, updates) from a tensor, a sequence of them, or a gc.Function."""
    from ..function import Function
    if isinstance(outputs, Function):
        if inputs is not None or updates is not None:
            raise ExportError("export: a gc.Function brings its own inputs and updates",
                              fix="pass the function alone, or its tensors with inputs= and updates=")
        return list(outputs.outputs), list(outputs.inputs), list(outputs.updates)
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    bad = [o for o in outs if not isinstance(o, Tensor)]
    if bad or not outs:
        raise ExportError(f"export: outputs must be graphc tensors or a gc.Function, got {outputs!r}",
                          fix="pass the tensors to export (a loss, gc.grad(loss, params), ...)")
    ups = [tuple(u) for u in (updates or [])]
    if any(len(u) != 2 or not isinstance(u[0], Tensor) or not isinstance(u[0].op, Parameter) for u in ups):
        raise ExportError("export: updates must be (parameter, new value) pairs", fix="as gc.function's updates=")
    if inputs is None:
        roots = outs + [v for _, v in ups]
        inputs = [t for t in toposort(roots) if isinstance(t.op, Placeholder)]
    ins = list(inputs)
    bad = [t for t in ins if not (isinstance(t, Tensor) and isinstance(t.op, Placeholder))]
    if bad:
        raise ExportError(f"export: inputs must be placeholders, got {bad!r}", fix="pass the gc.placeholder tensors")
    return outs, ins, ups


def _check_opset(opset: int | None) -> int:
    import onnx
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return DEFAULT_OPSET
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise ExportError(f"export: opset {opset!r} is outside the {MIN_OPSET}..{newest} graphc writes",
                          fix=f"pass opset= between {MIN_OPSET} and {newest} (default {DEFAULT_OPSET})")
    return opset


def _output_names(outs: list, names: Sequence[str] | None) -> list[str]:
    if names is None:
        return [f"output{i}" for i in range(len(outs))]
    names = [names] if isinstance(names, str) else list(names)
    if len(names) != len(outs) or len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise ExportError(f"export: names {names!r} must be {len(outs)} distinct non-empty strings, one per output",
                          fix="pass one name per output")
    return names


def _label(t: Tensor) -> str:
    return f"{t.name or t.op.name} ({t.type_str()})"


def _leaf_name(t: Tensor, kind: str) -> str:
    return t.name or f"{kind}{t.op.uid}"


def _version() -> str:
    from ..version import __version__
    return __version__


def _write_atomic(model: Any, path: str) -> None:
    """Write the model beside `path` and rename it into place: a reader never sees half a file."""
    from ..nn.serialization import atomic_path
    data = model.SerializeToString()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
