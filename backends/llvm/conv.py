"""Convolutions as im2col into the scratch area + GEMM; Patches and Unpatches (pooling) as direct loops.

Written for images (2 spatial axes) and the same for volumes (3): the last spatial axis is the one
the loops run along, the leading ones are walked and tested alike. One `Window` geometry drives two
loop nests. `im2col` writes every window element x[n, c, ho*sh + i*dh - top, wo*sw + j*dw - left] (or `fill` in the
padding) to a columns array whose layout each caller picks by strides over
(N, C, Ho, Wo, kh, kw). `col2im`, its transpose, is written as a gather: each
image pixel sums the column entries that came from it, in NumPy's
`unwindows` order (kernel row, then column), so no two iterations write the
same place and the loop vectorizes. With groups G, Og = O/G, K = C/G*kh*kw,
the batch is walked in tiles of nb images whose columns stay in L2
(`TILE_BYTES`); a tile's columns are laid out (G, K, nb*Ho*Wo) (rows padded
to an odd number of cache lines, `_leading`) and its images (nb, O, Ho, Wo)
are packed as (G, Og, nb*Ho*Wo), so each tile is one product per group:

- conv2d: y[g] = w[g] (Og x K) @ cols[g], unpacked into the output (or
  y[g]^T = cols[g]^T @ w[g]^T, transposed into it: `_flip_forward`).
- conv2d_grad_input: cols[g] = w[g]^T @ gy[g], then col2im.
- conv2d_grad_weight: gw[g] = the sum over tiles of gy[g] @ cols[g]^T.
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Callable, ContextManager, Sequence

import numpy as np
from llvmlite import ir

from graphc.ops.conv import Conv, ConvGradInput, ConvGradWeight, Patches, Unpatches, Window
from graphc.schedule import Kernel, View

from .codegen import I64, KernelFunction, Unsupported, contiguous_strides, element, loop, nest, storage_type
from .kernels import TILE, Context, Operand, Scratch, emit_copy, fill_zero, load, map_loop, store
from .matmul import SMALL_K, product
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


def _all(b: ir.IRBuilder, conds: Sequence[ir.Value]) -> ir.Value:
    out = conds[0]
    for c in conds[1:]:
        out = b.and_(out, c)
    return out


def _inside(b: ir.IRBuilder, coords: Sequence[ir.Value], sizes: Sequence[int]) -> ir.Value:
    """Whether every image coordinate is in range (a negative one wraps to a large one)."""
    return _all(b, [b.icmp_unsigned("<", v, _i(n)) for v, n in zip(coords, sizes)])


def _coord(b: ir.IRBuilder, o: ir.Value, k: ir.Value | int, win: Window, axis: int) -> ir.Value:
    """The image coordinate o*stride + k*dilation - low padding of window element k of output o."""
    s, d, lo = win.stride[axis], win.dilation[axis], win.pads(axis)[0]
    if isinstance(k, int):
        return b.add(b.mul(o, _i(s)), _i(k * d - lo))
    return b.add(b.mul(o, _i(s)), b.sub(b.mul(k, _i(d)), _i(lo)))


def im2col(kf: KernelFunction, win: Window, x: Operand, xshape: Sequence[int], cols: Operand,
           fill: float = 0.0) -> None:
    """cols[n, c, *out, *kernel] = the padded image's window element; cols' strides give its layout."""
    if x.dtype == "bfloat16":
        raise Unsupported("bfloat16 windows (their fill is a bit pattern)")
    pad = ir.Constant(storage_type(x.dtype), fill)
    (_im2col_rows if kf.serial else _im2col_elements)(kf, win, x, xshape, cols, pad)


def _im2col_elements(kf: KernelFunction, win: Window, x: Operand, xshape: Sequence[int], cols: Operand,
                     pad: ir.Constant) -> None:
    """im2col element by element, each a clamped load or the fill: one GPU thread per element."""
    b, r = kf.b, win.rank
    with kf.parallel(tuple(xshape[:2]) + win.kernel + win.out_shape(xshape)) as idx:
        ni, ci, ks, os = idx[0], idx[1], idx[2:2 + r], idx[2 + r:]
        coords = [_coord(b, o, k, win, a) for a, (o, k) in enumerate(zip(os, ks))]
        inside = _inside(b, coords, xshape[2:])
        v = load(kf, x, [ni, ci] + [b.select(inside, v, _i(0)) for v in coords])
        store(kf, cols, [ni, ci, *os, *ks], b.select(inside, v, pad))


def _im2col_rows(kf: KernelFunction, win: Window, x: Operand, xshape: Sequence[int], cols: Operand,
                 pad: ir.Constant) -> None:
    """im2col on one CPU thread, by window rows: for each (n, c, kernel element, leading output
    coordinates), the run of outputs along the last axis whose columns fall inside the image is a plain
    copy (contiguous when the stride is 1, so it vectorizes), the runs before and after it and the rows
    outside the image are `pad`. The element-wise form selects between a clamped load and the fill for
    every element, a scalar gather: 3x slower."""
    b, r = kf.b, win.rank
    w, wo_n = xshape[-1], win.out_shape(xshape)[-1]
    sw, dw, left = win.stride[-1], win.dilation[-1], win.pads(r - 1)[0]
    with nest(b, tuple(xshape[:2]) + win.kernel, unroll=False) as idx:
        ni, ci, ks = idx[0], idx[1], idx[2:]
        j = ks[-1]
        start = b.sub(_i(left), b.mul(j, _i(dw)))  # wo * sw >= start: the column is >= 0
        lo = b.select(b.icmp_signed(">", start, _i(0)), b.sdiv(b.add(start, _i(sw - 1)), _i(sw)), _i(0))
        lo = b.select(b.icmp_signed("<", lo, _i(wo_n)), lo, _i(wo_n))
        end = b.add(start, _i(w - 1))  # wo * sw <= end: the column is < w
        hi = b.select(b.icmp_signed(">=", end, _i(0)), b.add(b.sdiv(end, _i(sw)), _i(1)), _i(0))
        hi = b.select(b.icmp_signed("<", hi, _i(wo_n)), hi, _i(wo_n))
        hi = b.select(b.icmp_signed(">", hi, lo), hi, lo)
        with nest(b, win.out_shape(xshape)[:-1], unroll=False) as lead:
            rows = [_coord(b, o, k, win, a) for a, (o, k) in enumerate(zip(lead, ks))]
            stop = b.select(_inside(b, rows, xshape[2:-1]), hi, lo)
            for first, count in ((_i(0), lo), (stop, b.sub(_i(wo_n), stop))):
                with loop(b, count) as q:
                    store(kf, cols, [ni, ci, *lead, b.add(first, q), *ks], pad)
            with loop(b, b.sub(stop, lo)) as q:
                wo = b.add(lo, q)
                col = b.sub(b.mul(wo, _i(sw)), start)
                store(kf, cols, [ni, ci, *lead, wo, *ks], load(kf, x, [ni, ci, *rows, col]))


def _source(b: ir.IRBuilder, pixel: ir.Value, k: int, stride: int, dilation: int, pad: int,
            out_size: int) -> tuple[ir.Value, ir.Value]:
    """(came from window position k, that window's index clamped into range) for an image coordinate."""
    at = b.add(pixel, _i(pad - k * dilation))
    ok = b.icmp_unsigned("<", at, _i(out_size * stride))
    if stride > 1:
        ok = b.and_(ok, b.icmp_unsigned("==", b.urem(at, _i(stride)), _i(0)))
        at = b.udiv(at, _i(stride))
    return ok, b.select(ok, at, _i(0))


def col2im(kf: KernelFunction, win: Window, cols: Operand, out: Operand, shape: Sequence[int]) -> None:
    """out[n, c, *spatial] = the sum of the column entries whose window element it is (out contiguous)."""
    if out.dtype not in ("float32", "float64"):
        raise Unsupported(f"col2im of {out.dtype} (it adds in the storage type)")
    if kf.serial:  # one CPU thread: rows added into rows, or a copy when each pixel is in one window
        (_untile if _tiles(win, shape) else _col2im_rows)(kf, win, cols, out, shape)
        return
    b = kf.b
    outs = win.out_shape(shape)
    t = storage_type(out.dtype)
    with kf.parallel(shape) as idx:
        acc = ir.Constant(t, 0.0)
        for ks in itertools.product(*(range(k) for k in win.kernel)):
            sources = [_source(b, p, k, win.stride[a], win.dilation[a], win.pads(a)[0], outs[a])
                       for a, (p, k) in enumerate(zip(idx[2:], ks))]
            v = load(kf, cols, [idx[0], idx[1], *(at for _, at in sources), *map(_i, ks)])
            acc = b.fadd(acc, b.select(_all(b, [ok for ok, _ in sources]), v, ir.Constant(t, 0.0)))
        store(kf, out, list(idx), acc)


def _tiles(win: Window, shape: Sequence[int]) -> bool:
    """Whether 2-D windows tile the image exactly (pooling with stride = window): no overlap, no gap."""
    if win.rank != 2:
        return False
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
    row it came from. The run of outputs along the last axis for one (n, c, leading outputs, kernel
    element) is contiguous on both sides (stride 1), so it vectorizes; which of them land inside the
    image is known per last-axis kernel element when the kernel is generated, so there is no test per
    element (the gather form tests 2 conditions per kernel element and pixel, scalar: 5x slower)."""
    b, r = kf.b, win.rank
    w, wo_n = shape[-1], win.out_shape(shape)[-1]
    sw, dw, left, kw = win.stride[-1], win.dilation[-1], win.pads(r - 1)[0], win.kernel[-1]
    t = storage_type(out.dtype)
    fill_zero(kf, out, shape)
    with nest(b, tuple(shape[:2]) + win.out_shape(shape)[:-1], unroll=False) as idx:
        ni, ci, lead = idx[0], idx[1], idx[2:]
        for ks in itertools.product(*(range(k) for k in win.kernel[:-1])):
            rows = [_coord(b, o, k, win, a) for a, (o, k) in enumerate(zip(lead, ks))]
            with b.if_then(_inside(b, rows, shape[2:-1])):
                for j in range(kw):
                    lo = max(0, -((j * dw - left) // sw))  # the first wo whose column is >= 0
                    hi = min(wo_n, (w - 1 + left - j * dw) // sw + 1)
                    if lo >= hi:
                        continue
                    with loop(b, hi - lo) as q:
                        wo = b.add(q, _i(lo))
                        col = b.add(b.mul(wo, _i(sw)), _i(j * dw - left))
                        ptr = element(b, kf.base(out.storage), t, out.strides, out.offset, [ni, ci, *rows, col])
                        b.store(b.fadd(b.load(ptr, typ=t), load(kf, cols, [ni, ci, *lead, wo, *map(_i, ks), _i(j)])),
                                ptr)


def _leading(n: int, itemsize: int) -> int:
    """The row length, at least n, for rows the products walk side by side: an odd number of cache
    lines, so that the rows' heads fall in different cache sets (rows a multiple of 4 KiB apart, such
    as 64 images of 24x24 floats, share one L1 set and evict each other: a product 6x slower)."""
    per_line = 64 // itemsize
    lines = -(-n // per_line)
    return (lines + 1 - lines % 2) * per_line


#: the columns of one tile of images take at most this many bytes (one core's L2): they stay in cache
#: from im2col to the product that reads them. Over the whole batch, the columns of a ResNet's
#: 16-channel 32 x 32 layer (19 MB for 32 images) went out to memory and back; 1 MiB tiles made
#: its products too small (64 filters of 8 x 8 pixels ran 15% slower than over the whole batch)
TILE_BYTES = 2 << 20


def _images_per_tile(n: int, image_bytes: int) -> int:
    """The most images, a divisor of the batch n, whose columns fit in TILE_BYTES (at least one)."""
    fit = max(1, TILE_BYTES // max(image_bytes, 1))
    return max((d for d in range(1, min(n, fit) + 1) if n % d == 0), default=1)


class ConvLayout:
    """Columns (G, K, nb*Ho*Wo) of a tile of nb images, and images packed as (G, Og, nb*Ho*Wo), in
    scratch: one GEMM per group and tile, the tiles in a loop (`over_tiles`).

    Packing moves a tile's images next to their pixels, so each product spans the tile (a tile of one
    dense image is already packed, and is used in place).
    """

    def __init__(self, ctx: Context, k: Kernel, x_shape: Sequence[int], o: int):
        self.ctx, self.win, self.g = ctx, k.node.op.window, k.node.op.groups
        self.dtype = ctx.dtype(k.output)
        if self.dtype not in ("float32", "float64"):
            raise Unsupported(f"convolution of {self.dtype} (the GEMM is float32/float64)")
        self.n, c = x_shape[:2]
        self.out = self.win.out_shape(tuple(x_shape))
        kernel = int(np.prod(self.win.kernel))
        self.og, self.kk = o // self.g, c // self.g * kernel
        pixels = int(np.prod(self.out))
        item = np.dtype(self.dtype).itemsize
        #: images per tile, and tiles: one tile where col2im is a copy that may transpose 8 x 8 blocks (windows
        #: that tile the image, at least 8 wide), as the copy's ragged edges need offsets known in Python
        whole = _tiles(self.win, x_shape) and self.win.kernel[-1] >= TILE
        self.nb = max(self.n, 1) if whole else _images_per_tile(self.n, self.g * self.kk * pixels * item)
        self.tiles = self.n // self.nb
        self.nhw = self.nb * pixels
        self.scratch = Scratch(ctx)
        ld = self.ld = _leading(self.nhw, item)
        at = self.scratch.take((self.g * self.kk, ld), self.dtype)
        #: a tile's columns by (N, C, *out, *kernel), for im2col / col2im, and as G matrices K x nb*P
        self.cols_image = Operand(ctx.scratch, self.dtype, (pixels, kernel * ld) + contiguous_strides(self.out)
                                  + tuple(s * ld for s in contiguous_strides(self.win.kernel)), at)
        self.cols = Operand(ctx.scratch, self.dtype, (self.kk * ld, ld, 1), at)
        #: the same columns as G matrices N*Ho*Wo x K (the transposed operand of a product)
        self.cols_t = Operand(ctx.scratch, self.dtype, (self.kk * ld, 1, ld), at)

    def over_tiles(self, kf: KernelFunction) -> ContextManager[ir.Value]:
        """The loop over the tiles: yields the tile's index."""
        return loop(kf.b, self.tiles, unroll=False)

    def tile_of(self, kf: KernelFunction, op: Operand, t: ir.Value) -> Operand:
        """An operand over (N, ...) images moved to tile t's first image (its N axis then spans nb)."""
        if self.tiles == 1:
            return op
        b = kf.b
        shift = b.mul(t, _i(self.nb * op.strides[0]))
        offset = op.offset if isinstance(op.offset, ir.Value) else _i(op.offset)
        return Operand(op.storage, op.dtype, op.strides, b.add(offset, shift))

    def tile_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        """An (N, ...) shape cut to one tile's images."""
        return (self.nb,) + tuple(shape[1:])

    def columns(self, kf: KernelFunction, x: Operand, x_shape: Sequence[int], t: ir.Value) -> None:
        """im2col of tile t of the images x into the columns."""
        im2col(kf, self.win, self.tile_of(kf, x, t), self.tile_shape(x_shape), self.cols_image)

    def weight(self, kf: KernelFunction, view: View, transposed: bool) -> Operand:
        """w (O, C/G, *kernel) as G matrices Og x K (or K x Og)."""
        w = self.scratch.dense(kf, view)
        og, kk = self.og, self.kk
        return Operand(w.storage, w.dtype, (og * kk, 1, kk) if transposed else (og * kk, kk, 1), w.offset)

    def _regroup(self, strides: Sequence[int]) -> tuple[tuple, tuple, tuple]:
        """(domain (nb, G, Og, *out), an image's strides over it, the packed strides over it)."""
        s0, s1, spatial = strides[0], strides[1], tuple(strides[2:])
        domain = (self.nb, self.g, self.og) + self.out
        packed = (int(np.prod(self.out)), self.og * self.nhw, self.nhw) + contiguous_strides(self.out)
        return domain, (s0, self.og * s1, s1) + spatial, packed

    def packer(self, view: View) -> Callable[[KernelFunction, ir.Value], Operand]:
        """How to get tile t of an image (N, G*Og, Ho, Wo) as G matrices Og x nb*Ho*Wo: in place where
        the tile is one dense image, else copied to a part of scratch taken now, once for every tile."""
        src = self.ctx.operand(view, view.shape)
        if self.nb == 1 and view.is_dense():
            return lambda kf, t: dataclasses.replace(self.tile_of(kf, src, t), strides=(self.og * self.nhw,
                                                                                        self.nhw, 1))
        packed = Operand(self.ctx.scratch, self.dtype, (self.og * self.nhw, self.nhw, 1),
                         self.scratch.take(self.tile_shape(view.shape), self.dtype))
        domain, image, strides = self._regroup(src.strides)

        def pack(kf: KernelFunction, t: ir.Value) -> Operand:
            tile = self.tile_of(kf, src, t)
            emit_copy(kf, domain, Operand(src.storage, src.dtype, image, tile.offset),
                      Operand(packed.storage, packed.dtype, strides, packed.offset))
            return packed
        return pack

    def unpacked(self, out: Operand) -> Operand | None:
        """Where to put G matrices Og x nb*Ho*Wo bound for the contiguous image `out` (a part of scratch
        taken now, for every tile; `finish` copies it out), or None: right into the image (a tile of one)."""
        if self.nb == 1:
            return None
        return Operand(self.ctx.scratch, self.dtype, (self.og * self.nhw, self.nhw, 1),
                       self.scratch.take((self.g * self.og, self.nhw), self.dtype))

    def finish(self, kf: KernelFunction, packed: Operand, out: Operand) -> None:
        """out (the tile's images) = the packed tile, unless the product wrote there itself."""
        if packed.storage == out.storage:
            return
        domain, image, strides = self._regroup(contiguous_strides((self.n, self.g * self.og) + self.out))
        emit_copy(kf, domain, Operand(packed.storage, packed.dtype, strides, packed.offset),
                  Operand(out.storage, out.dtype, image, out.offset))


