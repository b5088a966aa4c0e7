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

from graphc.ops.conv import Conv, ConvGradInput, ConvGradWeight
from graphc.schedule import Kernel, View

from ..llvm.codegen import Unsupported, contiguous_strides
from ..llvm.conv import col2im, im2col, layout_strides
from ..llvm.kernels import Context, Operand, identity, map_loop
from .kernels import GpuKernel
from .steps import Gemm, Launch, Step
from .tables import PLANS


class ConvPlan:
    """What the three convolution plans share: the geometry (N, C, O, Ho, Wo, kh, kw), the im2col
    layout (N, C*kh*kw, Ho*Wo) in scratch, and how a plan names its kernels and launches them."""

    def __init__(self, ctx: Context, i: int, k: Kernel, module: ir.Module, host: bool,
                 x_shape: tuple[int, ...], gy_shape: tuple[int, ...]):
        self.ctx, self.i, self.k, self.module, self.host = ctx, i, k, module, host
        self.op = k.node.op
        self.dtype = ctx.dtype(k.output)
        if self.dtype not in ("float32", "float64"):
            raise Unsupported(f"{self.op.name} of {self.dtype} (cuBLAS GEMMs here are float32/float64)")
        self.x_shape, self.gy_shape = x_shape, gy_shape
        self.n, self.c = x_shape[:2]
        self.o, (self.ho, self.wo) = gy_shape[1], gy_shape[2:]
        self.win = self.op.window
        self.kh, self.kw = self.win.kernel
        self.kk, self.p = self.c * self.kh * self.kw, self.ho * self.wo
        self.item = np.dtype(self.dtype).itemsize
        self.windows = self.n * self.kk * self.p
        self.out = ctx.storage(k.output)
        #: the columns as (N, CKK, P), over im2col's axes
        self.per_image = layout_strides((self.n, self.c, self.kh, self.kw, self.ho, self.wo), "NCijHW")

    def scratch(self, items: int) -> int:
        """Make the scratch area hold `items` elements; its storage id."""
        self.ctx.scratch_bytes = max(self.ctx.scratch_bytes, items * self.item)
        return self.ctx.scratch

    def kernel(self, suffix: str, storages: list[int]) -> GpuKernel:
        return GpuKernel(self.module, self.i, f"{self.op.name}_{suffix}", storages, self.host)

    def launch(self, kf: GpuKernel, items: int) -> Launch:
        kf.finish()
        return Launch(self.i, kf.fn.name, tuple(kf.storages), items)

    def dense(self, v: View, shape: tuple[int, ...]) -> View:
        """v seen with another shape (it must be dense)."""
        if not v.is_dense():
            raise Unsupported(f"{self.op.name} of a non-dense view")
        return View(self.ctx.storage(v.buffer), shape, contiguous_strides(shape), v.offset)


def _ungrouped(k: Kernel) -> None:
    """Grouped and 3-D convolutions run on the host."""
    op = k.node.op
    if op.groups != 1:
        raise Unsupported(f"{op.name} with groups={op.groups}")
    if op.window.rank != 2:
        raise Unsupported(f"{op.name} over {op.window.rank} spatial axes")


@PLANS.register(Conv)
def plan_conv2d(ctx: Context, i: int, k: Kernel, module: ir.Module, host: bool) -> list[Step]:
    """im2col of x into scratch, then y(N, O, P) = w(O, CKK) @ cols(N, CKK, P) into the output."""
    _ungrouped(k)
    x, w = k.inputs
    c = ConvPlan(ctx, i, k, module, host, x.shape, ctx.program.buffers[k.output].shape)
    scratch = c.scratch(c.windows)
    kf = c.kernel("im2col", [scratch, ctx.storage(x.buffer)])
    im2col(kf, c.win, ctx.operand(x, x.shape), x.shape, Operand(scratch, c.dtype, c.per_image))
    cols = View(scratch, (c.n, c.kk, c.p), contiguous_strides((c.n, c.kk, c.p)))
    return [c.launch(kf, c.windows),
            Gemm(i, c.dense(w, (c.o, c.kk)), cols, View(c.out, (c.n, c.o, c.p), contiguous_strides((c.n, c.o, c.p))),
                 c.dtype)]


@PLANS.register(ConvGradInput)
def plan_conv_grad_input(ctx: Context, i: int, k: Kernel, module: ir.Module, host: bool) -> list[Step]:
    """cols = w^T @ gy into scratch, then col2im (a gather: each pixel sums its window entries, no atomics)."""
    _ungrouped(k)
    gy, w, _ = k.inputs
    c = ConvPlan(ctx, i, k, module, host, ctx.program.buffers[k.output].shape, gy.shape)
    scratch = c.scratch(c.windows)
    cols = View(scratch, (c.n, c.kk, c.p), contiguous_strides((c.n, c.kk, c.p)))
    wt = c.dense(w, (c.o, c.kk))
    wt = View(wt.buffer, (c.kk, c.o), (1, c.kk), wt.offset)
    kf = c.kernel("col2im", [c.out, scratch])
    col2im(kf, c.win, Operand(scratch, c.dtype, c.per_image), Operand(c.out, c.dtype, contiguous_strides(c.x_shape)),
           c.x_shape)
    return [Gemm(i, wt, c.dense(gy, (c.n, c.o, c.p)), cols, c.dtype),
            c.launch(kf, int(np.prod(c.x_shape, dtype=np.int64)))]


@PLANS.register(ConvGradWeight)
def plan_conv_grad_weight(ctx: Context, i: int, k: Kernel, module: ir.Module, host: bool) -> list[Step]:
    """gw = gy(O, N*P) @ cols(N*P, CKK): cols laid out (CKK, N*P) and gy copied to (O, N, P) order side
    by side in scratch."""
    _ungrouped(k)
    x, gy, _ = k.inputs
    c = ConvPlan(ctx, i, k, module, host, x.shape, gy.shape)
    n, o, p, windows = c.n, c.o, c.p, c.windows
    scratch = c.scratch(windows + o * n * p)
    kf = c.kernel("im2col", [scratch, ctx.storage(x.buffer)])
    im2col(kf, c.win, ctx.operand(x, x.shape), x.shape,
           Operand(scratch, c.dtype, layout_strides((c.c, c.kh, c.kw, n, c.ho, c.wo), "CijNHW")))
    steps: list[Step] = [c.launch(kf, windows)]
    kf = c.kernel("gy", [scratch, ctx.storage(gy.buffer)])
    # gy (N, O, Ho, Wo) copied to (O, N, Ho, Wo) order after the columns
    src = ctx.operand(gy, gy.shape)
    to = contiguous_strides((o, n, c.ho, c.wo))
    map_loop(kf, gy.shape, [src], Operand(scratch, c.dtype, (to[1], to[0], to[2], to[3]), windows),
             identity(src.dtype, c.dtype))
    steps.append(c.launch(kf, n * o * p))
    gy_t = View(scratch, (o, n * p), (n * p, 1), windows)
    cols_t = View(scratch, (n * p, c.kk), (1, n * p))
    steps.append(Gemm(i, gy_t, cols_t, View(c.out, (o, c.kk), (c.kk, 1)), c.dtype))
    return steps
