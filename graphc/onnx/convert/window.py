"""The geometry attributes Conv and the pools share: strides, pads (explicit or auto_pad), dilations."""
from __future__ import annotations

from ..errors import Unsupported
from ..registry import NodeCtx


def spatial_args(ctx: NodeCtx, x, kernel: tuple[int, ...], dilations: bool = True):
    """(stride, ((before, after) per spatial axis), dilation) for x (N, C, *spatial)."""
    n = x.ndim - 2
    stride = tuple(ctx.attr("strides", [1] * n))
    dilation = tuple(ctx.attr("dilations", [1] * n)) if dilations else (1,) * n
    auto = ctx.attr("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        p = list(ctx.attr("pads", [0] * 2 * n))
        pads = tuple((p[i], p[i + n]) for i in range(n))
    elif auto == "VALID":
        pads = ((0, 0),) * n
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        spatial = x.shape[2:]
        if None in spatial:
            raise Unsupported(f"auto_pad={auto} with free spatial dims")
        pads = []
        for size, k, s, d in zip(spatial, kernel, stride, dilation):
            out = -(-size // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            small, big = total // 2, total - total // 2
            pads.append((small, big) if auto == "SAME_UPPER" else (big, small))
        pads = tuple(pads)
    else:
        raise Unsupported(f"auto_pad={auto!r}")
    return stride, pads, dilation
