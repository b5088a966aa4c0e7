"""GPU kernels as LLVM IR: one grid-stride kernel per scheduled kernel, emitted for NVPTX or the host.

Every kernel walks its work items (output elements, or output positions of a
reduction, softmax rows, Philox blocks) with a grid-stride loop, so any launch
shape computes the same result: each item is done by one thread, without
barriers or shared memory. The same emitters run on the host for the grid
emulation (emulate.py), where the thread ids are arguments instead of the
`%tid`/`%ctaid` special registers. The loads, stores, conversions and scalar
bodies are the LLVM backend's; only the kernel skeleton and the math library
(libdevice's `__nv_*` on the GPU) differ.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import numpy as np
import sympy as sp
from llvmlite import ir

from graphc.ops import fused
from graphc.ops.index import Slice
from graphc.schedule import Kernel, View
from graphc.schedule.lower import _view_of

from ..llvm.codegen import F32, F64, I32, I64, PTR, Unsupported, element, intrinsic, nest, storage_type
from ..llvm.kernels import (_START, Context, Operand, _combine, alloca, from_compute, identity, load, merge,
                            reduced_output, store, to_compute)
from ..llvm.scalar import ScalarPrinter

#: ScalarPrinter.call stems NVPTX cannot lower itself (llvm.exp/log/pow crash it): libdevice calls instead
_LIBDEVICE_STEMS = ("exp", "log", "sin", "cos", "tanh", "pow")
#: the special registers of the grid (NVPTX) and the host emulation's argument order
SPECIALS = ("tid", "ctaid", "ntid", "nctaid")


class LibdevicePrinter(ScalarPrinter):
    """The LLVM backend's body printer with transcendentals sent to libdevice (`__nv_expf`, ...)."""

    def _nv(self, name: str, *args: ir.Value) -> ir.Value:
        full = f"__nv_{name}f" if self.ftype == F32 else f"__nv_{name}"
        return self.b.call(intrinsic(self.b.module, full, self.ftype, [self.ftype] * len(args)), list(args))

    def call(self, stem: str, *args: ir.Value) -> ir.Value:
        return self._nv(stem, *args) if stem in _LIBDEVICE_STEMS else super().call(stem, *args)

    def math(self, name: str, x: ir.Value) -> ir.Value:
        """exp, expm1, log, log1p, tanh: libdevice's (the CPU's inline polynomials are for vectorizing)."""
        return self._nv(name, x)

    def libm(self, names: tuple[str, str], x: ir.Value) -> ir.Value:
        return self._nv(names[1], x)


