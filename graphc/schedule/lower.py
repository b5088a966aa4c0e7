"""Lowering an optimized graph to a kernel program."""
from __future__ import annotations

import numpy as np

from ..ir import Constant, Graph, GraphcError, Op, Parameter, Placeholder, Tensor
from ..ops import elementwise as ew
from ..ops import fused, index, shape
from ..ops.reduce import Monoid
from .memory import plan_memory
from .order import cluster_elementwise
from .program import Buffer, Kernel, KernelProgram, View

#: The kernel kinds: an op declares its own (`Op.kernel_kind`), which names its kernel in the program and its
#: reports (backends find the emitter by the op's class); a "generic" kernel runs the op's NumPy rule.
KINDS: tuple[str, ...] = ("elementwise", "reduce", "matmul", "softmax", "gather", "scatter", "copy", "conv", "rng",
                          "loop")


def kind_of(op: Op) -> str:
    """The kind of kernel `op` becomes, as the op declares it."""
    kind = op.kernel_kind
    if kind != "generic" and kind not in KINDS:
        raise GraphcError(f"{type(op).__name__} declares kernel_kind = {kind!r}, which no backend emits",
                          fix=f"use one of {', '.join(KINDS)}, or 'generic' to run its NumPy rule")
    return kind


def body_of(node: Tensor) -> tuple[tuple, object]:
    """(lets, body): the scalar body a kernel evaluates over its inputs `in0, in1, ...` (body None for
    kernels without one). A fused kernel carries its body; an elementwise op or a monoid reduction
    gives its own (`kernel_body`: the element enters a fold as itself)."""
    op = node.op
    if isinstance(op, fused.FusedBase):
        return op.lets, op.body
    if isinstance(op, (ew.Elementwise, Monoid)):
        return (), op.kernel_body(*fused.input_symbols(len(node.inputs)))
    return (), None


def view_of(node: Tensor, src: View) -> View | None:
    """The view `node` is of its input's view `src`, or None when it needs a kernel: how the scheduler
    turns shape ops and slices into views, and how the backends find the region a scatter_slice writes
    (`node` needs only `op` and `ndim`)."""
    op = node.op
    if isinstance(op, shape.ExpandDims):
        dims, strides = list(src.shape), list(src.strides)
        for a in op.axes:
            dims.insert(a, 1)
            strides.insert(a, 0)
        return View(src.buffer, tuple(dims), tuple(strides), src.offset)
    if isinstance(op, shape.Squeeze):
        keep = [i for i in range(len(src.shape)) if i not in op.axes]
        return View(src.buffer, tuple(src.shape[i] for i in keep), tuple(src.strides[i] for i in keep), src.offset)
    if isinstance(op, shape.Transpose):
        return View(src.buffer, tuple(src.shape[p] for p in op.perm), tuple(src.strides[p] for p in op.perm),
                    src.offset)
    if isinstance(op, (shape.BroadcastTo, shape.BroadcastLike)):
        lead = node.ndim - len(src.shape)
        dims = (1,) * lead + src.shape
        strides = (0,) * lead + src.strides
        return View(src.buffer, node.shape,
                    tuple(0 if d == 1 and t != 1 else s for d, t, s in zip(dims, node.shape, strides)), src.offset)
    if isinstance(op, shape.Reshape):
        strides = _reshaped_strides(src, tuple(node.shape))
        return None if strides is None else View(src.buffer, tuple(node.shape), strides, src.offset)
    if isinstance(op, index.Slice):
        dims, strides, offset, axis = [], [], src.offset, 0
        for k in op.key:
            if k[0] == "new":
                dims.append(1)
                strides.append(0)
                continue
            d, s = src.shape[axis], src.strides[axis]
            if k[0] == "int":
                offset += (k[1] % d) * s
            else:
                start, stop, step = slice(*k[1:]).indices(d)
                dims.append(len(range(start, stop, step)))
                strides.append(s * step)
                offset += start * s if dims[-1] else 0
            axis += 1
        return View(src.buffer, tuple(dims), tuple(strides), offset)
    return None


def _reshaped_strides(src: View, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Strides that read `src` in row-major order as `shape` without copying, or None (NumPy's rule:
    every group of old axes that merges into new ones must be laid out as one run)."""
    if 0 in shape or 0 in src.shape:
        return View.contiguous(src.buffer, shape).strides
    old = [(d, s) for d, s in zip(src.shape, src.strides) if d != 1]
    strides = [1] * len(shape)
    oi = ni = 0
    while oi < len(old) and ni < len(shape):
        oj, nj = oi + 1, ni + 1
        o_size, n_size = old[oi][0], shape[ni]
        while o_size != n_size:
            if n_size < o_size:
                n_size *= shape[nj]
                nj += 1
            else:
                o_size *= old[oj][0]
                oj += 1
        if any(old[k][1] != old[k + 1][0] * old[k + 1][1] for k in range(oi, oj - 1)):
            return None
        strides[nj - 1] = old[oj - 1][1]
        for k in range(nj - 1, ni, -1):
            strides[k - 1] = strides[k] * shape[k]
        oi, ni = oj, nj
    return tuple(strides)


def lower(graph: Graph, in_place: bool = True) -> KernelProgram:
    """The kernel program of a graph whose shapes are all known."""
    buffers: list[Buffer] = []
    kernels: list[Kernel] = []
    views: dict[Tensor, View] = {}

    def new_buffer(node: Tensor, role: str, name: str = "", data=None) -> View:
        if None in node.shape:
            raise ValueError(f"lower: {node!r} has free dims; specialize the graph first")
        buffers.append(Buffer(len(buffers), tuple(node.shape), node.dtype, role, name, data))
        return View.contiguous(len(buffers) - 1, tuple(node.shape))

    for node in graph.nodes:
        op = node.op
        if isinstance(op, Placeholder):
            views[node] = new_buffer(node, "input", node.name or "")
        elif isinstance(op, Parameter):
            views[node] = new_buffer(node, "param", node.name or "", op.state)
        elif isinstance(op, Constant):
            views[node] = new_buffer(node, "const", "", np.ascontiguousarray(op.value))
        else:
            view = view_of(node, views[node.inputs[0]]) if node.inputs else None
            if view is None:
                out = new_buffer(node, "temp")
                lets, body = body_of(node)
                kernels.append(Kernel(kind_of(op), node, tuple(views[i] for i in node.inputs), out.buffer,
                                      body, lets))
                view = out
            views[node] = view

    outputs = [views[o] for o in graph.outputs]
    updates = [(views[p].buffer, views[v]) for p, v in graph.updates]
    kernels = cluster_elementwise(kernels, buffers)
    plan = plan_memory(buffers, kernels, outputs, updates, in_place)
    return KernelProgram(buffers, kernels, [views[x].buffer for x in graph.inputs], outputs, updates, plan)