@EMITTERS.register(Conv)
def emit_conv2d(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    x, wv = k.inputs
    lay = ConvLayout(ctx, k, x.shape, wv.shape[0])
    if _flip_forward(lay):
        _conv2d_flipped(ctx, k, kf, lay)
        return
    w, xs, out = lay.weight(kf, wv, False), ctx.operand(x, x.shape), ctx.output(k)
    packed = lay.unpacked(out)
    with lay.over_tiles(kf) as t:
        lay.columns(kf, xs, x.shape, t)
        image = lay.tile_of(kf, out, t)
        y = packed or Operand(image.storage, image.dtype, (lay.og * lay.nhw, lay.nhw, 1), image.offset)
        product(ctx, kf, (lay.g,), (lay.og, lay.nhw, lay.kk), (w, lay.cols, y))
        lay.finish(kf, y, image)


def _flip_forward(lay: ConvLayout) -> bool:
    """Whether conv2d runs as y^T = cols^T @ w^T, then a transpose into the image: OpenBLAS runs the
    product with its m the few filters, 2.6x as fast as with m the many pixels (16 filters x 144 window
    elements x 1024 pixels: 57 us against 147 us). Not for a few window elements, whose product
    `product` runs as loops over the columns (no transposed copy), nor where the transpose would have
    ragged edges (their tiles' addresses are computed with the tile's offset in Python)."""
    return lay.kk > SMALL_K and lay.og % TILE == 0 and int(np.prod(lay.out)) % TILE == 0


def _conv2d_flipped(ctx: Context, k: Kernel, kf: KernelFunction, lay: ConvLayout) -> None:
    x, wv = k.inputs
    w_t, xs, out = lay.weight(kf, wv, True), ctx.operand(x, x.shape), ctx.output(k)
    og, nhw, hw = lay.og, lay.nhw, int(np.prod(lay.out))
    at = lay.scratch.take((lay.g, nhw, og), lay.dtype)
    y_t = Operand(ctx.scratch, lay.dtype, (nhw * og, og, 1), at)
    with lay.over_tiles(kf) as t:
        lay.columns(kf, xs, x.shape, t)
        product(ctx, kf, (lay.g,), (nhw, og, lay.kk), (lay.cols_t, w_t, y_t))
        image = lay.tile_of(kf, out, t)  # y_t by (G, nb, Og, Ho*Wo) into the tile's images
        emit_copy(kf, (lay.g, lay.nb, og, hw), Operand(ctx.scratch, lay.dtype, (nhw * og, hw * og, 1, og), at),
                  Operand(out.storage, out.dtype, (og * hw, lay.g * og * hw, hw, 1), image.offset))


@EMITTERS.register(ConvGradInput)
def emit_conv_grad_input(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    gyv, wv, x = k.inputs
    lay = ConvLayout(ctx, k, x.shape, wv.shape[0])
    w, pack, out = lay.weight(kf, wv, True), lay.packer(gyv), ctx.output(k)
    with lay.over_tiles(kf) as t:
        product(ctx, kf, (lay.g,), (lay.kk, lay.nhw, lay.og), (w, pack(kf, t), lay.cols))
        col2im(kf, lay.win, lay.cols_image, lay.tile_of(kf, out, t), lay.tile_shape(x.shape))


@EMITTERS.register(ConvGradWeight)
def emit_conv_grad_weight(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    """gw = the sum over tiles of gy(tile) @ cols(tile)^T: written by the product when there is one
    tile, else each tile's product lands in scratch and is added to gw."""
    x, gyv, wv = k.inputs
    lay = ConvLayout(ctx, k, x.shape, wv.shape[0])
    pack, xs, out = lay.packer(gyv), ctx.operand(x, x.shape), ctx.output(k)
    gw_shape = (lay.g, lay.og, lay.kk)
    gw = Operand(out.storage, out.dtype, contiguous_strides(gw_shape))
    part = gw
    if lay.tiles != 1:
        part = Operand(ctx.scratch, out.dtype, gw.strides, lay.scratch.take(gw_shape, out.dtype))
        fill_zero(kf, gw, gw_shape)
    with lay.over_tiles(kf) as t:
        lay.columns(kf, xs, x.shape, t)
        product(ctx, kf, (lay.g,), (lay.og, lay.kk, lay.nhw), (pack(kf, t), lay.cols_t, part))
        if part is not gw:
            map_loop(kf, gw_shape, [gw, part], gw, lambda terms: kf.b.fadd(*terms))


@EMITTERS.register(Patches)
def emit_patches(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    (x,) = k.inputs
    out = ctx.output(k)
    im2col(kf, k.node.op.window, ctx.operand(x, x.shape), x.shape, out, k.node.op.fill)


@EMITTERS.register(Unpatches)
def emit_unpatches(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    cols, donor = k.inputs
    col2im(kf, k.node.op.window, ctx.operand(cols, cols.shape), ctx.output(k), donor.shape)
