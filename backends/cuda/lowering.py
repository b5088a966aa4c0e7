"""A kernel program as GPU steps (steps.py) and one IR module holding every kernel they launch.

Storage ids are the program's buffer ids (a temporary written in place shares
its parameter's id), then `scratch`: GEMM results an epilogue reads and im2col
matrices. The module holds one kernel per launch (`k<i>_<op>[_<part>]`), for
NVPTX or, with `host=True`, for the host-grid emulation. Kernels with no GPU
lowering (scan, generic ops, grouped convolutions, integer matmuls) become
`Host` steps: inputs copied to the host, the op's NumPy rule, result copied back.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from llvmlite import ir

from graphc.ops import conv, index, reduce, shape
from graphc.ops.fused import MatMulEpilogue
from graphc.ops.linalg import MatMul
from graphc.schedule import Kernel, KernelProgram, View

from ..llvm import conv as cpu_conv
from ..llvm import kernels as cpu
from ..llvm.codegen import Unsupported, broadcast_strides, contiguous_strides
from ..llvm.emitters import emitter
from ..llvm.kernels import Context, Operand
from . import conv as _conv  # noqa: F401 - registers the convolution plans
from .kernels import PARTIAL_WRITES, GpuKernel, emit_epilogue, work_items
from .steps import Gemm, Host, Launch, Step, Zero
from .tables import EMITTERS, PLANS

# The CPU emitters wherever their items are independent (`GpuKernel.parallel` makes their outer loop a
# grid-stride loop); the GPU's own emitters register in kernels.py, matmul and conv plans below and in conv.py.
EMITTERS.register(*cpu.ELEMENTWISE)(cpu.emit_elementwise)
EMITTERS.register(reduce.ArgExtremum)(cpu.emit_argextremum)
EMITTERS.register(reduce.Softmax)(cpu.emit_softmax)
EMITTERS.register(reduce.LogSoftmax)(cpu.emit_log_softmax)
EMITTERS.register(reduce.LogSumExp)(cpu.emit_logsumexp)
EMITTERS.register(reduce.SoftmaxCrossEntropy)(cpu.emit_softmax_cross_entropy)
EMITTERS.register(index.Take)(cpu.emit_take)
EMITTERS.register(conv.Patches)(cpu_conv.emit_patches)
EMITTERS.register(conv.Unpatches)(cpu_conv.emit_unpatches)
EMITTERS.register(shape.Reshape)(cpu.emit_reshape)
EMITTERS.register(shape.Concatenate)(cpu.emit_concatenate)


@dataclass
class Lowered:
    ir: str
    steps: list[Step]
    scratch: int  # storage id of the scratch area
    scratch_bytes: int
    fallbacks: dict[int, str] = field(default_factory=dict)  # kernel index -> why it runs on the host

    @property
    def entries(self) -> list[str]:
        return [s.name for s in self.steps if isinstance(s, Launch)]


def lower_program(program: KernelProgram, host: bool = False) -> Lowered:
    module = ir.Module("graphc_cuda")
    module.triple = ""
    storage = lambda buffer: program.plan.in_place.get(buffer, buffer)  # noqa: E731
    scratch = len(program.buffers)
    ctx = Context(program, storage, scratch, blas=0)
    steps: list[Step] = []
    fallbacks: dict[int, str] = {}
    for i, k in enumerate(program.kernels):
        before = set(module.globals)
        try:
            steps.extend(_plan(ctx, i, k, module, host))
        except Unsupported as e:
            for name in set(module.globals) - before:
                del module.globals[name]
            fallbacks[i] = e.what
            steps.append(Host(i))
    return Lowered(str(module), steps, scratch, ctx.scratch_bytes, fallbacks)


def _plan(ctx: Context, i: int, k: Kernel, module: ir.Module, host: bool) -> list[Step]:
    """Kernel k's steps: its op's plan if it has one, else one launch of its emitter's kernel."""
    plan = PLANS.lookup(type(k.node.op))
    if plan is not None:
        return plan(ctx, i, k, module, host)
    emit = emitter(k, EMITTERS)
    kf = GpuKernel(module, i, k.name, [ctx.storage(k.output)] + [ctx.storage(v.buffer) for v in k.inputs], host)
    emit(ctx, k, kf)
    kf.finish()
    launch = Launch(i, kf.fn.name, tuple(kf.storages), work_items(k, ctx), kf.per_block)
    return [Zero(ctx.storage(k.output)), launch] if isinstance(k.node.op, PARTIAL_WRITES) else [launch]


@PLANS.register(MatMul, MatMulEpilogue)
def _matmul(ctx: Context, i: int, k: Kernel, module: ir.Module, host: bool) -> list[Step]:
    """A GEMM (cuBLAS) into the output, or into scratch followed by the epilogue kernel."""
    a, bv = k.inputs[:2]
    dtype = ctx.dtype(k.output)
    if dtype not in ("float32", "float64") or ctx.dtype(a.buffer) != dtype or ctx.dtype(bv.buffer) != dtype:
        raise Unsupported(f"matmul of {ctx.dtype(a.buffer)} and {ctx.dtype(bv.buffer)}")
    shape = _product_shape(a.shape, bv.shape)
    operands = [View(ctx.storage(v.buffer), v.shape, v.strides, v.offset) for v in (a, bv)]
    if k.body is None:
        return [Gemm(i, *operands, View(ctx.storage(k.output), shape, contiguous_strides(shape)), dtype)]
    ctx.scratch_bytes = max(ctx.scratch_bytes, int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize)
    out_shape = ctx.program.buffers[k.output].shape
    acc = Operand(ctx.scratch, dtype, broadcast_strides(shape, contiguous_strides(shape), out_shape))
    kf = GpuKernel(module, i, k.name, [ctx.storage(k.output), ctx.scratch] +
                   [ctx.storage(v.buffer) for v in k.inputs[2:]], host)
    emit_epilogue(ctx, k, kf, acc)
    kf.finish()
    return [Gemm(i, *operands, View(ctx.scratch, shape, contiguous_strides(shape)), dtype),
            Launch(i, kf.fn.name, tuple(kf.storages), int(np.prod(out_shape, dtype=np.int64)))]


def _product_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """np.matmul's result shape."""
    am = (1,) + a if len(a) == 1 else a
    bm = b + (1,) if len(b) == 1 else b
    batch = tuple(np.broadcast_shapes(am[:-2], bm[:-2]))
    return batch + (am[-2],) * (len(a) > 1) + (bm[-1],) * (len(b) > 1)
