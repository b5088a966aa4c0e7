"""Convolutions as im2col + GEMM (cuBLAS), with the LLVM backend's im2col and col2im as the kernels.

With the im2col matrix of x laid out (N, C*kh*kw, Ho*Wo) in scratch, conv2d is
`w(O, CKK) @ cols(N, CKK, P)` written straight into its (N, O, Ho, Wo) output;
conv2d_grad_input is `w^T @ gy` into cols, then col2im (a gather: each pixel
sums its window entries, so no atomics); conv2d_grad_weight is
`gy(O, N*P) @ cols(N*P, CKK)`, with gy first copied to (O, N, P) order and cols
laid out (CKK, N*P). Grouped convolutions and non-dense weights run on the host.
"""
from __future__ import annotations


import numpy as np
from llvmlite import ir

from graphc.schedule import Kernel, View

from ..llvm.codegen import Unsupported, contiguous_strides
from ..llvm.conv import _strides, col2im, im2col
from ..llvm.kernels import Context, Operand, identity, map_loop
from .kernels import GpuKernel
from .steps import Gemm, Launch, Step

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
    kh, kw = win.kernel
    kk = c * kh * kw
    p = ho * wo
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
    per_image = _strides((n, c, kh, kw, ho, wo), "NCijHW")  # cols as (N, CKK, P)
    if op.name == "conv2d":
        ctx.scratch_bytes = max(ctx.scratch_bytes, windows * item)
        kf = kernel("im2col", [scratch, ctx.storage(x.buffer)])
        im2col(kf, win, ctx.operand(x, x_shape), x_shape, Operand(scratch, dtype, per_image))
        cols = View(scratch, (n, kk, p), contiguous_strides((n, kk, p)))
        return [launch(kf, windows),
                Gemm(i, dense(w, (o, kk)), cols, View(out.buffer, (n, o, p), contiguous_strides((n, o, p))), dtype)]
    if op.name == "conv2d_grad_input":
        ctx.scratch_bytes = max(ctx.scratch_bytes, windows * item)
        cols = View(scratch, (n, kk, p), contiguous_strides((n, kk, p)))
        wt = dense(w, (o, kk))
        wt = View(wt.buffer, (kk, o), (1, kk), wt.offset)
        kf = kernel("col2im", [out.buffer, scratch])
        col2im(kf, win, Operand(scratch, dtype, per_image), Operand(out.buffer, dtype, contiguous_strides(x_shape)),
               x_shape)
        return [Gemm(i, wt, dense(gy, (n, o, p)), cols, dtype), launch(kf, int(np.prod(x_shape, dtype=np.int64)))]
    # conv2d_grad_weight: cols (CKK, N*P) and gy as (O, N*P) side by side in scratch
    ctx.scratch_bytes = max(ctx.scratch_bytes, (windows + o * n * p) * item)
    kf = kernel("im2col", [scratch, ctx.storage(x.buffer)])
    im2col(kf, win, ctx.operand(x, x_shape), x_shape,
           Operand(scratch, dtype, _strides((c, kh, kw, n, ho, wo), "CijNHW")))
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
