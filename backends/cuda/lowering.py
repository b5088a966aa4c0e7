"""A kernel program as GPU steps: kernel launches, GEMMs, zero fills and host fallbacks, plus one IR module.

Storage ids are the program's buffer ids (a temporary written in place shares
its parameter's id), then `scratch` for the GEMM result an epilogue reads.
The module holds one kernel per launch (`k<i>_<op>`), for NVPTX or, with
`host=True`, for the host-grid emulation. Kernels with no GPU emitter (conv,
scan, generic ops, integer matmuls) become `Host` steps: their inputs are
copied to the host, the op's NumPy rule runs, the result is copied back.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from llvmlite import ir

from graphc.schedule import KernelProgram, View

from ..llvm.codegen import Unsupported, broadcast_strides, contiguous_strides
from ..llvm.kernels import Context, Operand
from .kernels import GpuKernel, emit_epilogue, emitter, work_items


@dataclass(frozen=True)
class Launch:
    """Run kernel `name` over `items` grid-stride items with these storages (then the status word)."""

    index: int  # the program's kernel index (for error messages)
    name: str
    storages: tuple[int, ...]
    items: int


@dataclass(frozen=True)
class Zero:
    storage: int


@dataclass(frozen=True)
class Gemm:
    """out = matmul(a, b) (NumPy's rules: batches broadcast, 1-D operands promoted), out contiguous."""

    index: int
    a: View
    b: View
    out: int  # storage
    shape: tuple[int, ...]  # the product's shape


@dataclass(frozen=True)
class Host:
    index: int


Step = Launch | Zero | Gemm | Host


@dataclass
class Lowered:
    ir: str
    steps: list[Step]
    scratch: int  # storage id of the GEMM scratch area
    scratch_bytes: int
    fallbacks: dict[int, str] = field(default_factory=dict)  # kernel index -> why it runs on the host

    @property
    def entries(self) -> list[str]:
        return [s.name for s in self.steps if isinstance(s, Launch)]


def storage_of(program: KernelProgram):
    return lambda buffer: program.plan.in_place.get(buffer, buffer)


def lower_program(program: KernelProgram, host: bool = False) -> Lowered:
    module = ir.Module("graphc_cuda")
    module.triple = ""
    storage = storage_of(program)
    scratch = len(program.buffers)
    ctx = Context(program, storage, scratch, blas=False)
    steps: list[Step] = []
    fallbacks: dict[int, str] = {}
    for i, k in enumerate(program.kernels):
        name = f"k{i}_{k.name}"
        try:
            if k.kind == "matmul":
                steps.extend(_matmul(ctx, i, k, module, name, host))
                continue
            emit = emitter(k)
            kf = GpuKernel(module, name, [storage(k.output)] + [storage(v.buffer) for v in k.inputs], host)
            emit(ctx, k, kf)
            kf.finish()
        except Unsupported as e:
            if name in module.globals:
                del module.globals[name]
            fallbacks[i] = e.what
            steps.append(Host(i))
            continue
        if k.kind == "scatter":
            steps.append(Zero(storage(k.output)))
        steps.append(Launch(i, name, tuple(kf.storages), work_items(k, ctx)))
    return Lowered(str(module), steps, scratch, ctx.scratch_bytes, fallbacks)


def _matmul(ctx: Context, i: int, k, module: ir.Module, name: str, host: bool) -> list[Step]:
    """A GEMM (cuBLAS) into the output, or into scratch followed by the epilogue kernel."""
    a, bv = k.inputs[:2]
    dtype = ctx.dtype(k.output)
    if dtype not in ("float32", "float64") or ctx.dtype(a.buffer) != dtype or ctx.dtype(bv.buffer) != dtype:
        raise Unsupported(f"matmul of {ctx.dtype(a.buffer)} and {ctx.dtype(bv.buffer)}")
    shape = _product_shape(a.shape, bv.shape)
    if k.body is None:
        return [Gemm(i, a, bv, ctx.storage(k.output), shape)]
    ctx.scratch_bytes = max(ctx.scratch_bytes, int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize)
    out_shape = ctx.program.buffers[k.output].shape
    acc = Operand(ctx.scratch, dtype, broadcast_strides(shape, contiguous_strides(shape), out_shape))
    kf = GpuKernel(module, name, [ctx.storage(k.output), ctx.scratch] + [ctx.storage(v.buffer) for v in k.inputs[2:]],
                   host)
    emit_epilogue(ctx, k, kf, acc)
    kf.finish()
    return [Gemm(i, a, bv, ctx.scratch, shape), Launch(i, name, tuple(kf.storages), int(np.prod(out_shape)))]


def _product_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """np.matmul's result shape."""
    am = (1,) + a if len(a) == 1 else a
    bm = b + (1,) if len(b) == 1 else b
    batch = tuple(np.broadcast_shapes(am[:-2], bm[:-2]))
    return batch + (am[-2],) * (len(a) > 1) + (bm[-1],) * (len(b) > 1)
