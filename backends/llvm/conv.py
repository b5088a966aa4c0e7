"""Convolutions as im2col into the scratch area + GEMM; Patches and Unpatches (pooling) as direct loops.

One `Window` geometry drives two loop nests. `im2col` writes every window
element x[n, c, ho*sh + i*dh - top, wo*sw + j*dw - left] (or `fill` in the
padding) to a columns array whose layout each caller picks by strides over
(N, C, Ho, Wo, kh, kw). `col2im`, its transpose, is written as a gather: each
image pixel sums the column entries that came from it, in NumPy's
`unwindows` order (kernel row, then column), so no two iterations write the
same place and the loop vectorizes. With groups G, Og = O/G, K = C/G*kh*kw,
columns are laid out (G, K, N*Ho*Wo) (rows padded to an odd number of cache
lines, `_leading`) and images (N, O, Ho, Wo) are packed as
(G, Og, N*Ho*Wo), so each convolution is one product per group over the whole
batch (a few large GEMMs, not one small GEMM per image):

- conv2d: y[g] = w[g] (Og x K) @ cols[g], unpacked into the output.
- conv2d_grad_input: cols[g] = w[g]^T @ gy[g], then col2im.
- conv2d_grad_weight: gw[g] = gy[g] @ cols[g]^T (the product also sums over the batch).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from llvmlite import ir

from graphc.ops.conv import Conv2d, ConvGradInput, ConvGradWeight, Patches, Unpatches, Window
from graphc.schedule import Kernel, View

from .codegen import I64, KernelFunction, contiguous_strides, element, loop, nest, storage_type
from .kernels import Context, Operand, Scratch, emit_copy, fill_zero, load, store
from .matmul import product
from .registry import EMITTERS


def _i(n: int) -> ir.Constant:
    return ir.Constant(I64, n)


def layout_strides(sizes: Sequence[int], order: str) -> tuple[int, ...]:
    """Strides over the axes (N, C, H, W, i, j) of an im2col columns array laid out contiguously in the
    order `order` names them (`sizes` in that order): how `im2col` and `col2im` callers pick a layout."""
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
    with kf.parallel((n, c, kh, kw, ho_n, wo_n)) as (ni, ci, i, j, ho, wo):
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
    if kf.serial:  # one CPU thread: rows added into rows, or a copy when each pixel is in one window
        (_untile if _tiles(win, shape) else _col2im_rows)(kf, win, cols, out, shape)
        return
    b = kf.b
    ho_n, wo_n = win.out_shape(tuple(shape))
    (kh, kw), (sh, sw), (dh, dw) = win.kernel, win.stride, win.dilation
    top, _, left, _ = win.padding
    t = storage_type(out.dtype)
    with kf.parallel(shape) as (ni, ci, h, w):
        acc = ir.Constant(t, 0.0)
        for i in range(kh):
            ok_h, ho = _source(b, h, i, sh, dh, top, ho_n)
            for j in range(kw):
                ok_w, wo = _source(b, w, j, sw, dw, left, wo_n)
                v = load(kf, cols, [ni, ci, ho, wo, _i(i), _i(j)])
                acc = b.fadd(acc, b.select(b.and_(ok_h, ok_w), v, ir.Constant(t, 0.0)))
        store(kf, out, [ni, ci, h, w], acc)


def _tiles(win: Window, shape: Sequence[int]) -> bool:
    """Whether the windows tile the image exactly (pooling with stride = window): no overlap, no gap."""
    ho, wo = win.out_shape(tuple(shape))
    return (win.dilation == (1, 1) and win.stride == win.kernel and not any(win.padding)
            and (ho * win.kernel[0], wo * win.kernel[1]) == tuple(shape[2:]))


def _untile(kf: KernelFunction, win: Window, cols: Operand, out: Operand, shape: Sequence[int]) -> None:
    """col2im of windows that tile the image: out[n, c, ho*kh + i, wo*kw + j] = cols[n, c, ho, wo, i, j]."""
    n, c, h, w = shape
    (kh, kw), (ho_n, wo_n) = win.kernel, win.out_shape(tuple(shape))
    s = cols.strides
    emit_copy(kf, (n, c, ho_n, kh, wo_n, kw),
              Operand(cols.storage, cols.dtype, s[:3] + (s[4], s[3], s[5]), cols.offset),
              Operand(out.storage, out.dtype, (c * h * w, h * w, kh * w, w, kw, 1), out.offset))


def _col2im_rows(kf: KernelFunction, win: Window, cols: Operand, out: Operand, shape: Sequence[int]) -> None:
    """col2im on one CPU thread: zero the image, then add each window row of the columns into the image
    row it came from. The run of wo for one (n, c, ho, i, j) is contiguous on both sides (stride 1), so
    it vectorizes; which wo land inside the image is known per j when the kernel is generated, so there
    is no test per element (the gather form tests 2 x kh x kw conditions per pixel, scalar: 5x slower)."""
    b = kf.b
    n, c, h, w = shape
    ho_n, wo_n = win.out_shape(tuple(shape))
    (kh, kw), (sh, sw), (dh, dw) = win.kernel, win.stride, win.dilation
    top, _, left, _ = win.padding
    t = storage_type(out.dtype)
    fill_zero(kf, out, shape)
    with nest(b, (n, c, ho_n), unroll=False) as (ni, ci, ho):
        for i in range(kh):
            row = b.add(b.mul(ho, _i(sh)), _i(i * dh - top))
            with b.if_then(b.icmp_unsigned("<", row, _i(h))):  # a negative row wraps to a large one
                for j in range(kw):
                    lo = max(0, -((j * dw - left) // sw))  # the first wo whose column is >= 0
                    hi = min(wo_n, (w - 1 + left - j * dw) // sw + 1)
                    if lo >= hi:
                        continue
                    with loop(b, hi - lo) as q:
                        wo = b.add(q, _i(lo))
                        col = b.add(b.mul(wo, _i(sw)), _i(j * dw - left))
                        ptr = element(b, kf.base(out.storage), t, out.strides, out.offset, [ni, ci, row, col])
                        b.store(b.fadd(b.load(ptr, typ=t), load(kf, cols, [ni, ci, ho, wo, _i(i), _i(j)])), ptr)


def _leading(n: int, itemsize: int) -> int:
    """The row length, at least n, for rows the products walk side by side: an odd number of cache
    lines, so that the rows' heads fall in different cache sets (rows a multiple of 4 KiB apart, such
    as 64 images of 24x24 floats, share one L1 set and evict each other: a product 6x slower)."""
    per_line = 64 // itemsize
    lines = -(-n // per_line)
    return (lines + 1 - lines % 2) * per_line


class ConvLayout:
    """Columns (G, K, N*Ho*Wo) and images packed as (G, Og, N*Ho*Wo) in scratch: one GEMM per group.

    Packing moves the batch next to the pixels, so each product spans the whole batch
    (a batch of 1 is already packed, and is used in place).
    """

    def __init__(self, ctx: Context, k: Kernel, x_shape: Sequence[int], o: int):
        self.ctx, self.win, self.g = ctx, k.node.op.window, k.node.op.groups
        self.dtype = ctx.dtype(k.output)
        self.n, c = x_shape[:2]
        self.out_hw = self.win.out_shape(tuple(x_shape))
        kh, kw = self.win.kernel
        self.og, self.kk = o // self.g, c // self.g * kh * kw
        self.nhw = self.n * self.out_hw[0] * self.out_hw[1]
        self.scratch = Scratch(ctx)
        ld = self.ld = _leading(self.nhw, np.dtype(self.dtype).itemsize)
        at = self.scratch.take((self.g * self.kk, ld), self.dtype)
        #: the columns by (N, C, Ho, Wo, kh, kw), for im2col / col2im, and as G matrices K x N*Ho*Wo
        ho, wo = self.out_hw
        self.cols_image = Operand(ctx.scratch, self.dtype, (ho * wo, kh * kw * ld, wo, 1, kw * ld, ld), at)
        self.cols = Operand(ctx.scratch, self.dtype, (self.kk * ld, ld, 1), at)

    def weight(self, kf: KernelFunction, view: View, transposed: bool) -> Operand:
        """w (O, C/G, kh, kw) as G matrices Og x K (or K x Og)."""
        w = self.scratch.dense(kf, view)
        og, kk = self.og, self.kk
        return Operand(w.storage, w.dtype, (og * kk, 1, kk) if transposed else (og * kk, kk, 1), w.offset)

    def _regroup(self, strides: Sequence[int]) -> tuple[tuple, tuple, tuple]:
        """(domain (N, G, Og, Ho, Wo), an image's strides over it, the packed strides over it)."""
        s0, s1, s2, s3 = strides
        ho, wo = self.out_hw
        domain = (self.n, self.g, self.og, ho, wo)
        return domain, (s0, self.og * s1, s1, s2, s3), (ho * wo, self.og * self.nhw, self.nhw, wo, 1)

    def pack(self, kf: KernelFunction, view: View) -> Operand:
        """An image (N, G*Og, Ho, Wo) as G matrices Og x N*Ho*Wo."""
        src = self.ctx.operand(view, view.shape)
        if self.n == 1 and view.is_dense():
            return Operand(src.storage, src.dtype, (self.og * self.nhw, self.nhw, 1), view.offset)
        at = self.scratch.take(view.shape, self.dtype)
        domain, image, packed = self._regroup(src.strides)
        emit_copy(kf, domain, Operand(src.storage, src.dtype, image, src.offset),
                  Operand(self.ctx.scratch, self.dtype, packed, at))
        return Operand(self.ctx.scratch, self.dtype, (self.og * self.nhw, self.nhw, 1), at)

    def unpack_into(self, out: Operand) -> Operand:
        """Where to put G matrices Og x N*Ho*Wo bound for the contiguous image `out`; `finish` copies them."""
        if self.n == 1:
            return Operand(out.storage, out.dtype, (self.og * self.nhw, self.nhw, 1))
        return Operand(self.ctx.scratch, self.dtype, (self.og * self.nhw, self.nhw, 1),
                       self.scratch.take((self.g * self.og, self.nhw), self.dtype))

    def finish(self, kf: KernelFunction, packed: Operand, out: Operand) -> None:
        if packed.storage == out.storage:
            return
        ho, wo = self.out_hw
        domain, image, strides = self._regroup(contiguous_strides((self.n, self.g * self.og, ho, wo)))
        emit_copy(kf, domain, Operand(packed.storage, packed.dtype, strides, packed.offset),
                  Operand(out.storage, out.dtype, image))


@EMITTERS.register(Conv2d)
def emit_conv2d(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    x, wv = k.inputs
    lay = ConvLayout(ctx, k, x.shape, wv.shape[0])
    im2col(kf, lay.win, ctx.operand(x, x.shape), x.shape, lay.cols_image)
    out = ctx.output(k)
    y = lay.unpack_into(out)
    product(ctx, kf, (lay.g,), (lay.og, lay.nhw, lay.kk), (lay.weight(kf, wv, False), lay.cols, y))
    lay.finish(kf, y, out)


@EMITTERS.register(ConvGradInput)
def emit_conv_grad_input(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    gyv, wv, x = k.inputs
    lay = ConvLayout(ctx, k, x.shape, wv.shape[0])
    product(ctx, kf, (lay.g,), (lay.kk, lay.nhw, lay.og), (lay.weight(kf, wv, True), lay.pack(kf, gyv), lay.cols))
    col2im(kf, lay.win, lay.cols_image, ctx.output(k), x.shape)


@EMITTERS.register(ConvGradWeight)
def emit_conv_grad_weight(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    x, gyv, wv = k.inputs
    lay = ConvLayout(ctx, k, x.shape, wv.shape[0])
    im2col(kf, lay.win, ctx.operand(x, x.shape), x.shape, lay.cols_image)
    cols_t = Operand(lay.cols.storage, lay.cols.dtype, (lay.kk * lay.ld, 1, lay.ld), lay.cols.offset)
    out = ctx.output(k)
    product(ctx, kf, (lay.g,), (lay.og, lay.kk, lay.nhw),
            (lay.pack(kf, gyv), cols_t, Operand(out.storage, out.dtype, (lay.og * lay.kk, lay.kk, 1))))


@EMITTERS.register(Patches)
def emit_patches(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    (x,) = k.inputs
    out = ctx.output(k)
    im2col(kf, k.node.op.window, ctx.operand(x, x.shape), x.shape, out, k.node.op.fill)


@EMITTERS.register(Unpatches)
def emit_unpatches(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    cols, donor = k.inputs
    col2im(kf, k.node.op.window, ctx.operand(cols, cols.shape), ctx.output(k), donor.shape)
