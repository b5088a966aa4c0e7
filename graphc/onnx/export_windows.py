"""The ONNX form of convolutions, their gradients, and im2col/col2im over 1 to 3 spatial axes.

A convolution is Conv, its input gradient (the transposed convolution) ConvTranspose with the output
padding that gives back the input's size, and its weight gradient a Conv of the input by the output
gradient with batch and channels exchanged (per group) and stride and dilation exchanged. im2col
(`Patches`) is one strided Slice per kernel element of the input padded as far as the windows read
(a ceil-mode last window reads past the padding), col2im (`Unpatches`) ONNX's Col2Im.
"""
from __future__ import annotations

import itertools
import math

from ..ir import Tensor
from ..ops import conv
from .emitter import Emitter, ExportError
from .export_registry import converts


# -- convolution --------------------------------------------------------------------------------

def onnx_pads(win: conv.Window, high: list | None = None) -> list[int]:
    """graphc's (low, high) pair per axis as ONNX's pads: every low, then every high (`high` replacing them)."""
    lows = [win.pads(a)[0] for a in range(win.rank)]
    highs = high if high is not None else [win.pads(a)[1] for a in range(win.rank)]
    return lows + list(highs)


def _attrs(win: conv.Window) -> dict:
    return dict(kernel_shape=list(win.kernel), strides=list(win.stride), dilations=list(win.dilation))


def _static_spatial(node: Tensor, *ts: Tensor) -> None:
    for t in ts:
        if None in t.shape[2:]:
            raise ExportError(f"export: {node.op.name} of {t.type_str()} needs fixed spatial sizes",
                              fix="give the image placeholder fixed spatial sizes")


def _extended_high(win: conv.Window, shape: tuple) -> list[int]:
    """The high padding that reaches as far as the windows read (past the padding for a ceil-mode last window)."""
    return [e - n - win.pads(a)[0] for a, (n, e) in enumerate(zip(shape[2:], win.extents(shape)))]


@converts(conv.Conv)
def _conv(e: Emitter, node: Tensor, ins: list) -> str:
    win = node.op.window
    return e.op("Conv", ins, hint=node.op.name, pads=onnx_pads(win), group=node.op.groups, **_attrs(win))


@converts(conv.ConvGradInput)
def _conv_grad_input(e: Emitter, node: Tensor, ins: list) -> str:
    """ConvTranspose of gy by the same weight, its output padding chosen to give back the donor's size."""
    gy, w, _ = ins
    win = node.op.window
    _static_spatial(node, node.inputs[0], node.inputs[2])
    spatial, out = node.inputs[2].shape[2:], node.inputs[0].shape[2:]
    extra = []
    for a in range(win.rank):
        s, d, k = win.stride[a], win.dilation[a], win.kernel[a]
        extra.append(spatial[a] + sum(win.pads(a)) - (s * (out[a] - 1) + d * (k - 1) + 1))
    return e.op("ConvTranspose", [gy, w], hint=node.op.name, pads=onnx_pads(win), group=node.op.groups,
                output_padding=extra, **_attrs(win))


@converts(conv.ConvGradWeight)
def _conv_grad_weight(e: Emitter, node: Tensor, ins: list) -> str:
    """gw[o, c] = sum over n of x[n, c] correlated with gy[n, o]: a Conv with batch and channels of x and gy
    exchanged (per group), stride and dilation exchanged, cut to the kernel and transposed back."""
    x, gy, _ = ins
    win, groups = node.op.window, node.op.groups
    _static_spatial(node, node.inputs[0], node.inputs[1])
    c, *spatial = node.inputs[0].shape[1:]
    o, *out = node.inputs[1].shape[1:]
    rest = list(range(3, 3 + win.rank))
    swap = [1, 0] + [a - 1 for a in rest]
    if groups == 1:
        xs, gs = e.op("Transpose", [x], perm=swap), e.op("Transpose", [gy], perm=swap)
    else:  # channels ordered group-major: (group, batch)
        cg, og = c // groups, o // groups
        xs = e.op("Reshape", [x, e.ints([0, groups, cg, *spatial])])
        xs = e.op("Reshape", [e.op("Transpose", [xs], perm=[2, 1, 0, *rest]), e.ints([cg, -1, *spatial])])
        gs = e.op("Reshape", [gy, e.ints([0, groups, og, *out])])
        gs = e.op("Reshape", [e.op("Transpose", [gs], perm=[1, 2, 0, *rest]), e.ints([o, -1, *out])])
    full = e.op("Conv", [xs, gs], kernel_shape=list(out), strides=list(win.dilation), pads=onnx_pads(win),
                dilations=list(win.stride), group=groups)
    axes = list(range(2, 2 + win.rank))
    cut = e.op("Slice", [full, e.ints([0] * win.rank), e.ints(list(win.kernel)), e.ints(axes)])
    return e.op("Transpose", [cut], perm=swap, hint=node.op.name)


@converts(conv.Patches)
def _patches(e: Emitter, node: Tensor, ins: list) -> str:
    """im2col: the input padded with `fill` as far as the windows read, one strided Slice per kernel
    element, stacked on a last axis and reshaped to the kernel's axes."""
    win = node.op.window
    x_shape = node.inputs[0].shape
    _static_spatial(node, node.inputs[0])
    out = node.shape[2:2 + win.rank]
    high = _extended_high(win, x_shape)
    x = ins[0]
    if any(onnx_pads(win, high)):
        pads = [0, 0] + onnx_pads(win, high)[:win.rank] + [0, 0] + high
        x = e.op("Pad", [x, e.ints(pads), e.scalar(node.op.fill, node)], mode="constant")
    axes = e.ints(list(range(2, 2 + win.rank)))
    steps = e.ints(list(win.stride))
    parts = []
    for at in itertools.product(*(range(k) for k in win.kernel)):
        starts = [i * d for i, d in zip(at, win.dilation)]
        ends = [b + s * (o - 1) + 1 for b, s, o in zip(starts, win.stride, out)]
        part = e.op("Slice", [x, e.ints(starts), e.ints(ends), axes, steps])
        parts.append(e.op("Unsqueeze", [part, e.ints([2 + win.rank])]))
    stacked = parts[0] if len(parts) == 1 else e.op("Concat", parts, axis=2 + win.rank)
    return e.op("Reshape", [stacked, e.ints([0, 0, *out, *win.kernel])], hint="patches")


@converts(conv.Unpatches)
def _unpatches(e: Emitter, node: Tensor, ins: list) -> str:
    """col2im: the windows as (N, C K, P) columns (K kernel elements, P windows), added back by Col2Im."""
    cols, _ = ins
    win = node.op.window
    _static_spatial(node, node.inputs[1])
    c, *spatial = node.shape[1:]
    r = win.rank
    order = [0, 1, *range(2 + r, 2 + 2 * r), *range(2, 2 + r)]
    flat = e.op("Reshape", [e.op("Transpose", [cols], perm=order), e.ints([0, c * math.prod(win.kernel), -1])])
    return e.op("Col2Im", [flat, e.ints(spatial), e.ints(list(win.kernel))], hint="unpatches",
                pads=onnx_pads(win, _extended_high(win, node.shape)), strides=list(win.stride),
                dilations=list(win.dilation))
