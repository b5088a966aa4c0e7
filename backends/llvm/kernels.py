"""The emitters of the common kernels, each registered on the op classes it compiles (registry.py).

Every emitter fills a `KernelFunction` whose output is written contiguously,
reading inputs through strided views (zero strides broadcast). An emitter
raises `Unsupported` for what it cannot compile; that kernel then runs through
the NumPy callback (see runtime.py).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable, Sequence

import numpy as np
import sympy as sp
from llvmlite import ir

from graphc.ir.dtypes import is_float, is_half
from graphc.ops import elementwise as ew
from graphc.ops import fused, index, reduce, shape
from graphc.ops.index import Slice
from graphc.ops.reduce import Monoid
from graphc.schedule import Kernel, KernelProgram, View
from graphc.schedule.lower import view_of

from .codegen import (F32, F64, I1, I32, I64, PTR, KernelFunction, Unsupported, aligned, broadcast_strides,
                      compute_type, contiguous_strides, element, intrinsic, loop, nest, storage_type)
from .registry import EMITTERS
from .scalar import constant, convert, is_int
from .irtypes import is_unsigned

#: the ops one elementwise loop computes (groups.py runs several of them in one loop)
ELEMENTWISE = (ew.Elementwise, fused.FusedElementwise)


@dataclass(frozen=True)
class Operand:
    """A strided view of one storage over a loop domain."""

    storage: int
    dtype: str
    strides: tuple[int, ...]
    offset: int = 0


@dataclass
class Context:
    """What an emitter needs besides its kernel: buffers, where they live, the scratch area."""

    program: KernelProgram
    storage: Callable[[int], int]
    scratch: int  # storage slot of the per-executable scratch area
    blas: int  # the BLAS's integer width in bits (blas.py), 0: no BLAS
    scratch_bytes: int = 0  # the most any kernel needs, grown by the emitters
    private_slots: int = 0  # slots after scratch and staging that kernels asked for (see `reserve`)
    loops: list = field(default_factory=list)  # the natively run loops' bodies (loop.NestedLoop)
    #: (body program, blas, checked) -> its lowering.Lowered: how a loop kernel lowers its body, passed
    #: down by whoever lowers the program (through the IR cache, ircache.lower_cached), so that the
    #: emitters never import the lowering above them
    lower_body: Callable | None = None

    def dtype(self, buffer: int) -> str:
        return self.program.buffers[buffer].dtype

    def reserve(self, n: int) -> list[int]:
        """n new slots for a kernel's own pointers (the runtime fills them; see loop.py)."""
        first = self.scratch + 2 + self.private_slots
        self.private_slots += n
        return list(range(first, first + n))

    def operand(self, view: View, domain: Sequence[int]) -> Operand:
        return Operand(self.storage(view.buffer), self.dtype(view.buffer),
                       broadcast_strides(view.shape, view.strides, domain), view.offset)

    def output(self, k: Kernel, over: Sequence[int] | None = None) -> Operand:
        """The kernel's output, contiguous (over `over`, a domain with the same element order)."""
        shape = self.program.buffers[k.output].shape if over is None else over
        return Operand(self.storage(k.output), self.dtype(k.output), contiguous_strides(shape))


def load(kf: KernelFunction, op: Operand, idx: Sequence[ir.Value]) -> ir.Value:
    t = storage_type(op.dtype)
    return kf.b.load(element(kf.b, kf.base(op.storage), t, op.strides, op.offset, idx), typ=t)


def store(kf: KernelFunction, op: Operand, idx: Sequence[ir.Value], value: ir.Value) -> None:
    """Store `value` as op's dtype (a computed float into a 16-bit float, a truth value into a bool)."""
    t = storage_type(op.dtype)
    if value.type != t:
        value = from_compute(kf.b, value, op.dtype)
    kf.b.store(value, element(kf.b, kf.base(op.storage), t, op.strides, op.offset, idx))


def to_compute(b: ir.IRBuilder, v: ir.Value, dtype: str, ftype: ir.Type) -> ir.Value:
    """A loaded value as the body sees it: floats as the float compute type, integers as themselves, bools
    as i1 (integers compute in integers: int64 in double would round above 2**53)."""
    return convert(b, v, value_type(dtype, ftype))


def value_type(dtype: str, ftype: ir.Type) -> ir.Type:
    """The type a value of `dtype` computes in, where floats compute in `ftype`."""
    return I1 if dtype == "bool" else ftype if is_float(dtype) else storage_type(dtype)


