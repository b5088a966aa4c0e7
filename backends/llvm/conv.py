"""Convolutions as im2col into the scratch area + GEMM; Patches and Unpatches (pooling) as direct loops.

One `Window` geometry drives two loop nests. `im2col` writes every window
element x[n, c, ho*sh + i*dh - top, wo*sw + j*dw - left] (or `fill` in the
padding) to a columns array whose layout each caller picks by strides over
(N, C, Ho, Wo, kh, kw). `col2im`, its transpose, is written as a gather: each
image pixel sums the column entries that came from it, in NumPy's
`unwindows` order (kernel row, then column), so no two iterations write the
same place and the loop vectorizes. With groups G, Og = O/G, K = C/G*kh*kw:

- conv2d: cols (N, G, K, Ho*Wo); y[n, g] = w[g] (Og, K) @ cols[n, g].
- conv2d_grad_input: cols[n, g] = w[g]^T @ gy[n, g], then col2im.
- conv2d_grad_weight: cols (G, K, N*Ho*Wo) and gy packed as (G, Og, N*Ho*Wo);
  gw[g] = gy[g] @ cols[g]^T, one product that also sums over the batch.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from llvmlite import ir

from graphc.ops.conv import Window
from graphc.schedule import Kernel, View

from .codegen import I64, KernelFunction, contiguous_strides, nest, storage_type
from .kernels import Context, Operand, identity, load, map_loop, product, store


def _i(n: int) -> ir.Constant:
    return ir.Constant(I64, n)


def _strides(sizes: Sequence[int], order: str) -> tuple[int, ...]:
    """Strides over the axes named by `order`'s letters, for a contiguous array laid out as `order`."""
    step, out = 1, {}
    for axis, size in reversed(list(zip(order, sizes))):
        out[axis] = step
        step *= max(size, 1)
    return tuple(out[a] for a in "NCHWij")


def im2col(kf: KernelFunction, win: Window, x: Operand, xshape: Sequence[int], cols: Operand,
           fill: float = 0.0) -> None:
    """cols[n, c, ho, wo, i, j] = the padded image's window element; cols' strides give its layout."""
    b = kf.b
    n, c, h, w = xshape
    ho_n, wo_n = win.out_shape(tuple(xshape))
    (kh, kw), (sh, sw), (dh, dw) = win.kernel, win.stride, win.dilation
    top, _, left, _ = win.padding
    pad = ir.Constant(storage_type(x.dtype), fill)
    with nest(b, (n, c, kh, kw, ho_n, wo_n)) as (ni, ci, i, j, ho, wo):
        row = b.add(b.mul(ho, _i(sh)), b.sub(b.mul(i, _i(dh)), _i(top)))
        col = b.add(b.mul(wo, _i(sw)), b.sub(b.mul(j, _i(dw)), _i(left)))
        inside = b.and_(b.icmp_unsigned("<", row, _i(h)), b.icmp_unsigned("<", col, _i(w)))  # negatives wrap
        v = load(kf, x, [ni, ci, b.select(inside, row, _i(0)), b.select(inside, col, _i(0))])
        store(kf, cols, [ni, ci, ho, wo, i, j], b.select(inside, v, pad))


def _source(b: ir.IRBuilder, pixel: ir.Value, k: int, stride: int, dilation: int, pad: int,
            out_size: int) -> tuple[ir.Value, ir.Value]:
    """(came from window position k, that window's index clamped into range) for an image row or column."""
    at = b.add(pixel, _i(pad - k * dilation))
    ok = b.icmp_unsigned("<", at, _i(out_size * stride))
    if stride > 1:
        ok = b.and_(ok, b.icmp_unsigned("==", b.urem(at, _i(stride)), _i(0)))
        at = b.udiv(at, _i(stride))
    return ok, b.select(ok, at, _i(0))


def col2im(kf: KernelFunction, win: Window, cols: Operand, out: Operand, shape: Sequence[int]) -> None:
    """out[n, c, h, w] = the sum of the column entries whose window element is (h, w) (out contiguous)."""
    b = kf.b
    ho_n, wo_n = win.out_shape(tuple(shape))
    (kh, kw), (sh, sw), (dh, dw) = win.kernel, win.stride, win.dilation
    top, _, left, _ = win.padding
    t = storage_type(out.dtype)
    with nest(b, shape) as (ni, ci, h, w):
        acc = ir.Constant(t, 0.0)
        for i in range(kh):
            ok_h, ho = _source(b, h, i, sh, dh, top, ho_n)
            for j in range(kw):
                ok_w, wo = _source(b, w, j, sw, dw, left, wo_n)
                v = load(kf, cols, [ni, ci, ho, wo, _i(i), _i(j)])
                acc = b.fadd(acc, b.select(b.and_(ok_h, ok_w), v, ir.Constant(t, 0.0)))
        store(kf, out, [ni, ci, h, w], acc)


