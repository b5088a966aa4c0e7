"""The module skeleton: types, loop nests and strided addressing shared by every kernel emitter.

A kernel is an internal function taking one pointer per distinct start of
memory it touches (a parameter updated in place is one storage with its new
value; temporaries that begin at the same arena byte are one argument), marked
`noalias` where the memory plan proves it shares no byte with another argument
(aliasing.py), so LLVM vectorizes without runtime alias checks where that is
true; the exported `run` calls them in order and returns 0, or the failing
kernel's index + 1.
In the checked build (checked.py) `element` also compares every address with
its storage's extent.
"""
from __future__ import annotations

from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, ContextManager, Iterator, Sequence

from llvmlite import ir

# the IR types and helpers below codegen, re-exported: an emitter imports its building blocks from here
from .irtypes import (ALIGN, F32, F64, I1, I8, I32, I64, PTR, STORAGE, Unsupported, aligned,  # noqa: F401
                      compute_type, intrinsic, storage_type)
from .scalar import ScalarPrinter

if TYPE_CHECKING:
    from .aliasing import Memory
    from .checked import Bounds


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= max(d, 1)
    return tuple(reversed(strides))


def broadcast_strides(shape: Sequence[int], strides: Sequence[int], to: Sequence[int]) -> tuple[int, ...]:
    """Strides that read a view of `shape` over the larger domain `to` (NumPy rules, right-aligned)."""
    lead = len(to) - len(shape)
    out = [0] * lead
    for d, s, t in zip(shape, strides, to[lead:]):
        out.append(0 if d == 1 and t != 1 else s)
    return tuple(out)


@contextmanager
def loop(b: ir.IRBuilder, n: int | ir.Value, unroll: bool = True) -> Iterator[ir.Value]:
    """for (i = 0; i < n; i++): yields i (i64) with the builder inside the body.

    `unroll=False` tells LLVM not to unroll it (loops around calls such as memcpy: fully unrolled and
    expanded inline, thousands of moves in one block make code generation take seconds)."""
    fn = b.function
    pre = b.block
    header, body, done = fn.append_basic_block("loop"), fn.append_basic_block("body"), fn.append_basic_block("done")
    b.branch(header)
    b.position_at_end(header)
    i = b.phi(I64, "i")
    i.add_incoming(ir.Constant(I64, 0), pre)
    limit = ir.Constant(I64, n) if isinstance(n, int) else n
    b.cbranch(b.icmp_signed("<", i, limit), body, done)
    b.position_at_end(body)
    yield i
    i.add_incoming(b.add(i, ir.Constant(I64, 1), flags=["nsw", "nuw"]), b.block)
    back = b.branch(header)
    if not unroll:
        back.set_metadata("llvm.loop", _no_unroll(b.module))
    b.position_at_end(done)


def _no_unroll(module: ir.Module) -> ir.MDValue:
    """A fresh loop ID asking for no unrolling (a loop ID's first operand is the ID itself)."""
    option = module.add_metadata([ir.MetaDataString(module, "llvm.loop.unroll.disable")])
    loop_id = module.add_metadata([ir.MetaDataString(module, f"loop{len(module.metadata)}"), option])
    loop_id.operands = (loop_id, option)
    return loop_id


@contextmanager
def nest(b: ir.IRBuilder, shape: Sequence[int], unroll: bool = True) -> Iterator[list[ir.Value]]:
    """Row-major loop nest over `shape` (the last index innermost, so unit strides vectorize)."""
    with ExitStack() as stack:
        yield [stack.enter_context(loop(b, d, unroll and j == len(shape) - 1)) for j, d in enumerate(shape)]


class Builder(ir.IRBuilder):
    """An IRBuilder that knows its kernel, so that `element` can check addresses in the checked build."""

    def __init__(self, block: ir.Block, kernel: "KernelFunction"):
        super().__init__(block)
        self.kernel = kernel


def element(b: ir.IRBuilder, base: ir.Value, etype: ir.Type, strides: Sequence[int], offset: int | ir.Value,
            idx: Sequence[ir.Value]) -> ir.Value:
    """Pointer to base[offset + sum(idx * strides)] (zero strides drop out: broadcasting).

    The one place addresses are computed: in the checked build the offset is
    compared with the extent of `base`'s storage first.
    """
    off = ir.Constant(I64, offset) if isinstance(offset, int) else offset
    for i, s in zip(idx, strides):
        if s:
            term = i if s == 1 else b.mul(i, ir.Constant(I64, s), flags=["nsw"])
            off = b.add(off, term, flags=["nsw"])
    if isinstance(b, Builder) and b.kernel.bounds is not None:
        b.kernel.bounds.check(b, b.kernel.storage_of(base), etype, off)
    return b.gep(base, [off], inbounds=True, source_etype=etype)


class KernelFunction:
    """One kernel as an internal function over its distinct storages; `ptr(buffer)` gives each base."""

    def __init__(self, module: ir.Module, name: str, storages: Sequence[int], memory: "Memory",
                 bounds: "Bounds | None" = None):
        self.storages = list(dict.fromkeys(storages))
        self.bounds = bounds
        self._passed_as = dict(zip(self.storages, memory.arguments(self.storages, merge=bounds is None)))
        #: the storage slot each argument's pointer is loaded from
        self.slots = list(dict.fromkeys(self._passed_as.values()))
        fnty = ir.FunctionType(I32, [PTR] * len(self.slots))
        self.fn = ir.Function(module, fnty, name)
        self.fn.linkage = "internal"
        # run calls each kernel once: inlining them all would only make one huge function, whose
        # optimization costs superlinearly (W4: 0.9 s instead of 0.5 s)
        self.fn.attributes.add("noinline")
        for slot, arg in zip(self.slots, self.fn.args):
            if memory.apart(slot, self.slots):
                arg.add_attribute("noalias")
        self.b = Builder(self.fn.append_basic_block("entry"), self)
        self.module = module

    def base(self, storage: int) -> ir.Value:
        return self.fn.args[self.slots.index(self._passed_as[storage])]

    @property
    def printer(self) -> type:
        """The class that prints scalar bodies (a GPU kernel substitutes one calling libdevice)."""
        return ScalarPrinter

    #: items of a loop run one after another (one CPU thread), so they may share accumulators
    serial = True

    def parallel(self, shape: Sequence[int]) -> ContextManager[list[ir.Value]]:
        """The loop over a kernel's independent items: a row-major nest (a GPU kernel strides its grid)."""
        return nest(self.b, shape)

    def fail(self) -> None:
        """Leave the kernel with status 1: an index was out of range."""
        self.b.ret(ir.Constant(I32, 1))

    def storage_of(self, base: ir.Value) -> int:
        """The storage whose argument `base` is (the checked build knows extents of arguments only)."""
        for s, arg in zip(self.slots, self.fn.args):
            if arg is base:
                return s
        raise Unsupported("the checked build can only check addresses computed from a kernel's arguments")

    def finish(self) -> None:
        self.b.ret(ir.Constant(I32, 0))