def from_compute(b: ir.IRBuilder, v: ir.Value, dtype: str) -> ir.Value:
    """A computed value as stored in `dtype` (converted as NumPy's astype; bools are bytes)."""
    t = storage_type(dtype)
    if dtype == "bool" and v.type != t:
        return b.zext(convert(b, v, I1), t)
    return convert(b, v, t)


def coalesce(domain: Sequence[int], operands: Sequence[Operand]) -> tuple[tuple[int, ...], list[Operand]]:
    """The same iteration with fewer, longer loops: size-1 axes dropped, and adjacent axes merged where
    every operand steps through them as one (an image's 28x28 pixels become one loop of 784, whose
    vectorized body then runs 98 times instead of 3.5). Zero strides merge with zero strides only."""
    keep = [a for a, d in enumerate(domain) if d != 1]
    dims = [domain[a] for a in keep]
    strides = [[op.strides[a] for a in keep] for op in operands]
    for i in range(len(dims) - 2, -1, -1):
        if all(st[i] == st[i + 1] * dims[i + 1] for st in strides):
            dims[i] *= dims.pop(i + 1)
            for st in strides:
                st[i] = st.pop(i + 1)
    return tuple(dims), [dataclasses.replace(op, strides=tuple(st)) for op, st in zip(operands, strides)]


def map_loop(kf: KernelFunction, domain: Sequence[int], srcs: Sequence[Operand], dst: Operand,
             compute: Callable[[list[ir.Value]], ir.Value]) -> None:
    """dst[i] = compute(src[i] for each src) over the domain (row-major, innermost contiguous)."""
    domain, (*srcs, dst) = coalesce(domain, [*srcs, dst])
    with kf.parallel(domain) as idx:
        store(kf, dst, idx, compute([load(kf, s, idx) for s in srcs]))


#: dtypes with values float32 cannot hold: a cast of them to a 16-bit float computes in double
_WIDER_THAN_FLOAT32 = ("float64", "int32", "int64", "uint32", "uint64")


def body_compute(kf: KernelFunction, symbols: Sequence[sp.Symbol], srcs: Sequence[Operand], k: Kernel,
                 out_dtype: str) -> Callable[[list[ir.Value]], ir.Value]:
    """The kernel's SymPy body (with its lets) as a `map_loop` compute function."""
    ftype = compute_type(out_dtype)  # the type float values compute in
    if is_half(out_dtype) and any(op.dtype in _WIDER_THAN_FLOAT32 for op in srcs):
        ftype = F64  # a cast to a 16-bit float rounds once, from the double (float32 would round twice)

    def compute(raws: list[ir.Value]) -> ir.Value:
        env = {s: to_compute(kf.b, v, op.dtype, ftype) for s, v, op in zip(symbols, raws, srcs)}
        printer = kf.printer(kf.b, ftype, env)
        printer.bind(k.lets)
        return from_compute(kf.b, printer.emit_as(k.body, value_type(out_dtype, ftype)), out_dtype)
    return compute


def identity(dtype_in: str, dtype_out: str) -> Callable:
    if dtype_in != dtype_out:
        raise Unsupported(f"copy from {dtype_in} to {dtype_out}")
    return lambda raws: raws[0]


class Scratch:
    """One kernel's parts of the scratch area, handed out in order (each cache-line aligned);
    grows `ctx.scratch_bytes` to the most any kernel takes."""

    def __init__(self, ctx: Context):
        self.ctx, self.used = ctx, 0

    def take(self, shape: Sequence[int], dtype: str) -> int:
        """A part for an array of `shape` and `dtype`: its offset in elements of that dtype."""
        item = np.dtype(dtype).itemsize
        at = self.used
        self.used += aligned(int(np.prod(shape, dtype=np.int64)) * item)
        self.ctx.scratch_bytes = max(self.ctx.scratch_bytes, self.used)
        return at // item

    def dense(self, kf: KernelFunction, view: View) -> Operand:
        """The view as a contiguous operand: itself when dense, else copied here."""
        op = self.ctx.operand(view, view.shape)
        if view.is_dense():
            return Operand(op.storage, op.dtype, contiguous_strides(view.shape), view.offset)
        dst = Operand(self.ctx.scratch, op.dtype, contiguous_strides(view.shape), self.take(view.shape, op.dtype))
        emit_copy(kf, view.shape, op, dst)
        return dst