class Scratch:
    """Element offsets into the scratch area, handed out in order; grows `ctx.scratch_bytes`."""

    def __init__(self, ctx: Context, dtype: str):
        self.ctx, self.dtype, self.used = ctx, dtype, 0

    def take(self, shape: Sequence[int]) -> int:
        at = self.used
        self.used += -(-int(np.prod(shape, dtype=np.int64)) // 16) * 16  # each part starts 64-byte aligned
        self.ctx.scratch_bytes = max(self.ctx.scratch_bytes, self.used * np.dtype(self.dtype).itemsize)
        return at

    def dense(self, kf: KernelFunction, view: View) -> Operand:
        """The view as a contiguous operand: itself when dense, else copied here."""
        op = self.ctx.operand(view, view.shape)
        if view.is_dense():
            return Operand(op.storage, op.dtype, contiguous_strides(view.shape), view.offset)
        dst = Operand(self.ctx.scratch, op.dtype, contiguous_strides(view.shape), self.take(view.shape))
        map_loop(kf, view.shape, [op], dst, identity(op.dtype, op.dtype))
        return dst


def _geometry(k: Kernel, x_shape: Sequence[int], o: int) -> tuple[int, int, int, int]:
    """(G, Og, K, Ho*Wo)."""
    win, g = k.node.op.window, k.node.op.groups
    kh, kw = win.kernel
    ho, wo = win.out_shape(tuple(x_shape))
    cg = x_shape[1] // g
    return g, o // g, cg * kh * kw, ho * wo


def emit_conv2d(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    x, wv = k.inputs
    n, c = x.shape[:2]
    g, og, kk, hw = _geometry(k, x.shape, wv.shape[0])
    scratch = Scratch(ctx, ctx.dtype(k.output))
    w = scratch.dense(kf, wv)
    cols = Operand(ctx.scratch, w.dtype, (), scratch.take((n, c, kk, hw)))
    win = k.node.op.window
    im2col(kf, win, ctx.operand(x, x.shape), x.shape,
           Operand(cols.storage, cols.dtype, _strides((n, c) + win.kernel + win.out_shape(x.shape), "NCijHW"),
                   cols.offset))
    out = ctx.output(k)
    ops = (Operand(w.storage, w.dtype, (0, og * kk, kk, 1), w.offset),
           Operand(cols.storage, cols.dtype, (g * kk * hw, kk * hw, hw, 1), cols.offset),
           Operand(out.storage, out.dtype, (g * og * hw, og * hw, hw, 1)))
    product(ctx, kf, (n, g), (og, hw, kk), ops)


def emit_conv_grad_input(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    gyv, wv, x = k.inputs
    n, c = x.shape[:2]
    g, og, kk, hw = _geometry(k, x.shape, wv.shape[0])
    scratch = Scratch(ctx, ctx.dtype(k.output))
    w, gy = scratch.dense(kf, wv), scratch.dense(kf, gyv)
    at = scratch.take((n, c, kk, hw))
    ops = (Operand(w.storage, w.dtype, (0, og * kk, 1, kk), w.offset),
           Operand(gy.storage, gy.dtype, (g * og * hw, og * hw, hw, 1), gy.offset),
           Operand(ctx.scratch, w.dtype, (g * kk * hw, kk * hw, hw, 1), at))
    product(ctx, kf, (n, g), (kk, hw, og), ops)
    win = k.node.op.window
    cols = Operand(ctx.scratch, w.dtype, _strides((n, c) + win.kernel + win.out_shape(x.shape), "NCijHW"), at)
    col2im(kf, win, cols, ctx.output(k), x.shape)


def emit_conv_grad_weight(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    x, gyv, wv = k.inputs
    n, c = x.shape[:2]
    g, og, kk, hw = _geometry(k, x.shape, wv.shape[0])
    win = k.node.op.window
    scratch = Scratch(ctx, ctx.dtype(k.output))
    cols_at = scratch.take((c, kk, n, hw))
    im2col(kf, win, ctx.operand(x, x.shape), x.shape,
           Operand(ctx.scratch, ctx.dtype(k.output),
                   _strides((c,) + win.kernel + (n,) + win.out_shape(x.shape), "CijNHW"), cols_at))
    # gy (N, G*Og, Ho, Wo) packed as (G, Og, N, Ho, Wo), copied over the domain (N, G, Og, Ho, Wo)
    gy = ctx.operand(gyv, gyv.shape)
    s, wo = gy.strides, gyv.shape[3]
    src = Operand(gy.storage, gy.dtype, (s[0], og * s[1], s[1], s[2], s[3]), gy.offset)
    packed = Operand(ctx.scratch, gy.dtype, (hw, og * n * hw, n * hw, wo, 1), scratch.take(gyv.shape))
    map_loop(kf, (n, g, og) + gyv.shape[2:], [src], packed, identity(gy.dtype, gy.dtype))
    nhw = n * hw
    out = ctx.output(k)
    ops = (Operand(ctx.scratch, out.dtype, (og * nhw, nhw, 1), packed.offset),
           Operand(ctx.scratch, out.dtype, (kk * nhw, 1, nhw), cols_at),
           Operand(out.storage, out.dtype, (og * kk, kk, 1)))
    product(ctx, kf, (g,), (og, kk, nhw), ops)


def emit_patches(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    (x,) = k.inputs
    out = ctx.output(k)
    im2col(kf, k.node.op.window, ctx.operand(x, x.shape), x.shape, out, k.node.op.fill)


def emit_unpatches(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    cols, donor = k.inputs
    col2im(kf, k.node.op.window, ctx.operand(cols, cols.shape), ctx.output(k), donor.shape)
