"""`scan` run natively: a loop in generated code that calls the body's own compiled `run` per step.

The body is scheduled as a program of its own (graphc.schedule.nested) and
compiled to a separate machine with its own arena; its slot table is the
handshake. The loop kernel gets two private slots, the body's `run` address
and its slot table, which the runtime fills (runtime.py). Before the loop it
points the constants' slots at dense copies of the constants; at each step it
points the carry slot at the previous row (or the initial carry; a body with
extra output columns gets the carry part of the previous row copied densely
into scratch), each
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
from .kernels import Context, Operand, Scratch, emit_copy


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


def body_of(k: Kernel) -> KernelProgram:
    """The program of a loop kernel's body, for the shapes of the kernel's operands."""
    init, seqs, consts = k.node.op.split(k.inputs)
    return body_program(k.node.op.body, [init.shape] + [s.shape[1:] for s in seqs] + [c.shape for c in consts])


def emit_loop(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    from .ircache import lower_cached  # a body is lowered like any program (and cached like one)
    op = k.node.op
    init, seqs, consts = op.split(k.inputs)
    if op.length == 0:
        raise Unsupported("a scan of length 0")
    program = body_of(k)
    sub = lower_cached(program, ctx.blas, kf.bounds is not None)
    if sub.fallbacks:
        raise Unsupported("its body has kernels without native code: " + "; ".join(sub.fallbacks.values()))
    fn_slot, table_slot = kf.storages[-2:]
    ctx.loops.append(NestedLoop(fn_slot, table_slot, program, sub))

    b = kf.b
    table = kf.base(table_slot)
    body_run = b.inttoptr(b.ptrtoint(kf.base(fn_slot), I64), ir.FunctionType(I32, [PTR, PTR]).as_pointer())
    scratch = Scratch(ctx)

    def point(slot: int, ptr: ir.Value) -> None:
        b.store(ptr, b.gep(table, [ir.Constant(I64, slot)], source_etype=PTR))

    def at(op: Operand, strides: tuple = (), idx: tuple = ()) -> ir.Value:
        return element(b, kf.base(op.storage), storage_type(op.dtype), strides, op.offset, list(idx))

    def rows(v: View):
        """t -> pointer to row t of a (T, ...) sequence (copied densely first unless its rows are dense)."""
        if View(v.buffer, v.shape[1:], v.strides[1:]).is_dense():
            op, step = ctx.operand(v, v.shape), v.strides[0]
        else:
            op, step = scratch.dense(kf, v), int(np.prod(v.shape[1:], dtype=np.int64))
        return lambda t: at(op, (step,), (t,))

    carry_slot, step_slots, const_slots = program.inputs[0], program.inputs[1:1 + len(seqs)], \
        program.inputs[1 + len(seqs):]
    for slot, c in zip(const_slots, consts):
        point(slot, at(scratch.dense(kf, c)))
    init_ptr = at(scratch.dense(kf, init))
    seq_rows = [rows(s) for s in seqs]
    out = ctx.output(k)
    row_shape = init.shape[:-1] + k.node.shape[-1:] if op.body.extra else init.shape
    row = int(np.prod(row_shape, dtype=np.int64))
    carry_copy = Operand(ctx.scratch, out.dtype, contiguous_strides(init.shape), scratch.take(init.shape, out.dtype)) \
        if op.body.extra else None

    def out_row(t: ir.Value) -> ir.Value:
        return at(out, (row,), (t,))

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
            previous_t = b.select(first, t, before)  # a row that exists, also when unused
            if carry_copy is None:
                previous = out_row(previous_t)
            else:
                offset = b.add(ir.Constant(I64, out.offset), b.mul(previous_t, ir.Constant(I64, row)))
                emit_copy(kf, init.shape, Operand(out.storage, out.dtype, contiguous_strides(row_shape), offset),
                          carry_copy)
                previous = at(carry_copy)
        point(carry_slot, b.select(first, init_ptr, previous))
        for slot, row_at in zip(step_slots, seq_rows):
            point(slot, row_at(t))
        point(sub.n_buffers, target)
        rc = b.call(body_run, [table, ir.Constant(PTR, None)])
        with b.if_then(b.icmp_signed("!=", rc, ir.Constant(I32, 0)), likely=False):
            b.ret(rc)
