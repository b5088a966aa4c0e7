"""`run`'s calls in parts: a program of many kernels is a chain of functions of bounded size, not one.

`run` calls each kernel function in order and returns at the first failure, so a
program of n kernels made one function of n calls and 2n blocks. LLVM's CFG
simplification (the failure returns merged into one block, a phi of n values)
and instruction selection grow faster than n on one function: at O0, where every
node is a kernel, a 100,000-node chain spent 7.9 s in LLVM against 0.4 s at
10,000 nodes. Above `SPLIT_ABOVE` calls, `run` instead calls internal functions
`run.part<j>(slots, callback)` of `PART_CALLS` calls each, which return 0 or the
failing kernel's code, so LLVM's work per function is bounded and its total
grows with n. Programs of up to `SPLIT_ABOVE` calls keep the one `run` they had.
"""
from __future__ import annotations

from llvmlite import ir

from .irtypes import I32

#: programs of up to this many calls (kernels and copies) keep one `run` (LLVM's time on it still grows about linearly)
SPLIT_ABOVE = 4096
#: the calls of one part, in a program split into parts
PART_CALLS = 256


class Parts:
    """Where `run`'s next call goes: `run` itself, or the current part when the program has more than
    `SPLIT_ABOVE` calls. `at_call` before each call moves the builder into a new part when one is full."""

    def __init__(self, run: ir.Function, b: ir.IRBuilder, calls: int):
        self.run, self.b = run, b
        self.split = calls > SPLIT_ABOVE
        self.fn = run  # the function the next call goes into
        self.parts = self.calls = 0
        self.run_block = b.block  # where `run` goes on after the part it called last

    @property
    def slots(self) -> ir.Value:
        return self.fn.args[0]

    @property
    def callback(self) -> ir.Value:
        return self.fn.args[1]

    def at_call(self) -> None:
        """Before a call: a part full (or none yet) starts the next one, which `run` calls and checks."""
        if self.split and self.calls % PART_CALLS == 0:
            self.finish()
            part = ir.Function(self.run.module, self.run.ftype, f"run.part{self.parts}")
            part.linkage = "internal"
            part.attributes.add("noinline")  # inlined back, `run` would again be one huge function
            self.parts += 1
            b = self.b
            rc = b.call(part, list(self.run.args))
            with b.if_then(b.icmp_signed("!=", rc, ir.Constant(I32, 0)), likely=False):
                b.ret(rc)
            self.run_block = b.block
            self.fn = part
            b.position_at_end(part.append_basic_block("entry"))
        self.calls += 1

    def finish(self) -> None:
        """End the current part (it returns 0: none of its calls failed); the builder goes back to `run`."""
        if self.fn is not self.run:
            self.b.ret(ir.Constant(I32, 0))
            self.b.position_at_end(self.run_block)
            self.fn = self.run
