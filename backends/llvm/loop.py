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
the body. A body's kernels may write its output row before others read their
inputs (lowering.py), so with `last=True` the steps alternate between the
output buffer and a scratch copy instead of updating the carry in place.
Bodies with kernels that need the NumPy callback keep the whole loop on the
callback, where `Scan.numpy` interprets it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from llvmlite import ir

from graphc.schedule import Kernel, KernelProgram, View
from graphc.schedule.nested import body_program

from .codegen import I32, I64, PTR, KernelFunction, Unsupported, contiguous_strides, element, loop, storage_type
from .kernels import Context, Operand, Scratch, emit_copy
from .matmul import flip_pays


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
    return _body(k)[0]


def _body(k: Kernel) -> tuple[KernelProgram, set[int]]:
    """The body's program, with the weights that only its flipped products read taken transposed
    (see `flipped_weights`), and those weights' numbers among the constants."""
    init, seqs, consts = k.node.op.split(k.inputs)
    program = body_program(k.node.op.body, [init.shape] + [s.shape[1:] for s in seqs] + [c.shape for c in consts])
    flipped = flipped_weights(program, len(consts))
    first = len(program.inputs) - len(consts)
    return transposed_inputs(program, {program.inputs[first + j] for j in flipped}), set(flipped)


def transposed_inputs(program: KernelProgram, buffers: set[int]) -> KernelProgram:
    """The program with the 2-D input `buffers` stored transposed, (n, k) instead of (k, n): each is
    read whole by its views (`flipped_weights`), which now find element (i, j) at i + j * k."""
    if not buffers:
        return program
    shapes = {b: program.buffers[b].shape for b in buffers}
    bufs = [dataclasses.replace(b, shape=b.shape[::-1]) if b.id in buffers else b for b in program.buffers]

    def view(v: View) -> View:
        return View(v.buffer, v.shape, (1, shapes[v.buffer][0])) if v.buffer in buffers else v
    kernels = [dataclasses.replace(k, inputs=tuple(view(v) for v in k.inputs)) for k in program.kernels]
    return dataclasses.replace(program, buffers=bufs, kernels=kernels)


def flipped_weights(program: KernelProgram, n_consts: int) -> list[int]:
    """The constants (numbered among the constants) read only as the right operand of products that
    run flipped once that operand has its k axis contiguous (matmul.flip_pays): h @ W_hh.T with W_hh
    stored as it is, rather than densified as W_hh.T once per loop and read the slow way round."""
    first = len(program.inputs) - n_consts
    outputs = {v.buffer for v in program.outputs}
    wanted = {b: True for b in program.inputs[first:] if len(program.buffers[b].shape) == 2 and b not in outputs}
    for k in program.kernels:
        for pos, v in enumerate(k.inputs):
            if v.buffer not in wanted:
                continue
            a = k.inputs[0]
            wanted[v.buffer] &= k.kind == "matmul" and pos == 1 and v.shape == program.buffers[v.buffer].shape and \
                v.is_dense() and v.offset == 0 and len(a.shape) == 2 and v.buffer != a.buffer and \
                flip_pays(a.shape[0], v.shape[1], v.shape[0])
    return [j for j, b in enumerate(program.inputs[first:]) if wanted.get(b)]


def emit_loop(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    from .ircache import lower_cached  # a body is lowered like any program (and cached like one)
    op = k.node.op
    init, seqs, consts = op.split(k.inputs)
    if op.length == 0 or 0 in k.node.shape:
        raise Unsupported("a scan with no element to compute")  # (and no row of an empty carry to point at)
    program, flipped = _body(k)
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
    for j, (slot, c) in enumerate(zip(const_slots, consts)):
        if j in flipped:
            c = View(c.buffer, c.shape[::-1], c.strides[::-1], c.offset)  # a 2-D weight, stored transposed
        point(slot, at(scratch.dense(kf, c)))
    init_ptr = at(scratch.dense(kf, init))
    seq_rows = [rows(s) for s in seqs]
    out = ctx.output(k)
    row_shape = init.shape[:-1] + k.node.shape[-1:] if op.body.extra else init.shape
    row = int(np.prod(row_shape, dtype=np.int64))
    carry_copy = Operand(ctx.scratch, out.dtype, contiguous_strides(init.shape), scratch.take(init.shape, out.dtype)) \
        if op.body.extra else None

    spare = Operand(ctx.scratch, out.dtype, (), scratch.take(init.shape, out.dtype)) if op.last else None

    def out_row(t: ir.Value) -> ir.Value:
        return at(out, (row,), (t,))

    n = op.length
    with loop(b, n) as i:
        t = b.sub(ir.Constant(I64, n - 1), i) if op.reverse else i
        first = b.icmp_signed("==", i, ir.Constant(I64, 0))
        if op.last:  # the steps alternate between the output and a scratch copy, ending on the output
            on_out = b.icmp_signed("==", b.and_(b.sub(ir.Constant(I64, n - 1), i), ir.Constant(I64, 1)),
                                   ir.Constant(I64, 0))
            target = b.select(on_out, at(out), at(spare))
            previous = b.select(on_out, at(spare), at(out))
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
