"""The geometry attributes Conv, ConvTranspose and the pools share: strides, pads (explicit or auto_pad,
resolved by graphc's `onnx_padding`), dilations."""
from __future__ import annotations

from ...ops.window import onnx_padding
from ..errors import Unsupported
from ..registry import NodeCtx


def spatial_args(ctx: NodeCtx, x, kernel: tuple[int, ...]):
    """(stride, ((low, high) per spatial axis), dilation) for x (N, C, *spatial)."""
    n = x.ndim - 2
    if n not in (1, 2, 3):
        raise Unsupported(f"{ctx.op_type} of rank {x.ndim} ({n}-D); graphc has 1-D to 3-D windows")
    stride = tuple(ctx.attr("strides", [1] * n))
    dilation = tuple(ctx.attr("dilations", [1] * n))
    auto = ctx.attr("auto_pad", "NOTSET")
    if auto not in ("NOTSET", "", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise Unsupported(f"auto_pad={auto!r}")
    if auto.startswith("SAME") and None in x.shape[2:]:
        raise Unsupported(f"auto_pad={auto} with free spatial dims")
    pads = onnx_padding(ctx.op_type, x.shape[2:], kernel, stride, dilation, ctx.attr("pads"), auto)
    return stride, pads, dilation


def padding_arg(pads: tuple[tuple[int, int], ...]):
    """graphc's padding argument: a (low, high) pair for one axis, else one pair per axis."""
    return pads[0] if len(pads) == 1 else pads
