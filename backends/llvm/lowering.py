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
from typing import Callable

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


def lower_program(program: KernelProgram, blas: int, checked: bool = False, profile: bool = False,
                  lower_body: Callable[[KernelProgram, int, bool], Lowered] | None = None) -> Lowered:
    """The module of a program; `profile` adds per-kernel cycle counters (see profile.py). A loop
    kernel's body is lowered by `lower_body` (the runtime passes the IR cache's `lower_cached`;
    by default this function itself, uncached)."""
    build = ProgramBuild(program, blas, checked, profile, lower_body or lower_program)
    build.emit_kernels()
    build.emit_outputs()
    build.emit_updates()
    return build.finish()


class ProgramBuild:
    """The state of one `lower_program`: the module, its `run` function and builder, the emitters'
    context, and what the runtime will need to know (fallbacks, staging, grouped kernels). Each
    `emit_*` step appends one part of `run`, in the order `run` executes them."""

    def __init__(self, program: KernelProgram, blas: int, checked: bool, profile: bool,
                 lower_body: Callable[[KernelProgram, int, bool], Lowered]):
        self.program = program
        self.module = module = ir.Module("graphc")
        module.triple = ""
        self.n_buf, self.n_out = len(program.buffers), len(program.outputs)
        self.direct = direct_outputs(program)
        self.ctx = Context(program, self.storage, self.n_buf + self.n_out, blas, lower_body=lower_body)
        self.memory = Memory(program)
        self.staging_bytes = 0
        self.bounds = Bounds(module, self.extent) if checked else None
        callback_ty = ir.FunctionType(I32, [I32])
        run = ir.Function(module, ir.FunctionType(I32, [PTR, callback_ty.as_pointer()]), "run")
        self.b = ir.IRBuilder(run.append_basic_block("entry"))
        self.parts = Parts(run, self.b, len(program.kernels) + len(program.outputs) + 2 * len(program.updates))
        self.fallbacks: dict[int, str] = {}
        self.grouped: dict[int, int] = {}
        self.shared = SharedBodies() if self.bounds is None else None  # a checked kernel's checks name its own sites
        self.timer = CycleCounters(module, self.b, len(program.kernels)) if profile else None

    def storage(self, buffer: int) -> int:
        """The slot a buffer lives in: an output's (written directly), its parameter's (in place), or its own."""
        return self.direct[buffer] if buffer in self.direct else self.program.plan.in_place.get(buffer, buffer)

    def extent(self, slot: int) -> int:
        """Bytes a storage slot holds (scratch and staging: at least, when the check is emitted)."""
        program = self.program
        if slot < self.n_buf:
            return program.buffers[slot].nbytes
        if slot < self.n_buf + self.n_out:
            v = program.outputs[slot - self.n_buf]
            return int(np.prod(v.shape, dtype=np.int64)) * np.dtype(program.buffers[v.buffer].dtype).itemsize
        return self.ctx.scratch_bytes if slot == self.ctx.scratch else self.staging_bytes

    def call(self, kf: KernelFunction, code: int) -> None:
        """Call a kernel function from `run` with its slots' pointers; a failure returns `code`."""
        b = self.b
        ptrs = [b.load(b.gep(self.parts.slots, [ir.Constant(I32, s)], source_etype=PTR), typ=PTR) for s in kf.slots]
        failed = b.icmp_signed("!=", b.call(kf.fn, ptrs), ir.Constant(I32, 0))
        with b.if_then(failed, likely=False):
            b.ret(ir.Constant(I32, code))

    def function(self, name: str, storages: list[int], emit: Callable[[KernelFunction], None]) -> KernelFunction:
        """A kernel function filled by `emit`, or None (and no trace in the module) if it raises Unsupported."""
        kf = KernelFunction(self.module, name, storages, self.memory, self.bounds)
        try:
            emit(kf)
            kf.finish()
        except Unsupported:
            del self.module.globals[name]
            raise
        if self.shared is not None:
            self.shared.share(kf)
        return kf

    def kernel_function(self, i: int) -> KernelFunction | None:
        """Kernel i's native function, or None when it has no emitter (its index then goes to the callback)."""
        k = self.program.kernels[i]
        storages = [self.storage(k.output)] + [self.storage(v.buffer) for v in k.inputs] + [self.ctx.scratch] \
            + private_slots(self.ctx, k)
        try:
            return self.function(f"k{i}_{k.name}", storages, lambda kf: emitter(k)(self.ctx, k, kf))
        except Unsupported as e:
            self.fallbacks[i] = e.what
            return None

    def group_function(self, members: list[int]) -> KernelFunction | None:
        """One loop for a run of elementwise kernels and the concatenation it may end with (groups.py),
        or None if a member has no emitter."""
        ks = [self.program.kernels[i] for i in members]
        storages = [self.storage(k.output) for k in ks] + [self.storage(v.buffer) for k in ks for v in k.inputs]
        try:
            return self.function(f"k{members[0]}_to_k{members[-1]}_group", storages,
                                 lambda kf: emit_group(self.ctx, ks, kf))
        except Unsupported:
            return None

    def emit_kernels(self) -> None:
        """Call every kernel in order: runs of elementwise kernels as one loop where they group (never in
        the checked build, whose sites name one kernel each), the others one function each, and those
        without native code through the callback."""
        program, b = self.program, self.b
        runs = kernel_groups(program, self.storage, self.memory) if self.bounds is None else \
            [[i] for i in range(len(program.kernels))]
        for members in runs:
            group = self.group_function(members) if len(members) > 1 else None
            if group is not None:
                self.grouped.update((i, members[0]) for i in members[1:])
            calls = [(members[0], group)] if group is not None else [(i, self.kernel_function(i)) for i in members]
            for i, kf in calls:  # kf None: the kernel runs through the callback
                self.parts.at_call()
                if self.timer is not None:
                    self.timer.start()
                if kf is None:
                    rc = b.call(self.parts.callback, [ir.Constant(I32, i)])
                    with b.if_then(b.icmp_signed("!=", rc, ir.Constant(I32, 0)), likely=False):
                        b.ret(ir.Constant(I32, i + 1))
                else:
                    self.call(kf, i + 1)
                if self.timer is not None:
                    self.timer.stop(i)

    def copy(self, name: str, shape: tuple, src: Operand, dst: Operand) -> None:
        """A copy function called from `run` (outputs, staging, updates)."""
        kf = KernelFunction(self.module, name, [dst.storage, src.storage], self.memory, self.bounds)
        emit_copy(kf, shape, src, dst)
        kf.finish()
        self.parts.at_call()
        self.call(kf, len(self.program.kernels) + 1)

    def emit_outputs(self) -> None:
        """Copy each output not written directly into its slot."""
        program = self.program
        for j, v in enumerate(program.outputs):
            if self.direct.get(v.buffer) == self.n_buf + j:
                continue
            dtype = program.buffers[v.buffer].dtype
            self.copy(f"output{j}", v.shape, Operand(self.storage(v.buffer), dtype, v.strides, v.offset),
                      Operand(self.n_buf + j, dtype, contiguous_strides(v.shape)))

    def emit_updates(self) -> None:
        """Write the updates into their parameters: values that live in parameter, input or constant
        storage are staged first, so that swaps read old values."""
        program, plan = self.program, self.program.plan
        staged, finals = [], []
        for param, v in program.updates:
            if v.buffer in plan.in_place:
                continue
            dtype = program.buffers[param].dtype
            src = Operand(self.storage(v.buffer), dtype, v.strides, v.offset)
            if src.storage == param and v.is_dense() and v.offset == 0:
                continue  # p := p
            kept_in = program.buffers[plan.in_place.get(v.buffer, v.buffer)]  # an output slot holds a temporary
            if kept_in.role != "temp":  # parameter, input or constant storage: stage it
                item = np.dtype(dtype).itemsize
                stage = Operand(self.ctx.scratch + 1, dtype, contiguous_strides(v.shape), self.staging_bytes // item)
                staged.append((v.shape, src, stage))
                src = stage
                self.staging_bytes += aligned(program.buffers[param].nbytes)
            finals.append((v.shape, src, Operand(param, dtype, contiguous_strides(v.shape))))
        for n, (shape, src, dst) in enumerate(staged):
            self.copy(f"stage{n}", shape, src, dst)
        for n, (shape, src, dst) in enumerate(finals):
            self.copy(f"update{n}", shape, src, dst)

    def finish(self) -> Lowered:
        """Close `run` (status 0) and describe the module for the runtime."""
        self.parts.finish()
        self.b.ret(ir.Constant(I32, 0))
        ctx, bounds = self.ctx, self.bounds
        return Lowered(str(self.module), self.n_buf, self.n_out, ctx.scratch_bytes, self.staging_bytes,
                       self.fallbacks, bounds.sites if bounds is not None else None, ctx.private_slots, ctx.loops,
                       self.direct, self.grouped)


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
