"""GPU kernels as LLVM IR: the kernel skeleton, grid-stride loops, and the emitters the CPU's do not cover.

A `GpuKernel` has the hooks the LLVM backend's emitters use (`parallel`,
`printer`, `fail`), so elementwise, softmax, take, reshape, concatenate and the
one-thread-per-output reductions are the CPU emitters with their outer loop
made a grid-stride loop: each work item (output element, output position of a
reduction, softmax row) is done by one thread, without barriers, and any launch
shape gives the same result. The same kernels are built for the host, with the
thread ids as arguments instead of `%tid`/`%ctaid`, for the grid emulation
(emulate.py). Here: what differs on a GPU: libdevice math, scatters as a zero
fill plus atomic adds, block-cooperative reductions (GPU only), Philox with one
counter block per thread, and matmul epilogues reading the cuBLAS product.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import ContextManager, Iterator, Sequence

import numpy as np
from llvmlite import ir

from graphc.ops import fused
from graphc.ops.index import ScatterAdd, ScatterSlice, Slice, Take
from graphc.ops.random import RandomUniform
from graphc.ops.reduce import Monoid, Reduce
from graphc.ops.shape import Concatenate
from graphc.schedule import Kernel, View
from graphc.schedule.lower import view_of

from ..llvm import kernels as cpu
from ..llvm.codegen import F32, F64, I32, I64, PTR, Unsupported, element, intrinsic, storage_type
from ..llvm.kernels import (SOFTMAX_FAMILY, Context, Operand, alloca, body_compute, combine, from_compute,
                            gather_indices, identity, load, map_loop, merge, reduced_output, softmax_axes, start,
                            store)
from ..llvm.rng import philox, uniforms
from ..llvm.scalar import ScalarPrinter
from . import nvptx
from .tables import EMITTERS

#: ops whose GPU kernel writes only part of its output, or adds into it: a `Zero` step runs first
PARTIAL_WRITES = (ScatterAdd, ScatterSlice)
#: ops whose kernels check indices at run time and may set the status word (`GpuKernel.fail`)
INDEX_CHECKS = (Take, ScatterAdd)

#: ScalarPrinter.call stems NVPTX cannot lower itself (llvm.exp/log/pow crash it): libdevice calls instead
_LIBDEVICE_STEMS = ("exp", "log", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "pow")
#: ScalarPrinter.math functions libdevice has (others stay the CPU's inline arithmetic)
_LIBDEVICE_MATH = ("exp", "expm1", "log", "log1p", "tanh", "erf")
#: the special registers of the grid (NVPTX) and the host emulation's argument order
SPECIALS = ("tid", "ctaid", "ntid", "nctaid")


class LibdevicePrinter(ScalarPrinter):
    """The LLVM backend's body printer with transcendentals sent to libdevice (`__nv_expf`, ...).

    Without libdevice, exp/expm1/log/log1p/tanh stay the CPU's inline polynomials (plain arithmetic,
    fine on NVPTX) and a kernel needing sin, cos, tan, the inverse or hyperbolic functions, erf or a
    general pow runs on the host instead. Opaque functions (sigmoid, softplus, ...) are their
    expansions, printed by this class, so they reach libdevice too.
    """

    def _nv(self, name: str, *args: ir.Value) -> ir.Value:
        if nvptx.libdevice_path() is None:
            raise Unsupported(f"{name} needs libdevice.10.bc, which was not found ({nvptx.LIBDEVICE_FIX})")
        full = f"__nv_{name}f" if self.ftype == F32 else f"__nv_{name}"
        return self.b.call(intrinsic(self.b.module, full, self.ftype, [self.ftype] * len(args)), list(args))

    def call(self, stem: str, *args: ir.Value) -> ir.Value:
        return self._nv(stem, *args) if stem in _LIBDEVICE_STEMS else super().call(stem, *args)

    def libm(self, name: str, *args: ir.Value) -> ir.Value:
        """asinh, acosh, atanh: libdevice's."""
        return self._nv(name, *args)

    def math(self, name: str, x: ir.Value) -> ir.Value:
        """exp, expm1, log, log1p, tanh, erf: libdevice's (the CPU's inline polynomials are for vectorizing)."""
        if name in _LIBDEVICE_MATH and nvptx.libdevice_path() is not None:
            return self._nv(name, x)
        return super().math(name, x)


