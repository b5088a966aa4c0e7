"""A kernel program as one LLVM module whose exported `run(slots, callback)` executes a whole step.

`slots` holds one pointer per storage: every buffer (a temporary written in
place shares its parameter's slot), then one per output array, the scratch
area and the staging area. A temporary that is a whole output is written
straight into the output's slot (a loop body's row then costs no copy per
step; output arrays must not overlap the inputs). `run` executes the kernels
in order, copies the other outputs out, stages update values that live in
parameter or input storage (so swaps read old values), then writes every
update into its parameter.
Kernels with no native emitter call `callback(kernel index)`, which runs the
op's NumPy rule with the GIL held (see runtime.py).
Runs of elementwise kernels over one domain are one function each (groups.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from llvmlite import ir

from graphc.schedule import KernelProgram

from .aliasing import Memory
from .checked import Bounds, Site
from .codegen import I32, PTR, KernelFunction, Unsupported, aligned, contiguous_strides
from .emitters import emitter
from .groups import emit_group, kernel_groups
from .kernels import Context, Operand, emit_copy
from .loop import NestedLoop, private_slots
from .parts import Parts
from .profile import CycleCounters
from .shared import SharedBodies


@dataclass
class Lowered:
    """The IR and everything the runtime needs to fill the slots."""

    ir: str
    n_buffers: int
    n_outputs: int
    scratch_bytes: int
    staging_bytes: int
    fallbacks: dict[int, str] = field(default_factory=dict)  # kernel index -> why it is not native
    sites: list[Site] | None = None  # the checked build's address checks (None: unchecked)
    private_slots: int = 0  # slots after staging that kernels reserved (Context.reserve)
    loops: list[NestedLoop] = field(default_factory=list)  # bodies of the loops run natively
    direct: dict[int, int] = field(default_factory=dict)  # temporary -> output slot it is written into
    grouped: dict[int, int] = field(default_factory=dict)  # kernel -> first kernel of the loop it runs in

    @property
    def scratch_slot(self) -> int:
        return self.n_buffers + self.n_outputs

    @property
    def staging_slot(self) -> int:
        return self.scratch_slot + 1

    def areas(self, arena_bytes: int) -> tuple[int, int, int]:
        """Byte offsets of the scratch and staging areas after an arena of `arena_bytes`, and the
        end of the working memory (the runtime and exported libraries lay it out alike)."""
        scratch_at = aligned(arena_bytes)
        staging_at = scratch_at + aligned(self.scratch_bytes)
        return scratch_at, staging_at, staging_at + self.staging_bytes

    @property
    def n_slots(self) -> int:
        return self.staging_slot + 1 + self.private_slots


def lower_program(program: KernelProgram, blas: int, checked: bool = False, profile: bool = False) -> Lowered:
    """The module of a program; `profile` adds per-kernel cycle counters (see profile.py)."""
    module = ir.Module("graphc")
    module.triple = ""
    n_buf, n_out = len(program.buffers), len(program.outputs)
    plan = program.plan

    direct = direct_outputs(program)

    def storage(buffer: int) -> int:
        return direct[buffer] if buffer in direct else plan.in_place.get(buffer, buffer)

    ctx = Context(program, storage, n_buf + n_out, blas)
    memory = Memory(program)
    staging_bytes = 0

    def extent(slot: int) -> int:
        """Bytes a storage slot holds (scratch and staging: at least, when the check is emitted)."""
        if slot < n_buf:
            return program.buffers[slot].nbytes
        if slot < n_buf + n_out:
            v = program.outputs[slot - n_buf]
            return int(np.prod(v.shape, dtype=np.int64)) * np.dtype(program.buffers[v.buffer].dtype).itemsize
        return ctx.scratch_bytes if slot == ctx.scratch else staging_bytes

    bounds = Bounds(module, extent) if checked else None
    callback_ty = ir.FunctionType(I32, [I32])
    run = ir.Function(module, ir.FunctionType(I32, [PTR, callback_ty.as_pointer()]), "run")
    b = ir.IRBuilder(run.append_basic_block("entry"))
    parts = Parts(run, b, len(program.kernels) + len(program.outputs) + 2 * len(program.updates))
    fallbacks: dict[int, str] = {}
    shared = SharedBodies() if bounds is None else None  # a checked kernel's checks name its own sites
    timer = CycleCounters(module, b, len(program.kernels)) if profile else None

    def call(kf: KernelFunction, code: int) -> None:
        ptrs = [b.load(b.gep(parts.slots, [ir.Constant(I32, s)], source_etype=PTR), typ=PTR) for s in kf.slots]
        failed = b.icmp_signed("!=", b.call(kf.fn, ptrs), ir.Constant(I32, 0))
        with b.if_then(failed, likely=False):
            b.ret(ir.Constant(I32, code))

    def kernel_function(i: int) -> KernelFunction | None:
        """Kernel i's native function, or None when it has no emitter (its index then goes to the callback)."""
        k = program.kernels[i]
        name = f"k{i}_{k.name}"
        kf = KernelFunction(module, name, [storage(k.output)] + [storage(v.buffer) for v in k.inputs] + [ctx.scratch]
                            + private_slots(ctx, k), memory, bounds)
        try:
            emitter(k)(ctx, k, kf)
            kf.finish()
        except Unsupported as e:
            del module.globals[name]
            fallbacks[i] = e.what
            return None
        if shared is not None:
            shared.share(kf)
        return kf

    def group_function(members: list[int]) -> KernelFunction | None:
        """One loop for a run of elementwise kernels and the concatenation it may end with (groups.py),
        or None if a member has no emitter."""
        ks = [program.kernels[i] for i in members]
        name = f"k{members[0]}_to_k{members[-1]}_group"
        kf = KernelFunction(module, name, [storage(k.output) for k in ks] +
                            [storage(v.buffer) for k in ks for v in k.inputs], memory, bounds)
        try:
            emit_group(ctx, ks, kf)
            kf.finish()
        except Unsupported:
            del module.globals[name]
            return None
        if shared is not None:
            shared.share(kf)
        return kf

    grouped: dict[int, int] = {}
    runs = kernel_groups(program, storage, memory) if bounds is None else [[i] for i in range(len(program.kernels))]
    for members in runs:
        group = group_function(members) if len(members) > 1 else None
        if group is not None:
            grouped.update((i, members[0]) for i in members[1:])
        calls = [(members[0], group)] if group is not None else [(i, kernel_function(i)) for i in members]
        for i, kf in calls:  # kf None: the kernel runs through the callback
            parts.at_call()
            if timer is not None:
                timer.start()
            if kf is None:
                rc = b.call(parts.callback, [ir.Constant(I32, i)])
                with b.if_then(b.icmp_signed("!=", rc, ir.Constant(I32, 0)), likely=False):
                    b.ret(ir.Constant(I32, i + 1))
            else:
                call(kf, i + 1)
            if timer is not None:
                timer.stop(i)

    def copy(name: str, shape: tuple, src: Operand, dst: Operand) -> None:
        kf = KernelFunction(module, name, [dst.storage, src.storage], memory, bounds)
        emit_copy(kf, shape, src, dst)
        kf.finish()
        parts.at_call()
        call(kf, len(program.kernels) + 1)

    for j, v in enumerate(program.outputs):
        if direct.get(v.buffer) == n_buf + j:
            continue
        dtype = program.buffers[v.buffer].dtype
        copy(f"output{j}", v.shape, Operand(storage(v.buffer), dtype, v.strides, v.offset),
             Operand(n_buf + j, dtype, contiguous_strides(v.shape)))

    staged, finals = [], []
    for param, v in program.updates:
        if v.buffer in plan.in_place:
            continue
        dtype = program.buffers[param].dtype
        src = Operand(storage(v.buffer), dtype, v.strides, v.offset)
        if src.storage == param and v.is_dense() and v.offset == 0:
            continue  # p := p
        kept_in = program.buffers[plan.in_place.get(v.buffer, v.buffer)]  # an output slot holds a temporary
        if kept_in.role != "temp":  # parameter, input or constant storage: stage it
            item = np.dtype(dtype).itemsize
            stage = Operand(ctx.scratch + 1, dtype, contiguous_strides(v.shape), staging_bytes // item)
            staged.append((v.shape, src, stage))
            src = stage
            staging_bytes += aligned(program.buffers[param].nbytes)
        finals.append((v.shape, src, Operand(param, dtype, contiguous_strides(v.shape))))
    for n, (shape, src, dst) in enumerate(staged):
        copy(f"stage{n}", shape, src, dst)
    for n, (shape, src, dst) in enumerate(finals):
        copy(f"update{n}", shape, src, dst)
    parts.finish()
    b.ret(ir.Constant(I32, 0))
    return Lowered(str(module), n_buf, n_out, ctx.scratch_bytes, staging_bytes, fallbacks,
                   bounds.sites if bounds is not None else None, ctx.private_slots, ctx.loops, direct, grouped)


def direct_outputs(program: KernelProgram) -> dict[int, int]:
    """Temporaries the kernels may write straight into an output slot: each output that is a whole
    temporary, dense from its start (the first output of a temporary output twice)."""
    n_buf, direct = len(program.buffers), {}
    for j, v in enumerate(program.outputs):
        b = program.buffers[v.buffer]
        whole = v.offset == 0 and v.is_dense() and np.prod(v.shape, dtype=np.int64) == np.prod(b.shape, dtype=np.int64)
        if whole and b.role == "temp" and v.buffer not in program.plan.in_place and v.buffer not in direct:
            direct[v.buffer] = n_buf + j
    return direct
