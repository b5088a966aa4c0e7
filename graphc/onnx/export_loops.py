"""The ONNX form of `gc.scan`: a Loop whose body is the step's graph, exported like any other."""
from __future__ import annotations

import numpy as np

from ..control.loop import Scan
from ..ir import Tensor
from .emitter import INT64_MIN, Emitter, value_info
from .export_registry import converts, emit_nodes


# -- loops --------------------------------------------------------------------------------------

@converts(Scan)
def _scan(e: Emitter, node: Tensor, ins: list) -> str:
    """A Loop of `length` iterations whose body is the step's graph: it reads row t of each sequence
    (t counting down for a reverse scan) and the constants from the outer graph by name, carries the
    carry, and emits the step's output row; the rows of a reverse scan are flipped back so that row t is
    step t's, as graphc stacks them."""
    from onnx import TensorProto, helper
    op, b = node.op, node.op.body
    init, seqs, consts = op.split(ins)
    body = e.child()
    it, cond, carry = body.fresh("iteration"), body.fresh("condition"), body.fresh("carry")
    body.values[id(b.carry)] = carry
    body.values.update({id(p): name for p, name in zip(b.consts, consts)})
    t = body.op("Sub", [body.const(np.int64(op.length - 1)), it]) if op.reverse else it
    for p, seq in zip(b.steps, seqs):
        body.values[id(p)] = body.op("Gather", [seq, t], hint="row", axis=0)
    emit_nodes(body, [b.out])
    row = body.values[id(b.out)]
    new = row
    if b.extra:  # the carry is the row without its extra columns
        new = body.op("Slice", [row, body.ints([0]), body.ints([b.out.shape[-1] - b.extra]), body.ints([-1])])
    outs = [(body.op("Identity", [cond], hint="condition"), helper.make_tensor_value_info("", TensorProto.BOOL, [])),
            (body.op("Identity", [new], hint="carry"), value_info("", b.carry))]
    if not op.last:
        outs.append((body.op("Identity", [row], hint="row"), value_info("", b.out)))
    for name, info in outs:
        info.name = name
    inputs = [helper.make_tensor_value_info(it, TensorProto.INT64, []),
              helper.make_tensor_value_info(cond, TensorProto.BOOL, []), value_info(carry, b.carry)]
    graph = helper.make_graph(body.nodes, body.fresh("scan_body"), inputs, [info for _, info in outs],
                              value_info=body.typed)
    results = e.op("Loop", [e.const(np.int64(op.length)), "", init], hint="scan", outputs=1 if op.last else 2,
                   body=graph)
    if op.last:
        return results
    stacked = results[1]
    if op.reverse:
        stacked = e.op("Slice", [stacked, e.ints([-1]), e.ints([INT64_MIN]), e.ints([0]), e.ints([-1])], hint="scan")
    return stacked
