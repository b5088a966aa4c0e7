"""Loop fusion across kernels: consecutive elementwise kernels over one domain run as one loop nest.

The graph's fusion pass makes single-output kernels, so work whose results are
all needed stays split: an optimizer's new moments and the parameter update that
reads them (Adam: three passes over every weight-sized array), an LSTM cell's
gates and states. A group emits them as one loop: each element's values go from
kernel to kernel in registers, each array is loaded once, and the group is one
call. Adam's update of a weight then moves 7 arrays instead of 10.

Running kernel after kernel element by element gives the same result as running
them one after another when all memory a member writes is touched by the group
only at the element being computed (a dense view of the whole domain); `joins`
checks exactly that on memory (arena byte ranges, which temporaries share by
lifetime), so reads through any other view are of memory the group does not
write. A run may end with the concatenation of its outputs (`absorbs`): the loop
then stores each piece in its place there. Checked builds keep one function per
kernel, so a fault names its kernel.
"""
from __future__ import annotations

from typing import Callable, Sequence

from llvmlite import ir

from graphc.ops import fused
from graphc.ops.shape import Concatenate
from graphc.schedule import Kernel, KernelProgram, View

from .aliasing import Memory, Region, overlap
from .codegen import KernelFunction
from .kernels import ELEMENTWISE, Context, Operand, body_compute, coalesce, load, store

#: the most kernels one loop runs (register pressure of the loop body)
MAX_GROUP = 12


def kernel_groups(program: KernelProgram, storage: Callable[[int], int], memory: Memory) -> list[list[int]]:
    """The program's kernels, in order, as runs of kernel indices to emit as one loop each (the
    scheduler puts elementwise kernels of one domain next to each other where it can: schedule/order.py);
    a run may end with the concatenation of its outputs, which its loop then writes in place."""
    runs: list[list[int]] = []
    readers: dict[int, list[Kernel]] = {}  # buffer -> the kernels reading it (absorbs asks per concatenation)
    for k in program.kernels:
        for b in dict.fromkeys(v.buffer for v in k.inputs):
            readers.setdefault(b, []).append(k)
    kept = {v.buffer for v in program.outputs} | {v.buffer for _, v in program.updates}
    for i, k in enumerate(program.kernels):
        members = [program.kernels[j] for j in runs[-1]] if runs else []
        if members and len(members) < MAX_GROUP and joins(program, storage, memory, members, k):
            runs[-1].append(i)
        elif members and isinstance(members[-1].node.op, ELEMENTWISE) and \
                absorbs(program, storage, memory, members, k, readers, kept):
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def joins(program: KernelProgram, storage: Callable[[int], int], memory: Memory, members: Sequence[Kernel],
          k: Kernel) -> bool:
    """Whether kernel k may run in the loop of `members`, element by element after them: where its
    reads meet memory the members write, or its output meets memory they read or write (arena bytes
    a temporary dead before k shares included), both sides are that one element of the same bytes."""
    shape = program.buffers[k.output].shape
    if not all(isinstance(m.node.op, ELEMENTWISE) and m.body is not None for m in (*members, k)) or \
            program.buffers[members[0].output].shape != shape:
        return False

    def where(buffer: int) -> Region:
        return memory.where(storage(buffer))

    def clash(a: int, b: int, view: View | None = None) -> bool:
        """Buffers a and b (read through `view`, if given) meet other than at the element."""
        ra, rb = where(a), where(b)
        same = ra == rb and program.buffers[a].dtype == program.buffers[b].dtype
        return overlap(ra, rb) and not (same and (view is None or at_element(view, shape)))
    if any(clash(m.output, v.buffer, v) for m in members for v in k.inputs):
        return False  # it would read an element another member has not written yet
    return not any(clash(k.output, v.buffer, v) for m in members for v in m.inputs) and \
        not any(clash(k.output, m.output) for m in members)


def at_element(v: View, shape: tuple[int, ...]) -> bool:
    """Whether the view reads, at each element of the domain, that element of its storage."""
    return tuple(v.shape) == tuple(shape) and v.offset == 0 and v.is_dense()


def absorbs(program: KernelProgram, storage: Callable[[int], int], memory: Memory, members: Sequence[Kernel],
            c: Kernel, readers: dict[int, list[Kernel]], kept: set[int]) -> bool:
    """Whether the group's loop may write its outputs straight into their places in concatenation c
    (an LSTM cell's gates and states, stacked for the backward pass): each piece of c is a whole output
    of a member that nothing else reads (members at the element get it in a register), and c's
    memory is none of the memory the loop reads or otherwise writes (c's output comes to life early).
    `readers` (buffer -> kernels reading it) and `kept` (the buffers of outputs and updates) are the
    program's, computed once: scanning every kernel per concatenation was quadratic."""
    if not isinstance(c.node.op, Concatenate):
        return False
    made = {m.output: m for m in members}
    pieces = [v.buffer for v in c.inputs]
    if len(set(pieces)) != len(pieces) or \
            not all(b in made and at_element(v, program.buffers[b].shape) for b, v in zip(pieces, c.inputs)):
        return False
    if any(b in kept or storage(b) != b for b in pieces):
        return False
    for k in (k for b in pieces for k in readers.get(b, ()) if k is not c):
        inside = any(k is m for m in members)
        if any(v.buffer in made and v.buffer in pieces and not (inside and at_element(v, v.shape)) for v in k.inputs):
            return False
    dest = storage(c.output)
    touched = [storage(v.buffer) for m in members for v in m.inputs] + \
        [storage(m.output) for m in members if m.output not in pieces]
    return not any(memory.meet(dest, s) for s in touched)


def emit_group(ctx: Context, ks: Sequence[Kernel], kf: KernelFunction) -> None:
    """The kernels' bodies in one loop nest over their domain, each output stored (in its place in
    the concatenation that ends the run, if one does), and passed on in a register to the members that
    read it at the element."""
    sink = ks[-1] if isinstance(ks[-1].node.op, Concatenate) else None
    ks = ks[:-1] if sink is not None else ks
    shape = ctx.program.buffers[ks[0].output].shape
    srcs = [[ctx.operand(v, shape) for v in k.inputs] for k in ks]
    into = _places(ctx, sink) if sink is not None else {}
    outs = [into.get(k.output) or ctx.output(k) for k in ks]
    domain, merged = coalesce(shape, [op for ops in srcs for op in ops] + outs)
    starts = [0]
    for ops in srcs:
        starts.append(starts[-1] + len(ops))
    srcs = [merged[a:b] for a, b in zip(starts, starts[1:])]
    outs = merged[starts[-1]:]
    with kf.parallel(domain) as idx:
        values: dict[int, ir.Value] = {}  # buffer -> its value at this element
        for k, ops, out in zip(ks, srcs, outs):
            raws = [values[v.buffer] if v.buffer in values and at_element(v, shape) else load(kf, op, idx)
                    for v, op in zip(k.inputs, ops)]
            value = body_compute(kf, fused.input_symbols(len(ops)), ops, k, out.dtype)(raws)
            store(kf, out, idx, value)
            values[k.output] = value


def _places(ctx: Context, c: Kernel) -> dict[int, Operand]:
    """Each piece of concatenation c -> where it goes in c's output (as kernels.emit_concatenate copies it)."""
    axis, out, start, places = c.node.op.axis, ctx.output(c), 0, {}
    for v in c.inputs:
        places[v.buffer] = Operand(out.storage, out.dtype, out.strides, start * out.strides[axis])
        start += v.shape[axis]
    return places