def alloca(b: ir.IRBuilder, t: ir.Type) -> ir.Value:
    """A stack slot in the entry block, where mem2reg turns it into registers."""
    here = b.block
    b.position_at_start(b.function.entry_basic_block)
    slot = b.alloca(t)
    b.position_at_end(here)
    return slot


def merge(ndim: int, outer: Sequence[int], outer_idx: Sequence[ir.Value], inner: Sequence[int],
          inner_idx: Sequence[ir.Value]) -> list[ir.Value]:
    idx: list[ir.Value] = [None] * ndim  # type: ignore[list-item]
    for a, i in zip(outer, outer_idx):
        idx[a] = i
    for a, i in zip(inner, inner_idx):
        idx[a] = i
    return idx


def reduced_output(ctx: Context, k: Kernel, domain: Sequence[int], axes: Sequence[int]) -> Operand:
    """The output of a reduction, addressed by domain indices (reduced axes have stride 0)."""
    kept = tuple(1 if i in axes else d for i, d in enumerate(domain))
    strides = tuple(0 if i in axes else s for i, s in enumerate(contiguous_strides(kept)))
    return Operand(ctx.storage(k.output), ctx.dtype(k.output), strides)


# -- elementwise and copies ------------------------------------------------------------

@EMITTERS.register(*ELEMENTWISE)
def emit_elementwise(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    domain = ctx.program.buffers[k.output].shape
    srcs = [ctx.operand(v, domain) for v in k.inputs]
    out = ctx.output(k)
    map_loop(kf, domain, srcs, out, body_compute(kf, fused.input_symbols(len(srcs)), srcs, k, out.dtype))


@EMITTERS.register(shape.Reshape)
def emit_reshape(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    """A reshape of a non-dense view: walk the view row-major, write the output in that order."""
    (v,) = k.inputs
    src = ctx.operand(v, v.shape)
    emit_copy(kf, v.shape, src, ctx.output(k, v.shape))


@EMITTERS.register(shape.Concatenate)
def emit_concatenate(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    axis = k.node.op.axis
    out = ctx.output(k)
    start = 0
    for v in k.inputs:
        dst = Operand(out.storage, out.dtype, out.strides, start * out.strides[axis])
        src = ctx.operand(v, v.shape)
        emit_copy(kf, v.shape, src, dst)
        start += v.shape[axis]


def fill_zero(kf: KernelFunction, out: Operand, shape: Sequence[int]) -> None:
    zero = ir.Constant(storage_type(out.dtype), 0 if not out.dtype.startswith("float") else 0.0)
    map_loop(kf, shape, [], out, lambda raws: zero)


@EMITTERS.register(index.ScatterSlice)
def emit_scatter_slice(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    """Zeros, then g copied into the region `Slice(key)` would read (the view math of the scheduler)."""
    g = k.inputs[0]
    shape = ctx.program.buffers[k.output].shape
    out = ctx.output(k)
    fill_zero(kf, out, shape)
    region = view_of(SimpleNamespace(op=Slice(k.node.op.key), ndim=len(g.shape)), View.contiguous(k.output, shape))
    dst = Operand(out.storage, out.dtype, region.strides, region.offset)
    src = ctx.operand(g, region.shape)
    emit_copy(kf, region.shape, src, dst)


# -- reductions --------------------------------------------------------------------------

#: the two partial results a monoid's `combine` is printed over
_LEFT, _RIGHT = sp.symbols("acc item")
#: the combines whose float instruction may be reassociated (a sum's, a product's)
_REASSOCIABLE = (_LEFT + _RIGHT, _LEFT * _RIGHT)


def combine(kf: KernelFunction, monoid: type[Monoid], acc: ir.Value, x: ir.Value) -> ir.Value:
    """acc (+) x: the monoid's `combine` printed as scalar code, in the accumulator's type. A float
    combine that is a + b or a * b is marked reassociable (the monoid is associative), so a contiguous
    inner loop vectorizes into partial accumulators; they run in double for float32 data
    (`Monoid.accumulator`), which keeps them more accurate than NumPy's pairwise float32 sums. Integers
    wrap (two's complement, as NumPy's); bools are bytes 0/1."""
    expr = monoid.combine(_LEFT, _RIGHT)
    printer = kf.printer(kf.b, F64 if is_int(acc.type) else acc.type, {_LEFT: acc, _RIGHT: x})
    out = printer.emit_as(expr, acc.type)
    if expr in _REASSOCIABLE and not is_int(acc.type):
        out.flags.append("reassoc")
    return out


def start(monoid: type[Monoid], dtype: str, acc_type: ir.Type) -> ir.Constant:
    """Where an accumulator of a `dtype` reduction starts: the monoid's identity."""
    return constant(acc_type, monoid.identity(dtype))


@EMITTERS.register(reduce.Monoid, fused.FusedReduce)
def emit_reduce(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    op = k.node.op
    monoid = fused.monoid_of(op)
    if monoid is None:
        raise Unsupported(f"{type(op).__name__} is a reduce kernel that folds with no monoid")
    domain = k.domain
    srcs = [ctx.operand(v, domain) for v in k.inputs]
    out = reduced_output(ctx, k, domain, tuple(op.axes))
    # the output's zero strides mark the reduced axes, so merging never mixes reduced and kept axes
    domain, (*srcs, out) = coalesce(domain, [*srcs, out])
    axes = tuple(i for i, st in enumerate(out.strides) if st == 0)
    outer = [i for i in range(len(domain)) if i not in axes]
    acc_dtype = monoid.accumulator(out.dtype)
    acc_type = storage_type(acc_dtype)
    first = start(monoid, out.dtype, acc_type)
    b = kf.b
    compute = body_compute(kf, fused.input_symbols(len(srcs)), srcs, k, acc_dtype)
    if kf.serial and axes and len(domain) - 1 not in axes:
        return _reduce_in_rows(ctx, kf, monoid, domain, axes, srcs, out, acc_dtype, first, compute)
    acc = alloca(b, acc_type)
    with kf.parallel([domain[a] for a in outer]) as oidx:
        b.store(first, acc)
        with nest(b, [domain[a] for a in axes]) as iidx:
            idx = merge(len(domain), outer, oidx, axes, iidx)
            x = compute([load(kf, s, idx) for s in srcs])
            b.store(combine(kf, monoid, b.load(acc, typ=acc_type), x), acc)
        full = merge(len(domain), outer, oidx, axes, [ir.Constant(I64, 0)] * len(axes))
        store(kf, out, full, from_compute(b, b.load(acc, typ=acc_type), out.dtype))


def _reduce_in_rows(ctx: Context, kf: KernelFunction, monoid: type[Monoid], domain: Sequence[int], axes: Sequence[int],
                    srcs: Sequence[Operand], out: Operand, acc_dtype: str, first: ir.Constant,
                    compute: Callable) -> None:
    """A reduction that keeps the innermost axis (a bias gradient: sum over the batch) walks the input in
    memory order, combining each row into a row of accumulators in scratch: the inner loop is contiguous
    and vectorizes, and each output still combines its items in the same order as one-at-a-time."""
    b = kf.b
    kept = [1 if i in axes else d for i, d in enumerate(domain)]
    accs = Operand(ctx.scratch, acc_dtype, tuple(0 if i in axes else s for i, s in enumerate(contiguous_strides(kept))),
                   Scratch(ctx).take(kept, acc_dtype))
    with nest(b, kept) as idx:
        store(kf, accs, idx, first)
    with nest(b, domain) as idx:
        x = compute([load(kf, s, idx) for s in srcs])
        store(kf, accs, idx, combine(kf, monoid, load(kf, accs, idx), x))
    with nest(b, kept) as idx:
        store(kf, out, idx, from_compute(b, load(kf, accs, idx), out.dtype))


@EMITTERS.register(reduce.ArgExtremum)
def emit_argextremum(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    """First index of the max (min), comparing values in their own type (bools as 0/1); a NaN wins at its
    first occurrence, like np.argmax."""
    op = k.node.op
    (v,) = k.inputs
    (axis,) = op.axes
    domain = v.shape
    outer = [i for i in range(len(domain)) if i != axis]
    src = ctx.operand(v, domain)
    out = reduced_output(ctx, k, domain, (axis,))
    t = compute_type(src.dtype) if is_float(src.dtype) else storage_type(src.dtype)  # 16-bit floats: in float32
    b = kf.b
    best, where = alloca(b, t), alloca(b, I64)
    better = ">" if issubclass(op.extremum, reduce.Max) else "<"
    with kf.parallel([domain[a] for a in outer]) as oidx:
        b.store(constant(t, op.extremum.identity(src.dtype)), best)
        b.store(ir.Constant(I64, 0), where)
        with loop(b, domain[axis]) as i:
            x = convert(b, load(kf, src, merge(len(domain), outer, oidx, (axis,), [i])), t)
            old = b.load(best, typ=t)
            if is_int(t):  # bools are bytes 0/1: signed order is theirs too
                take = b.icmp_unsigned(better, x, old) if is_unsigned(t) else b.icmp_signed(better, x, old)
            else:
                nan_first = b.and_(b.fcmp_unordered("uno", x, x), b.fcmp_ordered("ord", old, old))
                take = b.or_(b.fcmp_ordered(better, x, old), nan_first)
            b.store(b.select(take, x, old), best)
            b.store(b.select(take, i, b.load(where, typ=I64)), where)
        full = merge(len(domain), outer, oidx, (axis,), [ir.Constant(I64, 0)])
        store(kf, out, full, b.load(where, typ=I64))


# -- softmax family ----------------------------------------------------------------------

#: the ops normalized over rows without overflow: the max, the sum of exp(x - max), then each op's result
SOFTMAX_FAMILY = (reduce.Softmax, reduce.LogSumExp, reduce.SoftmaxCrossEntropy)


def softmax_axes(op: object) -> tuple[int, ...]:
    """The axes a softmax-family op normalizes over: logsumexp's reduced axes, the others' one axis."""
    return tuple(op.axes) if isinstance(op, reduce.LogSumExp) else (op.axis,)


class SoftmaxRows:
    """The part the softmax family shares: for each row (a position of the kept axes) the max over the
    axes, then the sum of exp(x - max) in double. Each op's emitter passes `emit` the step that writes
    its result from the row's `top`, `denom` and `log_denom`.

    Only the row accumulators (the max, the sums) are marked reassociable, so each row loop vectorizes
    into lanes of partial results combined at its end; every element's own arithmetic is unchanged. The
    max is `maxnum` (a NaN does not win it), which cannot hide a NaN: the NaN's exp(x - max) makes the
    sum, and with it every result of the row, NaN, as NumPy's."""

    def __init__(self, ctx: Context, k: Kernel, kf: KernelFunction):
        self.kf, self.b = kf, kf.b
        self.domain = k.inputs[0].shape
        self.axes = softmax_axes(k.node.op)
        self.outer = [i for i in range(len(self.domain)) if i not in self.axes]
        self.src = ctx.operand(k.inputs[0], self.domain)
        self.ftype = compute_type(ctx.dtype(k.output))
        self.p = kf.printer(self.b, self.ftype, {})
        self.oidx: list[ir.Value] = []
        self.top = self.denom = self.log_denom = None

    def value(self, idx: list[ir.Value], operand: Operand | None = None) -> ir.Value:
        """An element of x (or of `operand`) in the compute type."""
        operand = operand or self.src
        return to_compute(self.b, load(self.kf, operand, idx), operand.dtype, self.ftype)

    def over_axes(self, body: Callable[[list[ir.Value]], None]) -> None:
        """`body(index)` for every element of the current row."""
        with nest(self.b, [self.domain[a] for a in self.axes]) as iidx:
            body(merge(len(self.domain), self.outer, self.oidx, self.axes, iidx))

    def fold(self, first: ir.Constant, step: Callable[[ir.Value, list[ir.Value]], ir.Value]) -> ir.Value:
        """acc = step(acc, index) over the row from `first`; `step` marks its combine reassociable."""
        b, acc = self.b, alloca(self.b, first.type)
        b.store(first, acc)
        self.over_axes(lambda idx: b.store(step(b.load(acc, typ=first.type), idx), acc))
        return b.load(acc, typ=first.type)

    def accumulate(self, term: Callable[[list[ir.Value]], ir.Value]) -> ir.Value:
        """The sum over the row of `term(index)`, accumulated in double."""
        def add(total: ir.Value, idx: list[ir.Value]) -> ir.Value:
            t = term(idx)
            return self.b.fadd(total, self.b.fpext(t, F64) if self.ftype != F64 else t, flags=["reassoc"])
        return self.fold(ir.Constant(F64, 0.0), add)

    def row_max(self) -> ir.Value:
        """The row's largest non-NaN element (-inf for a row of -inf or NaN only)."""
        b, t = self.b, self.ftype
        maxnum = intrinsic(b.module, f"llvm.maxnum.{self.p.suffix}", t, [t, t])

        def larger(m: ir.Value, idx: list[ir.Value]) -> ir.Value:
            return b.call(maxnum, [m, self.value(idx)], fastmath=["reassoc"])
        return self.fold(self.p.const(-np.inf), larger)

    def store_reduced(self, out: Operand, value: ir.Value) -> None:
        """Write the row's one result into a reduction's output."""
        zeros = [ir.Constant(I64, 0)] * len(self.axes)
        store(self.kf, out, merge(len(self.domain), self.outer, self.oidx, self.axes, zeros), value)

    def scratch_row(self, ctx: Context) -> Operand | None:
        """Where a reduction (logsumexp, cross-entropy) keeps a row's exponentials: a row of scratch, which
        the rows reuse one after another; None where rows run at once (a GPU thread each)."""
        if not self.kf.serial:
            return None
        row = [self.domain[a] for a in self.axes]
        dtype = "float32" if self.ftype == F32 else "float64"
        inner = iter(contiguous_strides(row))
        strides = tuple(next(inner) if a in self.axes else 0 for a in range(len(self.domain)))
        return Operand(ctx.scratch, dtype, strides, Scratch(ctx).take(row, dtype))

    def exps_in(self, ctx: Context, out: Operand) -> Operand | None:
        """Where softmax keeps the exponentials: in its output, unless that is a 16-bit float (they
        stay float32 in a scratch row, so each result rounds once)."""
        return self.scratch_row(ctx) if is_half(out.dtype) else out

    def emit(self, finish: Callable[[], None], finite_shift: bool = False,
             exps: Operand | None = None) -> None:
        """The row loop: max, sum of exponentials, then `finish()`. With `finite_shift` a row whose max is
        not finite (all -inf, or an inf) subtracts 0 instead, so it keeps its value (logsumexp).

        With `exps` (an output of x's shape, or `scratch_row`) the exponentials are stored there in a
        loop of their own, then summed: the exp loop runs on vectors as wide as the data's, which a loop
        that also adds into double accumulators would halve for float32 (softmax then scales them in
        place). Without, one loop computes and adds them."""
        b, p = self.b, self.p
        with self.kf.parallel([self.domain[a] for a in self.outer]) as self.oidx:
            top = self.row_max()
            if finite_shift:
                top = b.select(b.fcmp_ordered("!=", p.call("fabs", top), p.const(np.inf)), top, p.const(0))
            self.top = top

            def exp_of(idx: list[ir.Value]) -> ir.Value:
                return p.math("exp", b.fsub(self.value(idx), top))
            if exps is None:
                denom = self.accumulate(exp_of)
            else:
                self.over_axes(lambda idx: store(self.kf, exps, idx, exp_of(idx)))
                denom = self.accumulate(lambda idx: self.value(idx, exps))
            self.denom = b.fptrunc(denom, self.ftype) if self.ftype != F64 else denom
            self.log_denom = p.math("log", self.denom)
            finish()


@EMITTERS.register(reduce.Softmax)
def emit_softmax(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    """exp(x - max) / sum(exp(x - max)) along the axis: each exp is computed once, into the output, and
    divided there (the output never shares bytes with the input: one kernel's output and inputs are
    live together, so the memory plan keeps them apart)."""
    rows, out, b = SoftmaxRows(ctx, k, kf), ctx.output(k), kf.b

    exps = rows.exps_in(ctx, out)

    def write(idx: list[ir.Value]) -> None:
        e = rows.value(idx, exps) if exps is not None else rows.p.math("exp", b.fsub(rows.value(idx), rows.top))
        store(kf, out, idx, b.fdiv(e, rows.denom))
    rows.emit(lambda: rows.over_axes(write), exps=exps)


@EMITTERS.register(reduce.LogSoftmax)
def emit_log_softmax(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    """x - max - log(sum(exp(x - max))) along the axis (the output holds the exps until it is written)."""
    rows, out, b = SoftmaxRows(ctx, k, kf), ctx.output(k), kf.b

    def write(idx: list[ir.Value]) -> None:
        store(kf, out, idx, b.fsub(b.fsub(rows.value(idx), rows.top), rows.log_denom))
    rows.emit(lambda: rows.over_axes(write), exps=rows.exps_in(ctx, out))


@EMITTERS.register(reduce.LogSumExp)
def emit_logsumexp(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    """log(sum(exp(x - max))) + max over the axes (a row without a finite max shifted by 0)."""
    rows, b = SoftmaxRows(ctx, k, kf), kf.b
    out = reduced_output(ctx, k, rows.domain, rows.axes)
    rows.emit(lambda: rows.store_reduced(out, b.fadd(rows.log_denom, rows.top)), finite_shift=True,
              exps=rows.scratch_row(ctx))


@EMITTERS.register(reduce.SoftmaxCrossEntropy)
def emit_softmax_cross_entropy(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    """-sum(t * log_softmax(x)) along the axis, accumulated in double."""
    rows, b = SoftmaxRows(ctx, k, kf), kf.b
    t = ctx.operand(k.inputs[1], rows.domain)
    out = reduced_output(ctx, k, rows.domain, rows.axes)

    def term(idx: list[ir.Value]) -> ir.Value:
        return b.fmul(rows.value(idx, t), b.fsub(b.fsub(rows.value(idx), rows.top), rows.log_denom))

    def finish() -> None:
        rows.store_reduced(out, from_compute(b, b.fneg(rows.accumulate(term)), out.dtype))
    rows.emit(finish, exps=rows.scratch_row(ctx))


# -- gather and scatter ---------------------------------------------------------------------

def _checked_index(kf: KernelFunction, raw: ir.Value, size: int, wrap: bool = True) -> ir.Value:
    """An index wrapped like NumPy's (-1 is the last) if `wrap`, else one in [0, size) (a class label);
    out of range leaves the kernel (`kf.fail`)."""
    b = kf.b
    i = convert(b, raw, I64)  # same-width unsigned indices keep their bits: huge ones fail below
    if wrap and not is_unsigned(raw.type):
        i = b.select(b.icmp_signed("<", i, ir.Constant(I64, 0)), b.add(i, ir.Constant(I64, size)), i)
    bad = b.icmp_unsigned(">=", i, ir.Constant(I64, size))
    with b.if_then(bad, likely=False):
        kf.fail()
    return i


def gather_indices(ctx: Context, kf: KernelFunction, idx: list[ir.Value], x_shape: Sequence[int],
                    axis: int, index_view: View, wrap: bool = True) -> list[ir.Value]:
    """Indices into x for output (or g) position `idx`: the gathered axis comes from the index array,
    each checked (and wrapped like NumPy's if `wrap`); shared by the CPU and GPU gathers and scatters."""
    n_idx = len(index_view.shape)
    ind = ctx.operand(index_view, index_view.shape)
    where = _checked_index(kf, load(kf, ind, idx[axis:axis + n_idx]), x_shape[axis], wrap)
    return idx[:axis] + [where] + idx[axis + n_idx:]


@EMITTERS.register(index.Take)
def emit_take(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    x, index_view = k.inputs
    axis = k.node.op.axis
    shape = ctx.program.buffers[k.output].shape
    src, out = ctx.operand(x, x.shape), ctx.output(k)
    wrap = k.node.op.labels_of is None
    if 0 in shape:  # no element to copy, yet every index must be in range (as NumPy's take checks them)
        ind = ctx.operand(index_view, index_view.shape)
        with nest(kf.b, index_view.shape) as idx:
            _checked_index(kf, load(kf, ind, idx), x.shape[axis], wrap)
        return
    with kf.parallel(shape) as idx:
        at = gather_indices(ctx, kf, idx, x.shape, axis, index_view, wrap=wrap)
        store(kf, out, idx, load(kf, src, at))


@EMITTERS.register(index.ScatterAdd)
def emit_scatter_add(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    g, index_view, _ = k.inputs
    axis = k.node.op.axis
    shape = ctx.program.buffers[k.output].shape
    out = ctx.output(k)
    if out.dtype not in ("float32", "float64"):
        raise Unsupported(f"scatter_add of {out.dtype}")
    fill_zero(kf, out, shape)
    src = ctx.operand(g, g.shape)
    with nest(kf.b, g.shape) as idx:
        at = gather_indices(ctx, kf, idx, shape, axis, index_view)
        t = storage_type(out.dtype)
        ptr = element(kf.b, kf.base(out.storage), t, out.strides, 0, at)
        kf.b.store(kf.b.fadd(kf.b.load(ptr, typ=t), load(kf, src, idx)), ptr)


def emit_copy(kf: KernelFunction, shape: Sequence[int], src: Operand, dst: Operand) -> None:
    """dst = src over `shape`. On a CPU, rows contiguous on both sides move with memcpy: as fast as
    a vectorized loop, and code generation for many unrolled copy loops takes seconds (the operands
    are distinct storages: kernels never copy within one)."""
    if src.dtype != dst.dtype:
        raise Unsupported(f"copy from {src.dtype} to {dst.dtype}")
    domain, (s, d) = coalesce(shape, [src, dst])
    if kf.serial and kf.bounds is None and len(domain) >= 2 and min(domain[-2:]) >= TILE and \
            s.strides[-2] == 1 and d.strides[-1] == 1:
        _transpose_tiles(kf, domain, s, d)
        return
    if not (kf.serial and domain and domain[-1] >= MEMCPY_MIN and s.strides[-1] == 1 and d.strides[-1] == 1):
        map_loop(kf, shape, [src], dst, identity(src.dtype, dst.dtype))
        return
    b, t, n = kf.b, storage_type(src.dtype), domain[-1]
    move = intrinsic(b.module, "llvm.memcpy.p0.p0.i64", ir.VoidType(), [PTR, PTR, I64, I1])
    first, last = ir.Constant(I64, 0), ir.Constant(I64, n - 1)
    with nest(b, domain[:-1], unroll=False) as idx:
        ends = []
        for op in (d, s):
            ends.append(element(b, kf.base(op.storage), t, op.strides, op.offset, list(idx) + [first]))
            if kf.bounds is not None:  # the checked build checks the row's last element too
                element(b, kf.base(op.storage), t, op.strides, op.offset, list(idx) + [last])
        b.call(move, ends + [ir.Constant(I64, n * np.dtype(src.dtype).itemsize), ir.Constant(I1, 0)])


#: rows shorter than this are copied by a loop
MEMCPY_MIN = 16


#: a transposing copy moves TILE x TILE blocks through vector registers
TILE = 8


def _transpose_tiles(kf: KernelFunction, domain: tuple[int, ...], src: Operand, dst: Operand) -> None:
    """dst = src where src runs contiguously down the columns and dst along the rows (a product's
    transposed result, a transposed weight made dense). Element by element, one side is a strided
    gather; here each TILE x TILE block is TILE vector loads of src's columns, log2(TILE) rounds of
    shuffles that swap ever smaller off-diagonal blocks, and TILE vector stores of dst's rows. The
    edges that do not fill a block are copied element by element."""
    b, t = kf.b, storage_type(src.dtype)
    vec, align = ir.VectorType(t, TILE), np.dtype(src.dtype).itemsize
    lead, (rows, cols) = domain[:-2], domain[-2:]
    full_r, full_c = rows // TILE * TILE, cols // TILE * TILE
    with nest(b, lead, unroll=False) as idx:
        with loop(b, full_r // TILE, unroll=False) as bi:
            i0 = b.mul(bi, ir.Constant(I64, TILE))
            with loop(b, full_c // TILE, unroll=False) as bj:
                j0 = b.mul(bj, ir.Constant(I64, TILE))
                at = [b.add(j0, ir.Constant(I64, j)) for j in range(TILE)]
                block = [b.load(element(b, kf.base(src.storage), t, src.strides, src.offset, idx + [i0, j]),
                                typ=vec, align=align) for j in at]
                d = TILE // 2
                while d:  # swap the off-diagonal d x d blocks of every 2d x 2d block
                    low, high = _swap_masks(d)
                    for r in range(TILE):
                        if not r & d:
                            block[r], block[r + d] = (b.shuffle_vector(block[r], block[r + d], low),
                                                      b.shuffle_vector(block[r], block[r + d], high))
                    d //= 2
                for i, row in enumerate(block):
                    ptr = element(b, kf.base(dst.storage), t, dst.strides, dst.offset,
                                  idx + [b.add(i0, ir.Constant(I64, i)), j0])
                    b.store(row, ptr, align=align)
    copy = identity(src.dtype, dst.dtype)
    for (r0, nr), (c0, nc) in (((0, rows), (full_c, cols - full_c)), ((full_r, rows - full_r), (0, full_c))):
        if nr and nc:
            part = [dataclasses.replace(op, offset=op.offset + r0 * op.strides[-2] + c0 * op.strides[-1])
                    for op in (src, dst)]
            map_loop(kf, lead + (nr, nc), part[:1], part[1], copy)


def _swap_masks(d: int) -> tuple[ir.Constant, ir.Constant]:
    """Shuffle masks of rows r and r + d that swap their off-diagonal d x d blocks (indices of the
    second vector start at TILE)."""
    mask = ir.VectorType(I32, TILE)
    return (ir.Constant(mask, [TILE + c - d if c & d else c for c in range(TILE)]),
            ir.Constant(mask, [TILE + c if c & d else c + d for c in range(TILE)]))
