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
callback, where `Scan.numpy` interprets it. The body is lowered by the
`Context.lower_body` its program's lowering passes down (the IR cache's
`lower_cached`), so this module never imports the lowering above it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from llvmlite import ir

from graphc.control.loop import Scan
from graphc.ops.fused import MatMulEpilogue
from graphc.ops.linalg import MatMul
from graphc.schedule import Kernel, KernelProgram, View
from graphc.schedule.nested import body_program

from .codegen import I32, I64, PTR, KernelFunction, Unsupported, contiguous_strides, element, loop, storage_type
from .kernels import Context, Operand, Scratch, emit_copy
from .matmul import flip_pays
from .registry import EMITTERS


@dataclass
class NestedLoop:
    """A loop kernel's body: its program and IR, and the private slots the runtime fills."""

    fn_slot: int
    table_slot: int
    program: KernelProgram = field(repr=False)
    lowered: object = field(repr=False)  # lowering.Lowered of the body


def private_slots(ctx: Context, k: Kernel) -> list[int]:
    """Extra storages a kernel's function takes: a loop's body `run` and slot table."""
    return ctx.reserve(2) if isinstance(k.node.op, Scan) else []


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
            wanted[v.buffer] &= isinstance(k.node.op, (MatMul, MatMulEpilogue)) and pos == 1 and \
                v.shape == program.buffers[v.buffer].shape and v.is_dense() and v.offset == 0 and \
                len(a.shape) == 2 and v.buffer != a.buffer and flip_pays(a.shape[0], v.shape[1], v.shape[0])
    return [j for j, b in enumerate(program.inputs[first:]) if wanted.get(b)]