class GpuKernel:
    """Program kernel `index` as `void k<index>_<label>(storages..., status)` (+ the 4 grid ids on the host).

    `status` is an int32 word the kernel sets to index + 1 when an index is out of range (if no kernel did so
    before it).
    """

    #: items run on different threads, so the CPU emitters' shared-accumulator loops do not apply
    serial = False

    def __init__(self, module: ir.Module, index: int, label: str, storages: Sequence[int], host: bool):
        self.storages = list(dict.fromkeys(storages))
        self.host, self.index = host, index
        extra = [I32] * len(SPECIALS) if host else []
        self.fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR] * (len(self.storages) + 1) + extra),
                              f"k{index}_{label}")
        if not host:
            self.fn.calling_convention = "ptx_kernel"
        for arg in self.fn.args[:len(self.storages)]:
            arg.add_attribute("noalias")
        self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.module = module
        self.printer = ScalarPrinter if host else LibdevicePrinter
        self.per_block = False  # launched with one block per item (cooperative kernels) instead of per thread

    def base(self, storage: int) -> ir.Value:
        return self.fn.args[self.storages.index(storage)]

    @property
    def status(self) -> ir.Value:
        return self.fn.args[len(self.storages)]

    def special(self, name: str) -> ir.Value:
        """threadIdx.x, blockIdx.x, blockDim.x or gridDim.x as i64."""
        if self.host:
            raw = self.fn.args[len(self.storages) + 1 + SPECIALS.index(name)]
        else:
            reg = intrinsic(self.module, f"llvm.nvvm.read.ptx.sreg.{name}.x", I32, [])
            raw = self.b.call(reg, [])
        return self.b.zext(raw, I64)

    def parallel(self, shape: Sequence[int]) -> ContextManager[list[ir.Value]]:
        """The loop over the kernel's independent items: one thread per item, grid-stride (`each`)."""
        return each(self, shape)

    def fail(self) -> None:
        """Leave the kernel after writing its index + 1 to the status word: an index was out of range. Only
        the first failing kernel (in launch order) is recorded, as the reference stops at the first failure."""
        self.b.cmpxchg(self.status, ir.Constant(I32, 0), ir.Constant(I32, self.index + 1), "monotonic", "monotonic")
        self.b.ret_void()

    def finish(self) -> None:
        self.b.ret_void()


@contextmanager
def grid_stride(kf: GpuKernel, n: int) -> Iterator[ir.Value]:
    """for (i = blockIdx*blockDim + threadIdx; i < n; i += blockDim*gridDim): yields i (i64)."""
    b = kf.b
    start = b.add(b.mul(kf.special("ctaid"), kf.special("ntid")), kf.special("tid"))
    with strided(kf, start, b.mul(kf.special("ntid"), kf.special("nctaid")), n) as i:
        yield i


@contextmanager
def block_stride(kf: GpuKernel, n: int) -> Iterator[ir.Value]:
    """for (i = blockIdx; i < n; i += gridDim): the whole block on one item (uniform, so barriers are safe)."""
    with strided(kf, kf.special("ctaid"), kf.special("nctaid"), n) as i:
        yield i


@contextmanager
def strided(kf: GpuKernel, start: ir.Value, step: ir.Value, n: int) -> Iterator[ir.Value]:
    """for (i = start; i < n; i += step): yields i (i64)."""
    b = kf.b
    fn, pre = b.function, b.block
    header, body, done = fn.append_basic_block("loop"), fn.append_basic_block("item"), fn.append_basic_block("done")
    b.branch(header)
    b.position_at_end(header)
    i = b.phi(I64, "i")
    i.add_incoming(start, pre)
    b.cbranch(b.icmp_unsigned("<", i, ir.Constant(I64, n)), body, done)
    b.position_at_end(body)
    yield i
    i.add_incoming(b.add(i, step), b.block)
    b.branch(header)
    b.position_at_end(done)