class GpuKernel:
    """Program kernel `index` as `void k<index>_<label>(storages..., status)` (+ the 4 grid ids on the host).

    `status` is an int32 word the kernel sets to index + 1 when an index is out of range.
    """

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
    if k.kind == "rng":
        n = int(np.prod(k.node.shape, dtype=np.int64))
        return -(-n // 4) if op.dtype == "float32" else -(-n // 2)
    if k.kind in ("reduce", "softmax"):
        domain = k.domain if k.kind == "reduce" else k.inputs[0].shape
        axes = _axes(k)
        return int(np.prod([d for a, d in enumerate(domain) if a not in axes], dtype=np.int64))
    if k.kind == "scatter":
        return int(np.prod(_region(ctx, k).shape if k.name == "scatter_slice" else k.inputs[0].shape, dtype=np.int64))
    if k.name == "concatenate":
        return max(int(np.prod(v.shape, dtype=np.int64)) for v in k.inputs)
    return int(np.prod(ctx.program.buffers[k.output].shape, dtype=np.int64))


def _axes(k: Kernel) -> tuple[int, ...]:
    op = k.node.op
    if k.kind == "softmax":
        return tuple(op.axes) if op.name == "logsumexp" else (op.axis,)
    return tuple(op.axes)


def body_compute(kf: GpuKernel, symbols: Sequence[sp.Symbol], srcs: Sequence[Operand], k: Kernel,
                 out_dtype: str) -> Callable[[list[ir.Value]], ir.Value]:
    """The kernel's SymPy body (with its lets), printed with this target's printer."""
    ftype = F32 if out_dtype == "float32" else F64

    def compute(raws: list[ir.Value]) -> ir.Value:
        env = {s: to_compute(kf.b, v, op.dtype, ftype) for s, v, op in zip(symbols, raws, srcs)}
        printer = kf.printer(kf.b, ftype, env)
        printer.bind(k.lets)
        return from_compute(kf.b, printer.emit(k.body), out_dtype)
    return compute


def map_items(kf: GpuKernel, shape: Sequence[int], srcs: Sequence[Operand], dst: Operand,
              compute: Callable[[list[ir.Value]], ir.Value]) -> None:
    with each(kf, shape) as idx:
        store(kf, dst, idx, compute([load(kf, s, idx) for s in srcs]))


# -- elementwise, copies ------------------------------------------------------------------

def emit_elementwise(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    domain = ctx.program.buffers[k.output].shape
    srcs = [ctx.operand(v, domain) for v in k.inputs]
    out = ctx.output(k)
    map_items(kf, domain, srcs, out, body_compute(kf, fused.input_symbols(len(srcs)), srcs, k, out.dtype))


def emit_epilogue(ctx: Context, k: Kernel, kf: GpuKernel, acc: Operand) -> None:
    """A matmul's epilogue: out = body(acc, extras...), acc (the GEMM result) broadcast over the output."""
    shape = ctx.program.buffers[k.output].shape
    extras = [ctx.operand(v, shape) for v in k.inputs[2:]]
    srcs = [acc] + extras
    out = ctx.output(k)
    map_items(kf, shape, srcs, out, body_compute(kf, (fused.ACC,) + fused.input_symbols(len(extras)), srcs, k,
                                                 out.dtype))


def emit_reshape(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    (v,) = k.inputs
    src = ctx.operand(v, v.shape)
    map_items(kf, v.shape, [src], ctx.output(k, v.shape), identity(src.dtype, ctx.dtype(k.output)))


def emit_concatenate(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    """One grid-stride pass per input, each into its own slab of the output (no ordering needed)."""
    axis = k.node.op.axis
    out = ctx.output(k)
    start = 0
    for v in k.inputs:
        dst = Operand(out.storage, out.dtype, out.strides, start * out.strides[axis])
        src = ctx.operand(v, v.shape)
        map_items(kf, v.shape, [src], dst, identity(src.dtype, out.dtype))
        start += v.shape[axis]


def _region(ctx: Context, k: Kernel) -> View:
    """Where scatter_slice writes g: the view `Slice(key)` reads of the output (the scheduler's view math)."""
    g = k.inputs[0]
    shape = ctx.program.buffers[k.output].shape
    return _view_of(_SliceNode(Slice(k.node.op.key), len(g.shape)), View.contiguous(k.output, shape))


class _SliceNode:
    """The two attributes `_view_of` reads of a node."""

    def __init__(self, op: Slice, ndim: int):
        self.op, self.ndim = op, ndim


def emit_scatter_slice(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    """g copied into its region; the output is zeroed by the step before (runtime `zero`)."""
    region = _region(ctx, k)
    out = ctx.output(k)
    src = ctx.operand(k.inputs[0], region.shape)
    dst = Operand(out.storage, out.dtype, region.strides, region.offset)
    map_items(kf, region.shape, [src], dst, identity(src.dtype, out.dtype))


# -- reductions and the softmax family: one thread per output position ---------------------

def emit_reduce(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    op = k.node.op
    if op.name in ("argmax", "argmin"):
        return emit_argextremum(ctx, k, kf)
    reducer = getattr(op, "reducer", op.name)
    if reducer not in _START:
        raise Unsupported(f"reducer {reducer}")
    domain, axes = k.domain, tuple(op.axes)
    if not kf.host and _cooperative(domain, axes):
        return emit_block_reduce(ctx, k, kf, reducer)
    outer = [i for i in range(len(domain)) if i not in axes]
    srcs = [ctx.operand(v, domain) for v in k.inputs]
    out = reduced_output(ctx, k, domain, axes)
    acc_type = F64 if reducer in ("sum", "prod") else (F32 if out.dtype == "float32" else F64)
    b = kf.b
    acc = alloca(b, acc_type)
    compute = body_compute(kf, fused.input_symbols(len(srcs)), srcs, k, "float64" if acc_type == F64 else "float32")
    with each(kf, [domain[a] for a in outer]) as oidx:
        b.store(ir.Constant(acc_type, _START[reducer]), acc)
        with nest(b, [domain[a] for a in axes]) as iidx:
            x = compute([load(kf, s, merge(len(domain), outer, oidx, axes, iidx)) for s in srcs])
            b.store(_combine(b, reducer, b.load(acc, typ=acc_type), x), acc)
        full = merge(len(domain), outer, oidx, axes, [ir.Constant(I64, 0)] * len(axes))
        store(kf, out, full, from_compute(b, b.load(acc, typ=acc_type), out.dtype))


def _cooperative(domain: Sequence[int], axes: Sequence[int]) -> bool:
    """A block per output pays when each output reduces many items: few outputs, or contiguous rows."""
    inner = int(np.prod([domain[a] for a in axes], dtype=np.int64))
    outputs = int(np.prod(domain, dtype=np.int64)) // max(inner, 1)
    return inner >= 256 and (outputs <= 1024 or len(domain) - 1 in axes)


def _shuffle_down(kf: GpuKernel, v: ir.Value, delta: int) -> ir.Value:
    """__shfl_down_sync(0xffffffff, v, delta) for f32 or f64 (as two 32-bit halves)."""
    b = kf.b
    shfl = intrinsic(kf.module, "llvm.nvvm.shfl.sync.down.i32", I32, [I32] * 4)

    def word(x: ir.Value) -> ir.Value:
        return b.call(shfl, [ir.Constant(I32, -1), x, ir.Constant(I32, delta), ir.Constant(I32, 31)])
    if v.type == F32:
        return b.bitcast(word(b.bitcast(v, I32)), F32)
    bits = b.bitcast(v, I64)
    lo, hi = word(b.trunc(bits, I32)), word(b.trunc(b.lshr(bits, ir.Constant(I64, 32)), I32))
    return b.bitcast(b.or_(b.zext(lo, I64), b.shl(b.zext(hi, I64), ir.Constant(I64, 32))), F64)


def _warp_reduce(kf: GpuKernel, reducer: str, v: ir.Value) -> ir.Value:
    for delta in (16, 8, 4, 2, 1):
        v = _combine(kf.b, reducer, v, _shuffle_down(kf, v, delta))
    return v


def emit_block_reduce(ctx: Context, k: Kernel, kf: GpuKernel, reducer: str) -> None:
    """One block per output (grid-stride over outputs): threads stride the reduced items, then warp
    shuffles and one shared-memory exchange combine the partial results (GPU only: it has barriers)."""
    op = k.node.op
    domain, axes = k.domain, tuple(op.axes)
    outer = [i for i in range(len(domain)) if i not in axes]
    srcs = [ctx.operand(v, domain) for v in k.inputs]
    out = reduced_output(ctx, k, domain, axes)
    acc_type = F64 if reducer in ("sum", "prod") else (F32 if out.dtype == "float32" else F64)
    b = kf.b
    kf.per_block = True
    shared_t = ir.ArrayType(acc_type, 32)
    shared = ir.GlobalVariable(kf.module, shared_t, f"{kf.fn.name}_partials", addrspace=3)
    shared.linkage = "internal"
    shared.initializer = ir.Constant(shared_t, ir.Undefined)
    partials = b.addrspacecast(shared, PTR)  # generic addressing; LLVM infers .shared accesses back
    barrier = intrinsic(kf.module, "llvm.nvvm.barrier0", ir.VoidType(), [])
    acc = alloca(b, acc_type)
    start = ir.Constant(acc_type, _START[reducer])
    compute = body_compute(kf, fused.input_symbols(len(srcs)), srcs, k, "float64" if acc_type == F64 else "float32")
    tid, ntid = kf.special("tid"), kf.special("ntid")
    lane, warp = b.and_(tid, ir.Constant(I64, 31)), b.lshr(tid, ir.Constant(I64, 5))
    inner = [domain[a] for a in axes]
    with block_stride(kf, int(np.prod([domain[a] for a in outer], dtype=np.int64))) as o:
        oidx = unflatten(b, o, [domain[a] for a in outer])
        b.store(start, acc)
        with strided(kf, tid, ntid, int(np.prod(inner, dtype=np.int64))) as r:
            idx = merge(len(domain), outer, oidx, axes, unflatten(b, r, inner))
            b.store(_combine(b, reducer, b.load(acc, typ=acc_type), compute([load(kf, s, idx) for s in srcs])), acc)
        partial = _warp_reduce(kf, reducer, b.load(acc, typ=acc_type))
        with b.if_then(b.icmp_unsigned("==", lane, ir.Constant(I64, 0))):
            b.store(partial, b.gep(partials, [warp], source_etype=acc_type))
        b.call(barrier, [])
        with b.if_then(b.icmp_unsigned("==", warp, ir.Constant(I64, 0))):
            n_warps = b.lshr(b.add(ntid, ir.Constant(I64, 31)), ir.Constant(I64, 5))
            slot = b.gep(partials, [b.select(b.icmp_unsigned("<", lane, n_warps), lane, ir.Constant(I64, 0))],
                         source_etype=acc_type)
            mine = b.select(b.icmp_unsigned("<", lane, n_warps), b.load(slot, typ=acc_type), start)
            total = _warp_reduce(kf, reducer, mine)
            with b.if_then(b.icmp_unsigned("==", tid, ir.Constant(I64, 0))):
                full = merge(len(domain), outer, oidx, axes, [ir.Constant(I64, 0)] * len(axes))
                store(kf, out, full, from_compute(b, total, out.dtype))
        b.call(barrier, [])  # the partials are read before the next output overwrites them


def emit_argextremum(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    """First index of the max (min); a NaN wins at its first occurrence, like np.argmax."""
    op = k.node.op
    (v,) = k.inputs
    (axis,) = op.axes
    domain = v.shape
    outer = [i for i in range(len(domain)) if i != axis]
    src = ctx.operand(v, domain)
    out = reduced_output(ctx, k, domain, (axis,))
    ftype = F32 if src.dtype == "float32" else F64
    b = kf.b
    best, where = alloca(b, ftype), alloca(b, I64)
    better = ">" if op.name == "argmax" else "<"
    with each(kf, [domain[a] for a in outer]) as oidx:
        b.store(ir.Constant(ftype, -np.inf if better == ">" else np.inf), best)
        b.store(ir.Constant(I64, 0), where)
        with nest(b, [domain[axis]]) as (i,):
            x = to_compute(b, load(kf, src, merge(len(domain), outer, oidx, (axis,), [i])), src.dtype, ftype)
            old = b.load(best, typ=ftype)
            nan_first = b.and_(b.fcmp_unordered("uno", x, x), b.fcmp_ordered("ord", old, old))
            take = b.or_(b.fcmp_ordered(better, x, old), nan_first)
            b.store(b.select(take, x, old), best)
            b.store(b.select(take, i, b.load(where, typ=I64)), where)
        store(kf, out, merge(len(domain), outer, oidx, (axis,), [ir.Constant(I64, 0)]), b.load(where, typ=I64))


def emit_softmax(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    """Max-subtracted, one thread per row: max over the axes, sum of exp(x - max), then the result."""
    name = k.node.op.name
    x = k.inputs[0]
    domain, axes = x.shape, _axes(k)
    outer = [i for i in range(len(domain)) if i not in axes]
    src = ctx.operand(x, domain)
    ftype = F32 if ctx.dtype(k.output) == "float32" else F64
    b = kf.b
    p = kf.printer(b, ftype, {})
    m, s, total = alloca(b, ftype), alloca(b, F64), alloca(b, F64)
    zeros = [ir.Constant(I64, 0)] * len(axes)

    def over_axes(oidx: list[ir.Value], body: Callable[[list[ir.Value]], None]) -> None:
        with nest(b, [domain[a] for a in axes]) as iidx:
            body(merge(len(domain), outer, oidx, axes, iidx))

    def value(idx: list[ir.Value], operand: Operand = src) -> ir.Value:
        return to_compute(b, load(kf, operand, idx), operand.dtype, ftype)

    def wide(v: ir.Value) -> ir.Value:
        return b.fpext(v, F64) if ftype != F64 else v

    with each(kf, [domain[a] for a in outer]) as oidx:
        b.store(p.const(-np.inf), m)
        over_axes(oidx, lambda idx: b.store(p.call("maximum", b.load(m, typ=ftype), value(idx)), m))
        top = b.load(m, typ=ftype)
        if name == "logsumexp":  # an all -inf (or inf, nan) slice keeps its value: subtract 0
            top = b.select(b.fcmp_ordered("!=", p.call("fabs", top), p.const(np.inf)), top, p.const(0))
        b.store(ir.Constant(F64, 0.0), s)
        over_axes(oidx, lambda idx: b.store(b.fadd(b.load(s, typ=F64), wide(p.math("exp", b.fsub(value(idx), top)))),
                                            s))
        denom = b.load(s, typ=F64)
        denom = b.fptrunc(denom, ftype) if ftype != F64 else denom
        log_denom = p.math("log", denom)
        if name == "softmax":
            out = ctx.output(k)
            over_axes(oidx, lambda idx: store(kf, out, idx, b.fdiv(p.math("exp", b.fsub(value(idx), top)), denom)))
        elif name == "log_softmax":
            out = ctx.output(k)
            over_axes(oidx, lambda idx: store(kf, out, idx, b.fsub(b.fsub(value(idx), top), log_denom)))
        elif name == "logsumexp":
            out = reduced_output(ctx, k, domain, axes)
            store(kf, out, merge(len(domain), outer, oidx, axes, zeros), b.fadd(log_denom, top))
        elif name == "softmax_cross_entropy":
            t = ctx.operand(k.inputs[1], domain)
            b.store(ir.Constant(F64, 0.0), total)
            over_axes(oidx, lambda idx: b.store(
                b.fadd(b.load(total, typ=F64), wide(b.fmul(value(idx, t), b.fsub(b.fsub(value(idx), top), log_denom)))),
                total))
            out = reduced_output(ctx, k, domain, axes)
            store(kf, out, merge(len(domain), outer, oidx, axes, zeros),
                  from_compute(b, b.fneg(b.load(total, typ=F64)), out.dtype))
        else:
            raise Unsupported(f"softmax-kind op {name}")


# -- gather and scatter -----------------------------------------------------------------------

def _checked_index(kf: GpuKernel, raw: ir.Value, size: int) -> ir.Value:
    """An index wrapped like NumPy's (-1 is the last); out of range sets the status word and returns."""
    b = kf.b
    i = b.sext(raw, I64) if raw.type != I64 else raw
    i = b.select(b.icmp_signed("<", i, ir.Constant(I64, 0)), b.add(i, ir.Constant(I64, size)), i)
    with b.if_then(b.icmp_unsigned(">=", i, ir.Constant(I64, size)), likely=False):
        b.store(ir.Constant(I32, kf.index + 1), kf.status)
        b.ret_void()
    return i


def _gather_indices(ctx: Context, kf: GpuKernel, idx: list[ir.Value], x_shape: Sequence[int], axis: int,
                    index_view: View) -> list[ir.Value]:
    n_idx = len(index_view.shape)
    ind = ctx.operand(index_view, index_view.shape)
    where = _checked_index(kf, load(kf, ind, idx[axis:axis + n_idx]), x_shape[axis])
    return idx[:axis] + [where] + idx[axis + n_idx:]


def emit_take(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    x, index_view = k.inputs
    src, out = ctx.operand(x, x.shape), ctx.output(k)
    with each(kf, ctx.program.buffers[k.output].shape) as idx:
        store(kf, out, idx, load(kf, src, _gather_indices(ctx, kf, idx, x.shape, k.node.op.axis, index_view)))


def emit_scatter_add(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    """Atomic adds into the output, zeroed by the step before (runtime `zero`)."""
    g, index_view, _ = k.inputs
    shape = ctx.program.buffers[k.output].shape
    out = ctx.output(k)
    if not out.dtype.startswith("float") or ctx.dtype(g.buffer) != out.dtype:
        raise Unsupported(f"scatter_add of {ctx.dtype(g.buffer)} into {out.dtype}")
    src = ctx.operand(g, g.shape)
    with each(kf, g.shape) as idx:
        at = _gather_indices(ctx, kf, idx, shape, k.node.op.axis, index_view)
        ptr = element(kf.b, kf.base(out.storage), storage_type(out.dtype), out.strides, 0, at)
        kf.b.atomic_rmw("fadd", ptr, load(kf, src, idx), "monotonic")


# -- random numbers: graphc's Philox-4x32-10, one counter block per thread ------------------

_PHILOX_M = (0xD2511F53, 0xCD9E8D57)
_PHILOX_W = (0x9E3779B9, 0xBB67AE85)


def _philox(b: ir.IRBuilder, counter: list[ir.Value], key: list[ir.Value]) -> list[ir.Value]:
    """The 10 rounds of graphc.ops.random.philox4x32 on i32 words (products in i64)."""
    c, (k0, k1) = list(counter), key

    def mul(m: int, x: ir.Value) -> tuple[ir.Value, ir.Value]:
        p = b.mul(ir.Constant(I64, m), b.zext(x, I64))
        return b.trunc(b.lshr(p, ir.Constant(I64, 32)), I32), b.trunc(p, I32)
    for r in range(10):
        if r:
            k0, k1 = b.add(k0, ir.Constant(I32, _PHILOX_W[0])), b.add(k1, ir.Constant(I32, _PHILOX_W[1]))
        hi0, lo0 = mul(_PHILOX_M[0], c[0])
        hi1, lo1 = mul(_PHILOX_M[1], c[2])
        c = [b.xor(b.xor(hi1, c[1]), k0), lo1, b.xor(b.xor(hi0, c[3]), k1), lo0]
    return c


def emit_rng(ctx: Context, k: Kernel, kf: GpuKernel) -> None:
    """Block j of 4 words gives outputs 4j..4j+3 (float32: 24 bits each) or 2j, 2j+1 (float64: 53 bits)."""
    op = k.node.op
    key_view = k.inputs[0]
    key = ctx.operand(key_view, key_view.shape)
    out = ctx.output(k)
    n = int(np.prod(k.node.shape, dtype=np.int64))
    b = kf.b
    with grid_stride(kf, work_items(k, ctx)) as j:
        seed, counter = (load(kf, key, [ir.Constant(I64, w)]) for w in (0, 1))

        def split(v: ir.Value) -> list[ir.Value]:
            return [b.trunc(v, I32), b.trunc(b.lshr(v, ir.Constant(I64, 32)), I32)]
        words = _philox(b, [b.trunc(j, I32), ir.Constant(I32, op.stream)] + split(counter), split(seed))
        per = 4 if op.dtype == "float32" else 2
        for lane in range(per):
            at = b.add(b.mul(j, ir.Constant(I64, per)), ir.Constant(I64, lane))
            with b.if_then(b.icmp_unsigned("<", at, ir.Constant(I64, n))):
                if op.dtype == "float32":
                    bits = b.uitofp(b.lshr(words[lane], ir.Constant(I32, 8)), F32)
                    value = b.fmul(bits, ir.Constant(F32, 2.0 ** -24))
                else:
                    hi = b.zext(b.lshr(words[2 * lane], ir.Constant(I32, 5)), I64)
                    lo = b.zext(b.lshr(words[2 * lane + 1], ir.Constant(I32, 6)), I64)
                    bits = b.uitofp(b.add(b.shl(hi, ir.Constant(I64, 26)), lo), F64)
                    value = b.fmul(bits, ir.Constant(F64, 2.0 ** -53))
                b.store(value, b.gep(kf.base(out.storage), [at], inbounds=True, source_etype=storage_type(out.dtype)))


#: kind -> emitter, or kind -> {op name -> emitter}; matmul (GEMM + epilogue) is planned in lowering.py
EMITTERS: dict[str, Callable | dict[str, Callable]] = {
    "elementwise": emit_elementwise,
    "reduce": emit_reduce,
    "softmax": emit_softmax,
    "gather": {"take": emit_take},
    "scatter": {"scatter_add": emit_scatter_add, "scatter_slice": emit_scatter_slice},
    "copy": {"reshape": emit_reshape, "concatenate": emit_concatenate},
    "rng": {"random_uniform": emit_rng},
}


def emitter(k: Kernel) -> Callable:
    entry = EMITTERS.get(k.kind)
    if isinstance(entry, dict):
        entry = entry.get(k.name)
    if entry is None:
        raise Unsupported(f"no cuda kernel for {k.kind} kernel {k.name}")
    return entry