@EMITTERS.register(Scan)
def emit_loop(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    """The scan as a loop that points the body's slot table at this step's rows and calls its `run`."""
    op = k.node.op
    init, seqs, consts = op.split(k.inputs)
    if op.length == 0 or 0 in k.node.shape:
        raise Unsupported("a scan with no element to compute")  # (and no row of an empty carry to point at)
    program, flipped = _body(k)
    sub = ctx.lower_body(program, ctx.blas, kf.bounds is not None)
    if sub.fallbacks:
        raise Unsupported("its body has kernels without native code: " + "; ".join(sub.fallbacks.values()))
    fn_slot, table_slot = kf.storages[-2:]
    ctx.loops.append(NestedLoop(fn_slot, table_slot, program, sub))

    body = BodyCall(ctx, kf, fn_slot, table_slot)
    carry_slot, step_slots, const_slots = program.inputs[0], program.inputs[1:1 + len(seqs)], \
        program.inputs[1 + len(seqs):]
    body.point_constants(const_slots, consts, flipped)
    init_ptr = body.at(body.scratch.dense(kf, init))
    seq_rows = [body.rows(s) for s in seqs]
    rows = ScanRows.of(ctx, k, body.scratch)
    b, n = kf.b, op.length
    with loop(b, n) as i:
        t = b.sub(ir.Constant(I64, n - 1), i) if op.reverse else i
        first = b.icmp_signed("==", i, ir.Constant(I64, 0))
        target, previous = rows.alternating(body, i, n) if op.last else rows.in_order(kf, body, t, first, op.reverse)
        body.point(carry_slot, b.select(first, init_ptr, previous))
        for slot, row_at in zip(step_slots, seq_rows):
            body.point(slot, row_at(t))
        body.point(sub.n_buffers, target)
        body.call()


class BodyCall:
    """The loop kernel's side of the handshake with a body: the body's slot table and its `run`, both
    read from the kernel's private slots, and the pointers each step writes into that table."""

    def __init__(self, ctx: Context, kf: KernelFunction, fn_slot: int, table_slot: int):
        self.ctx, self.kf, self.b = ctx, kf, kf.b
        self.table = kf.base(table_slot)
        self.run = self.b.inttoptr(self.b.ptrtoint(kf.base(fn_slot), I64),
                                   ir.FunctionType(I32, [PTR, PTR]).as_pointer())
        self.scratch = Scratch(ctx)

    def point(self, slot: int, ptr: ir.Value) -> None:
        """Body slot `slot` := ptr."""
        self.b.store(ptr, self.b.gep(self.table, [ir.Constant(I64, slot)], source_etype=PTR))

    def at(self, op: Operand, strides: tuple = (), idx: tuple = ()) -> ir.Value:
        """The address of `op`'s element `idx` (over `strides`; its start by default)."""
        return element(self.b, self.kf.base(op.storage), storage_type(op.dtype), strides, op.offset, list(idx))

    def point_constants(self, slots: list[int], consts: list[View], flipped: set[int]) -> None:
        """Point the body's constant slots at dense copies of the constants, once before the loop (the
        weights `flipped_weights` chose are read transposed, as the body program stores them)."""
        for j, (slot, c) in enumerate(zip(slots, consts)):
            if j in flipped:
                c = View(c.buffer, c.shape[::-1], c.strides[::-1], c.offset)  # a 2-D weight, stored transposed
            self.point(slot, self.at(self.scratch.dense(self.kf, c)))

    def rows(self, v: View) -> Callable[[ir.Value], ir.Value]:
        """t -> pointer to row t of a (T, ...) sequence (copied densely first unless its rows are dense)."""
        if View(v.buffer, v.shape[1:], v.strides[1:]).is_dense():
            op, step = self.ctx.operand(v, v.shape), v.strides[0]
        else:
            op, step = self.scratch.dense(self.kf, v), int(np.prod(v.shape[1:], dtype=np.int64))
        return lambda t: self.at(op, (step,), (t,))

    def call(self) -> None:
        """Run the body once; a failing body's status leaves the kernel with it."""
        rc = self.b.call(self.run, [self.table, ir.Constant(PTR, None)])
        with self.b.if_then(self.b.icmp_signed("!=", rc, ir.Constant(I32, 0)), likely=False):
            self.b.ret(rc)


@dataclass
class ScanRows:
    """Where a scan's steps write and find the previous carry: the output's rows (`row` elements of
    `row_shape` each); with extra output columns a dense scratch copy of the carry part; with `last` a
    scratch spare that the steps alternate with."""

    out: Operand
    carry_shape: tuple[int, ...]
    row_shape: tuple[int, ...]
    row: int
    carry_copy: Operand | None
    spare: Operand | None

    @classmethod
    def of(cls, ctx: Context, k: Kernel, scratch: Scratch) -> "ScanRows":
        op = k.node.op
        init = op.split(k.inputs)[0]
        out = ctx.output(k)
        row_shape = init.shape[:-1] + k.node.shape[-1:] if op.body.extra else init.shape
        carry_copy = Operand(ctx.scratch, out.dtype, contiguous_strides(init.shape),
                             scratch.take(init.shape, out.dtype)) if op.body.extra else None
        spare = Operand(ctx.scratch, out.dtype, (), scratch.take(init.shape, out.dtype)) if op.last else None
        return cls(out, init.shape, row_shape, int(np.prod(row_shape, dtype=np.int64)), carry_copy, spare)

    def alternating(self, body: BodyCall, i: ir.Value, n: int) -> tuple[ir.Value, ir.Value]:
        """(target, previous) with `last`: the steps alternate between the output and the spare, ending on
        the output (a body may write its output before reading its carry, so never the same place)."""
        b = body.b
        on_out = b.icmp_signed("==", b.and_(b.sub(ir.Constant(I64, n - 1), i), ir.Constant(I64, 1)),
                               ir.Constant(I64, 0))
        return b.select(on_out, body.at(self.out), body.at(self.spare)), \
            b.select(on_out, body.at(self.spare), body.at(self.out))

    def in_order(self, kf: KernelFunction, body: BodyCall, t: ir.Value, first: ir.Value,
                 reverse: bool) -> tuple[ir.Value, ir.Value]:
        """(target, previous) for a scan keeping every step: row t, and the row the step before wrote (its
        carry part copied densely when the rows hold extra columns)."""
        b = body.b
        target = self.out_row(body, t)
        before = b.add(t, ir.Constant(I64, 1)) if reverse else b.sub(t, ir.Constant(I64, 1))
        previous_t = b.select(first, t, before)  # a row that exists, also when unused
        if self.carry_copy is None:
            previous = self.out_row(body, previous_t)
        else:
            offset = b.add(ir.Constant(I64, self.out.offset), b.mul(previous_t, ir.Constant(I64, self.row)))
            emit_copy(kf, self.carry_shape,
                      Operand(self.out.storage, self.out.dtype, contiguous_strides(self.row_shape), offset),
                      self.carry_copy)
            previous = body.at(self.carry_copy)
        return target, previous

    def out_row(self, body: BodyCall, t: ir.Value) -> ir.Value:
        """The address of output row t."""
        return body.at(self.out, (self.row,), (t,))
