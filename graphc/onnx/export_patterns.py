"""Groups of graphc nodes that one ONNX op stands for: pooling and means.

graphc builds pooling from its parts (`max(patches(x), axes=(4, 5))`, the mean as a sum divided by
a count), so gradients come from the parts' rules. A forward model exported part by part would hold
kh * kw strided slices per pool; where a node heads such a group, export writes ONNX's own op
(MaxPool, AveragePool, ReduceMean) reading the group's input, and the parts are emitted only if
something else (a gradient) reads them.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..ir import Tensor
from ..ops import conv, reduce
from ..ops import elementwise as ew
from ..ops.axes import ExpandDims, Sum, scalar_const
from .emitter import Emitter

#: (the graphc tensors the ONNX op reads, its emitter)
Match = tuple[list, Callable[[Emitter], str]]
#: op class of a group's head -> the patterns that may match there
PATTERNS: dict[type, list[Callable[[Tensor], Match | None]]] = {}


def pattern(cls: type) -> Callable:
    def register(fn: Callable[[Tensor], Match | None]) -> Callable:
        PATTERNS.setdefault(cls, []).append(fn)
        return fn
    return register


def match(node: Tensor) -> Match | None:
    """The group `node` heads, if one matches."""
    for fn in PATTERNS.get(type(node.op), ()):
        found = fn(node)
        if found is not None:
            return found
    return None


def reads(node: Tensor) -> list:
    """What `node`'s ONNX form reads: a group's input, or its own inputs."""
    found = match(node)
    return found[0] if found is not None else list(node.inputs)


def _window_attrs(win: conv.Window) -> dict:
    lows = [win.pads(a)[0] for a in range(win.rank)]
    highs = [win.pads(a)[1] for a in range(win.rank)]
    return dict(kernel_shape=list(win.kernel), strides=list(win.stride), pads=lows + highs)


def _pooled(node: Tensor, fill: float) -> Tensor | None:
    """The Patches of fill `fill` that `node` reduces over its kernel axes, or None. Only windows whose
    padding is below the kernel and without ceil mode (onnxruntime refuses larger pads, and ONNX's
    ceil-mode rule for the last window is not graphc's)."""
    if not isinstance(node.op, (Sum, reduce.Max)) or node.op.keepdims:
        return None
    p = node.inputs[0]
    if not isinstance(p.op, conv.Patches) or p.op.fill != fill or None in p.inputs[0].shape[2:]:
        return None
    win = p.op.window
    small = all(max(win.pads(a)) < win.kernel[a] for a in range(win.rank))
    kernel_axes = tuple(range(2 + win.rank, 2 + 2 * win.rank))
    return p if node.op.axes == kernel_axes and small and not win.ceil else None


@pattern(reduce.Max)
def _max_pool(node: Tensor) -> Match | None:
    p = _pooled(node, float("-inf"))
    if p is None:
        return None
    x, win = p.inputs[0], p.op.window
    return [x], lambda e: e.op("MaxPool", [e.values[id(x)]], hint="max_pool2d", dilations=list(win.dilation),
                               **_window_attrs(win))


def _denominator(t: Tensor) -> Tensor:
    while isinstance(t.op, ExpandDims):
        t = t.inputs[0]
    return t


@pattern(ew.Divide)
def _avg_pool(node: Tensor) -> Match | None:
    """sum(patches(x), axes=(4, 5)) / (kh kw): AveragePool counting the padding (graphc's avg_pool2d)."""
    total, count = node.inputs
    p = _pooled(total, 0.0)
    if p is None or set(p.op.window.dilation) != {1} or scalar_const(count) != math.prod(p.op.window.kernel) \
            or node.shape != total.shape:
        return None
    x, win = p.inputs[0], p.op.window
    return [x], lambda e: e.op("AveragePool", [e.values[id(x)]], hint="avg_pool2d", count_include_pad=1,
                               **_window_attrs(win))


@pattern(ew.Divide)
def _mean(node: Tensor) -> Match | None:
    """sum(x, axes) / (the number of elements summed): ReduceMean (gc.mean, batch statistics, global pooling)."""
    total, count = node.inputs
    if not isinstance(total.op, Sum) or total.dtype != node.dtype or node.shape != total.shape:
        return None
    x, axes = total.inputs[0], total.op.axes
    sizes = [x.shape[a] for a in axes]
    den = _denominator(count)
    counted = isinstance(den.op, reduce.Count) and den.op.axes == axes and den.inputs[0] is x
    if not counted and (None in sizes or scalar_const(count) != float(np.prod(sizes))):
        return None
    return [x], lambda e: e.op("ReduceMean", [e.values[id(x)], e.ints(axes)], hint="mean",
                               keepdims=int(total.op.keepdims))