def unflatten(b: ir.IRBuilder, i: ir.Value, shape: Sequence[int]) -> list[ir.Value]:
    """The row-major multi-index of flat position i."""
    idx: list[ir.Value] = []
    rest = i
    for n, d in enumerate(reversed(shape)):
        if d == 1:
            idx.append(ir.Constant(I64, 0))
            continue
        last = n == len(shape) - 1
        idx.append(rest if last else b.urem(rest, ir.Constant(I64, d)))
        if not last:
            rest = b.udiv(rest, ir.Constant(I64, d))
    return idx[::-1]


@contextmanager
def each(kf: GpuKernel, shape: Sequence[int]) -> Iterator[list[ir.Value]]:
    """One thread per position of `shape` (grid-stride): yields its multi-index."""
    with grid_stride(kf, int(np.prod(shape, dtype=np.int64))) as i:
        yield unflatten(kf.b, i, shape)


def work_items(k: Kernel, ctx: Context) -> int:
    """How many grid-stride items kernel k has (the launch is sized from it)."""
    op = k.node.op
    if isinstance(op, RandomUniform):
        n = int(np.prod(k.node.shape, dtype=np.int64))
        return -(-n // 4) if op.dtype in RandomUniform.WORD_BITS else -(-n // 2)
    if isinstance(op, SOFTMAX_FAMILY):  # one item per row (before Reduce: logsumexp is one)
        return _kept(k.inputs[0].shape, softmax_axes(op))
    if isinstance(op, (Reduce, fused.FusedReduce)):  # one item per output
        return _kept(k.domain, tuple(op.axes))
    if isinstance(op, ScatterAdd):
        return int(np.prod(k.inputs[0].shape, dtype=np.int64))
    if isinstance(op, ScatterSlice):
        return int(np.prod(_region(ctx, k).shape, dtype=np.int64))
    if isinstance(op, Concatenate):
        return max(int(np.prod(v.shape, dtype=np.int64)) for v in k.inputs)
    return int(np.prod(ctx.program.buffers[k.output].shape, dtype=np.int64))


def _kept(domain: Sequence[int], axes: Sequence[int]) -> int:
    """How many positions the axes not in `axes` span."""
    return int(np.prod([d for a, d in enumerate(domain) if a not in axes], dtype=np.int64))


# -- the kinds whose CPU emitter is not GPU-safe as is ------------------------------------------

def emit_epilogue(ctx: Context, k: Kernel, kf: GpuKernel, acc: Operand) -> None:
    """A matmul's epilogue: out = body(acc, extras...), acc (the GEMM result) broadcast over the output."""
    shape = ctx.program.buffers[k.output].shape
    extras = [ctx.operand(v, shape) for v in k.inputs[2:]]
    srcs = [acc] + extras
    out = ctx.output(k)
    map_loop(kf, shape, srcs, out, body_compute(kf, (fused.ACC,) + fused.input_symbols(len(extras)), srcs, k,
                                                out.dtype))


def _region(ctx: Context, k: Kernel) -> View:
    """Where scatter_slice writes g: the view `Slice(key)` reads of the output (the scheduler's view math)."""
    g = k.inputs[0]
    shape = ctx.program.buffers[k.output].shape
    return view_of(_SliceNode(Slice(k.node.op.key), len(g.shape)), View.contiguous(k.output, shape))


class _SliceNode:
    """The two attributes `view_of` reads of a node."""

    def __init__(self, op: Slice, ndim: int):
        self.op, self.ndim = op, ndim


@EMITTERS.register(ScatterSlice)
def emit_scatter_slice(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    """g copied into its region; the output is zeroed by the step before (a `Zero` step, not in the kernel)."""
    region = _region(ctx, k)
    out = ctx.output(k)
    src = ctx.operand(k.inputs[0], region.shape)
    dst = Operand(out.storage, out.dtype, region.strides, region.offset)
    map_loop(kf, region.shape, [src], dst, identity(src.dtype, out.dtype))


@EMITTERS.register(ScatterAdd)
def emit_scatter_add(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    """Atomic adds into the output, zeroed by the step before (threads may hit the same element)."""
    g, index_view, _ = k.inputs
    shape = ctx.program.buffers[k.output].shape
    out = ctx.output(k)
    if out.dtype not in ("float32", "float64") or ctx.dtype(g.buffer) != out.dtype:
        raise Unsupported(f"scatter_add of {ctx.dtype(g.buffer)} into {out.dtype}")
    src = ctx.operand(g, g.shape)
    with kf.parallel(g.shape) as idx:
        at = gather_indices(ctx, kf, idx, shape, k.node.op.axis, index_view)
        ptr = element(kf.b, kf.base(out.storage), storage_type(out.dtype), out.strides, 0, at)
        kf.b.atomic_rmw("fadd", ptr, load(kf, src, idx), "monotonic")


@EMITTERS.register(Monoid, fused.FusedReduce)
def emit_reduce(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    """One thread per output (the CPU emitter's loops), or a block per output for long reductions."""
    op = k.node.op
    monoid = fused.monoid_of(op)
    if not kf.host and monoid is not None and _cooperative(k.domain, tuple(op.axes)):
        return emit_block_reduce(ctx, k, kf, monoid)
    return cpu.emit_reduce(ctx, k, kf)


def _cooperative(domain: Sequence[int], axes: Sequence[int]) -> bool:
    """A block per output pays when each output reduces many items: few outputs, or contiguous rows."""
    inner = int(np.prod([domain[a] for a in axes], dtype=np.int64))
    outputs = int(np.prod(domain, dtype=np.int64)) // max(inner, 1)
    return inner >= 256 and (outputs <= 1024 or len(domain) - 1 in axes)


def _shuffle_down(kf: GpuKernel, v: ir.Value, delta: int) -> ir.Value:
    """__shfl_down_sync(0xffffffff, v, delta) for a float or integer of up to 64 bits (as 32-bit words)."""
    b = kf.b
    shfl = intrinsic(kf.module, "llvm.nvvm.shfl.sync.down.i32", I32, [I32] * 4)

    def word(x: ir.Value) -> ir.Value:
        return b.call(shfl, [ir.Constant(I32, -1), x, ir.Constant(I32, delta), ir.Constant(I32, 31)])
    if v.type in (F32, F64):
        bits = ir.IntType(32 if v.type == F32 else 64)
        return b.bitcast(_shuffle_down(kf, b.bitcast(v, bits), delta), v.type)
    if v.type.width <= 32:
        return b.trunc(word(b.zext(v, I32)), v.type) if v.type != I32 else word(v)
    lo, hi = word(b.trunc(v, I32)), word(b.trunc(b.lshr(v, ir.Constant(I64, 32)), I32))
    return b.or_(b.zext(lo, I64), b.shl(b.zext(hi, I64), ir.Constant(I64, 32)))


def _warp_reduce(kf: GpuKernel, monoid: type[Monoid], v: ir.Value) -> ir.Value:
    """The warp's 32 partial results folded into lane 0 (shuffles down by 16, 8, 4, 2, 1)."""
    for delta in (16, 8, 4, 2, 1):
        v = combine(kf, monoid, v, _shuffle_down(kf, v, delta))
    return v


def emit_block_reduce(ctx: Context, k: Kernel, kf: GpuKernel, monoid: type[Monoid]) -> None:
    """One block per output (grid-stride over outputs): threads stride the reduced items, then warp
    shuffles and one shared-memory exchange combine the partial results (GPU only: it has barriers)."""
    op = k.node.op
    domain, axes = k.domain, tuple(op.axes)
    outer = [i for i in range(len(domain)) if i not in axes]
    srcs = [ctx.operand(v, domain) for v in k.inputs]
    out = reduced_output(ctx, k, domain, axes)
    acc_dtype = monoid.accumulator(out.dtype)
    acc_type = storage_type(acc_dtype)
    b = kf.b
    kf.per_block = True
    shared_t = ir.ArrayType(acc_type, 32)
    shared = ir.GlobalVariable(kf.module, shared_t, f"{kf.fn.name}_partials", addrspace=3)
    shared.linkage = "internal"
    shared.initializer = ir.Constant(shared_t, ir.Undefined)
    partials = b.addrspacecast(shared, PTR)  # generic addressing; LLVM infers .shared accesses back
    barrier = intrinsic(kf.module, "llvm.nvvm.barrier0", ir.VoidType(), [])
    acc = alloca(b, acc_type)
    first = start(monoid, out.dtype, acc_type)
    compute = body_compute(kf, fused.input_symbols(len(srcs)), srcs, k, acc_dtype)
    tid, ntid = kf.special("tid"), kf.special("ntid")
    lane, warp = b.and_(tid, ir.Constant(I64, 31)), b.lshr(tid, ir.Constant(I64, 5))
    inner = [domain[a] for a in axes]
    with block_stride(kf, int(np.prod([domain[a] for a in outer], dtype=np.int64))) as o:
        oidx = unflatten(b, o, [domain[a] for a in outer])
        b.store(first, acc)
        with strided(kf, tid, ntid, int(np.prod(inner, dtype=np.int64))) as r:
            idx = merge(len(domain), outer, oidx, axes, unflatten(b, r, inner))
            b.store(combine(kf, monoid, b.load(acc, typ=acc_type), compute([load(kf, s, idx) for s in srcs])), acc)
        partial = _warp_reduce(kf, monoid, b.load(acc, typ=acc_type))
        with b.if_then(b.icmp_unsigned("==", lane, ir.Constant(I64, 0))):
            b.store(partial, b.gep(partials, [warp], source_etype=acc_type))
        b.call(barrier, [])
        with b.if_then(b.icmp_unsigned("==", warp, ir.Constant(I64, 0))):
            n_warps = b.lshr(b.add(ntid, ir.Constant(I64, 31)), ir.Constant(I64, 5))
            slot = b.gep(partials, [b.select(b.icmp_unsigned("<", lane, n_warps), lane, ir.Constant(I64, 0))],
                         source_etype=acc_type)
            mine = b.select(b.icmp_unsigned("<", lane, n_warps), b.load(slot, typ=acc_type), first)
            total = _warp_reduce(kf, monoid, mine)
            with b.if_then(b.icmp_unsigned("==", tid, ir.Constant(I64, 0))):
                full = merge(len(domain), outer, oidx, axes, [ir.Constant(I64, 0)] * len(axes))
                store(kf, out, full, from_compute(b, total, out.dtype))
        b.call(barrier, [])  # the partials are read before the next output overwrites them


# -- random numbers: graphc's Philox-4x32-10, one counter block per thread -----------------------

@EMITTERS.register(RandomUniform)
def emit_rng(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    """Block j of 4 words gives outputs 4j..4j+3 (float32) or 2j, 2j+1 (float64), as the NumPy rule."""
    op = k.node.op
    key_view = k.inputs[0]
    key = ctx.operand(key_view, key_view.shape)
    out = ctx.output(k)
    n = int(np.prod(k.node.shape, dtype=np.int64))
    per = 4 if op.dtype in RandomUniform.WORD_BITS else 2
    b = kf.b
    with grid_stride(kf, work_items(k, ctx)) as j:
        seed, counter = (load(kf, key, [ir.Constant(I64, w)]) for w in (0, 1))

        def halves(v: ir.Value) -> tuple[ir.Value, ir.Value]:
            return b.trunc(v, I32), b.trunc(b.lshr(v, ir.Constant(I64, 32)), I32)
        words = philox(b, [b.trunc(j, I32), ir.Constant(I32, op.stream), *halves(counter)], halves(seed))
        for lane, value in enumerate(uniforms(b, words, op.dtype)):
            at = b.add(b.mul(j, ir.Constant(I64, per)), ir.Constant(I64, lane))
            with b.if_then(b.icmp_unsigned("<", at, ir.Constant(I64, n))):
                b.store(from_compute(b, value, out.dtype),  # a 16-bit float rounds from the double
                        b.gep(kf.base(out.storage), [at], inbounds=True, source_etype=storage_type(out.dtype)))
