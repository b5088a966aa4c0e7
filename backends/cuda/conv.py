"""Convolutions as im2col + GEMM, and the window ops (`patches`, `unpatches`) as their own kernels.

With the im2col matrix of x laid out (N, C*kh*kw, Ho*Wo) in scratch:
conv2d is `w(O, CKK) @ cols(N, CKK, P)` written straight into its (N, O, Ho, Wo)
output; conv2d_grad_input is `w^T @ gy` into cols, then col2im (atomic adds);
conv2d_grad_weight is `gy(O, N*P) @ cols(N*P, CKK)`, with gy first copied to
(O, N, P) order and cols laid out (CKK, N*P). Grouped convolutions and
non-dense weights run on the host.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from llvmlite import ir

from graphc.schedule import Kernel, View

from ..llvm.codegen import I64, Unsupported, contiguous_strides, element, storage_type
from ..llvm.kernels import Context, Operand, identity, load, map_loop, store
from .kernels import GpuKernel, each
from .steps import Gemm, Launch, Step, Zero

#: the logical axes of a window element: batch, channel, output row and column, kernel row and column
AXES = "n", "c", "oh", "ow", "i", "j"


def _source(b: ir.IRBuilder, win, hw: Sequence[int], pos: dict[str, ir.Value]) -> tuple[list[ir.Value], ir.Value]:
    """The (h, w) of x a window element reads (clamped into range) and whether it lies inside x."""
    out, inside = [], ir.Constant(ir.IntType(1), 1)
    for axis, (o, k) in enumerate((("oh", "i"), ("ow", "j"))):
        s, d, pad = win.stride[axis], win.dilation[axis], win.padding[2 * axis]
        at = b.sub(b.add(b.mul(pos[o], ir.Constant(I64, s)), b.mul(pos[k], ir.Constant(I64, d))),
                   ir.Constant(I64, pad))
        ok = b.icmp_unsigned("<", at, ir.Constant(I64, hw[axis]))  # negative wraps to huge: one compare
        inside = b.and_(inside, ok)
        out.append(b.select(ok, at, ir.Constant(I64, 0)))
    return out, inside


def im2col(kf: GpuKernel, x: Operand, x_shape: Sequence[int], win, out_hw: Sequence[int], order: str, dst: Operand,
           fill: float = 0.0) -> None:
    """dst[window element] = x at that element (or `fill` in the padding); dst strides follow AXES."""
    dims = dict(zip(AXES, (*x_shape[:2], *out_hw, *win.kernel)))
    names = order.split()
    b = kf.b
    t = storage_type(dst.dtype)
    with each(kf, [dims[a] for a in names]) as idx:
        pos = dict(zip(names, idx))
        (h, w), inside = _source(b, win, x_shape[2:], pos)
        value = load(kf, x, [pos["n"], pos["c"], h, w])
        value = b.select(inside, value, ir.Constant(t, fill if dst.dtype.startswith("float") else int(fill)))
        store(kf, dst, [pos[a] for a in AXES], value)


def col2im(kf: GpuKernel, cols: Operand, out: Operand, x_shape: Sequence[int], win, out_hw: Sequence[int],
           order: str) -> None:
    """out[n, c, h, w] += every window element that reads it (atomic adds; out zeroed before)."""
    dims = dict(zip(AXES, (*x_shape[:2], *out_hw, *win.kernel)))
    names = order.split()
    b = kf.b
    with each(kf, [dims[a] for a in names]) as idx:
        pos = dict(zip(names, idx))
        (h, w), inside = _source(b, win, x_shape[2:], pos)
        with b.if_then(inside):
            ptr = element(b, kf.base(out.storage), storage_type(out.dtype), out.strides, out.offset,
                          [pos["n"], pos["c"], h, w])
            b.atomic_rmw("fadd", ptr, load(kf, cols, [pos[a] for a in AXES]), "monotonic")


def emit_patches(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    (x,) = k.inputs
    shape = ctx.program.buffers[k.output].shape
    out = ctx.output(k)
    im2col(kf, ctx.operand(x, x.shape), x.shape, k.node.op.window, shape[2:4], " ".join(AXES), out, k.node.op.fill)


def emit_unpatches(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    cols = k.inputs[0]
    out = ctx.output(k)
    if not out.dtype.startswith("float"):
        raise Unsupported(f"unpatches of {out.dtype}")
    col2im(kf, ctx.operand(cols, cols.shape), out, ctx.program.buffers[k.output].shape, k.node.op.window,
           cols.shape[2:4], " ".join(AXES))


def _layout(dims: dict[str, int], order: str) -> tuple[int, ...]:
    """Strides over AXES of a contiguous array whose axes are `order`."""
    names = order.split()
    strides = dict(zip(names, contiguous_strides([dims[a] for a in names])))
    return tuple(strides[a] for a in AXES)


def plan_conv(ctx: Context, i: int, k: Kernel, module: ir.Module, host: bool) -> list[Step]:
    op = k.node.op
    if op.groups != 1:
        raise Unsupported(f"{op.name} with groups={op.groups}")
    dtype = ctx.dtype(k.output)
    if op.name == "conv2d":
        x, w = k.inputs
        x_shape, gy_shape = x.shape, ctx.program.buffers[k.output].shape
    elif op.name == "conv2d_grad_input":
        gy, w, x = k.inputs
        x_shape, gy_shape = ctx.program.buffers[k.output].shape, gy.shape
    else:
        x, gy, _ = k.inputs
        x_shape, gy_shape = x.shape, gy.shape
    n, c = x_shape[:2]
    o, (ho, wo) = gy_shape[1], gy_shape[2:]
    win = op.window
    kk = c * win.kernel[0] * win.kernel[1]
    p = ho * wo
    dims = dict(zip(AXES, (n, c, ho, wo, *win.kernel)))
    item = np.dtype(dtype).itemsize
    scratch = ctx.scratch
    out = View(ctx.storage(k.output), (), ())

    def kernel(suffix: str, storages: list[int]) -> GpuKernel:
        return GpuKernel(module, i, f"{op.name}_{suffix}", storages, host)

    def launch(kf: GpuKernel, items: int) -> Launch:
        kf.finish()
        return Launch(i, kf.fn.name, tuple(kf.storages), items)

    def dense(v: View, shape: tuple[int, ...]) -> View:
        """v seen with another shape (it must be dense)."""
        if not v.is_dense():
            raise Unsupported(f"{op.name} of a non-dense view")
        return View(ctx.storage(v.buffer), shape, contiguous_strides(shape), v.offset)

    windows = n * kk * p
    if op.name == "conv2d":
        ctx.scratch_bytes = max(ctx.scratch_bytes, windows * item)
        kf = kernel("im2col", [scratch, ctx.storage(x.buffer)])
        order = "n c i j oh ow"
        im2col(kf, ctx.operand(x, x_shape), x_shape, win, (ho, wo), order, Operand(scratch, dtype, _layout(dims, order)))
        cols = View(scratch, (n, kk, p), contiguous_strides((n, kk, p)))
        return [launch(kf, windows),
                Gemm(i, dense(w, (o, kk)), cols, View(out.buffer, (n, o, p), contiguous_strides((n, o, p))), dtype)]
    if op.name == "conv2d_grad_input":
        ctx.scratch_bytes = max(ctx.scratch_bytes, windows * item)
        cols = View(scratch, (n, kk, p), contiguous_strides((n, kk, p)))
        wt = dense(w, (o, kk))
        wt = View(wt.buffer, (kk, o), (1, kk), wt.offset)
        kf = kernel("col2im", [out.buffer, scratch])
        order = "n c i j oh ow"
        col2im(kf, Operand(scratch, dtype, _layout(dims, order)), Operand(out.buffer, dtype, contiguous_strides(x_shape)),
               x_shape, win, (ho, wo), order)
        return [Gemm(i, wt, dense(gy, (n, o, p)), cols, dtype), Zero(out.buffer), launch(kf, windows)]
    # conv2d_grad_weight: cols (CKK, N*P) and gy as (O, N*P) side by side in scratch
    ctx.scratch_bytes = max(ctx.scratch_bytes, (windows + o * n * p) * item)
    kf = kernel("im2col", [scratch, ctx.storage(x.buffer)])
    order = "c i j n oh ow"
    im2col(kf, ctx.operand(x, x_shape), x_shape, win, (ho, wo), order, Operand(scratch, dtype, _layout(dims, order)))
    steps: list[Step] = [launch(kf, windows)]
    kf = kernel("gy", [scratch, ctx.storage(gy.buffer)])
    # gy (N, O, Ho, Wo) copied to (O, N, Ho, Wo) order after the columns
    src = ctx.operand(gy, gy_shape)
    to = contiguous_strides((o, n, ho, wo))
    map_loop(kf, gy_shape, [src], Operand(scratch, dtype, (to[1], to[0], to[2], to[3]), windows),
              identity(src.dtype, dtype))
    steps.append(launch(kf, n * o * p))
    gy_t = View(scratch, (o, n * p), (n * p, 1), windows)
    cols_t = View(scratch, (n * p, kk), (1, n * p))
    steps.append(Gemm(i, gy_t, cols_t, View(out.buffer, (o, kk), (kk, 1)), dtype))
    return steps
