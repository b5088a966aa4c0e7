"""`scan` run natively: a loop in generated code that calls the body's own compiled `run` per step.

The body is scheduled as a program of its own (graphc.schedule.nested) and
compiled to a separate machine with its own arena; its slot table is the
handshake. The loop kernel gets two private slots, the body's `run` address
and its slot table, which the runtime fills (runtime.py). Before the loop it
points the constants' slots at dense copies of the constants; at each step it
points the carry slot at the previous row (or the initial carry), each
sequence slot at row t, and the output slot at the row it produces, then calls
the body. A body writes its output after all its kernels have read their
inputs, so with `last=True` the carry is updated in the output buffer itself.
Bodies with kernels that need the NumPy callback keep the whole loop on the
callback, where `Scan.numpy` interprets it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np
from llvmlite import ir

from graphc.schedule import Kernel, KernelProgram, View
from graphc.schedule.nested import body_program

from .codegen import I32, I64, PTR, KernelFunction, Unsupported, contiguous_strides, element, loop, storage_type
from .kernels import Context, Operand, emit_copy

ALIGN = 64


@dataclass
class NestedLoop:
    """A loop kernel's body: its program and IR, and the private slots the runtime fills."""

    fn_slot: int
    table_slot: int
    program: KernelProgram = field(repr=False)
    lowered: object = field(repr=False)  # lowering.Lowered of the body


def private_slots(ctx: Context, k: Kernel) -> list[int]:
    """Extra storages a kernel's function takes: a loop's body `run` and slot table."""
    return ctx.reserve(2) if k.kind == "loop" else []


def emit_loop(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    from .ircache import lower_cached  # a body is lowered like any program (and cached like one)
    op = k.node.op
    init, seqs, consts = op.split(k.inputs)
    if op.length == 0:
        raise Unsupported("a scan of length 0")
    program = body_program(op.body, [init.shape] + [s.shape[1:] for s in seqs] + [c.shape for c in consts])
    sub = lower_cached(program, ctx.blas, kf.bounds is not None)
    if sub.fallbacks:
        raise Unsupported("its body has kernels without native code: " + "; ".join(sub.fallbacks.values()))
    fn_slot, table_slot = kf.storages[-2:]
    ctx.loops.append(NestedLoop(fn_slot, table_slot, program, sub))

    b = kf.b
    table = kf.base(table_slot)
    body_run = b.inttoptr(b.ptrtoint(kf.base(fn_slot), I64), ir.FunctionType(I32, [PTR, PTR]).as_pointer())
    dense = _Dense(ctx, kf)

    def point(slot: int, ptr: ir.Value) -> None:
        b.store(ptr, b.gep(table, [ir.Constant(I64, slot)], source_etype=PTR))

    carry_slot, step_slots, const_slots = program.inputs[0], program.inputs[1:1 + len(seqs)], \
        program.inputs[1 + len(seqs):]
    for slot, c in zip(const_slots, consts):
        point(slot, dense.whole(c))
    init_ptr = dense.whole(init)
    rows = [dense.rows(s) for s in seqs]
    out = ctx.output(k)
    out_t = storage_type(out.dtype)
    row = int(np.prod(init.shape, dtype=np.int64))

    def out_row(t: ir.Value) -> ir.Value:
        return element(b, kf.base(out.storage), out_t, (row,), 0, [t])

    n = op.length
    with loop(b, n) as i:
        t = b.sub(ir.Constant(I64, n - 1), i) if op.reverse else i
        first = b.icmp_signed("==", i, ir.Constant(I64, 0))
        if op.last:
            target = kf.base(out.storage)
            previous = target
        else:
            target = out_row(t)
            before = b.add(t, ir.Constant(I64, 1)) if op.reverse else b.sub(t, ir.Constant(I64, 1))
            previous = out_row(b.select(first, t, before))  # a row that exists, also when unused
        point(carry_slot, b.select(first, init_ptr, previous))
        for slot, at in zip(step_slots, rows):
            point(slot, at(t))
        point(sub.n_buffers, target)
        rc = b.call(body_run, [table, ir.Constant(PTR, None)])
        with b.if_then(b.icmp_signed("!=", rc, ir.Constant(I32, 0)), likely=False):
            b.ret(rc)


class _Dense:
    """Base pointers of operands as dense arrays: the view itself when it is dense, else a copy in scratch."""

    def __init__(self, ctx: Context, kf: KernelFunction):
        self.ctx, self.kf, self.used = ctx, kf, 0

    def whole(self, v: View) -> ir.Value:
        storage, offset = (self.ctx.storage(v.buffer), v.offset) if v.is_dense() else self._copy(v)
        return self._pointer(v, storage, (), offset, [])

    def rows(self, v: View):
        """t -> pointer to row t of a (T, ...) sequence (copied densely first unless its rows are dense)."""
        if View(v.buffer, v.shape[1:], v.strides[1:]).is_dense():
            storage, offset, step = self.ctx.storage(v.buffer), v.offset, v.strides[0]
        else:
            (storage, offset), step = self._copy(v), int(np.prod(v.shape[1:], dtype=np.int64))
        return lambda t: self._pointer(v, storage, (step,), offset, [t])

    def _pointer(self, v: View, storage: int, strides: tuple, offset: int, idx: list) -> ir.Value:
        etype = storage_type(self.ctx.dtype(v.buffer))
        return element(self.kf.b, self.kf.base(storage), etype, strides, offset, idx)

    def _copy(self, v: View) -> tuple[int, int]:
        """(scratch storage, element offset) of a dense copy of v."""
        ctx, dtype = self.ctx, self.ctx.dtype(v.buffer)
        item = np.dtype(dtype).itemsize
        at = self.used // item
        self.used += -(-int(np.prod(v.shape, dtype=np.int64)) * item // ALIGN) * ALIGN
        ctx.scratch_bytes = max(ctx.scratch_bytes, self.used)
        emit_copy(self.kf, v.shape, ctx.operand(v, v.shape), Operand(ctx.scratch, dtype, contiguous_strides(v.shape), at))
        return ctx.scratch, at
