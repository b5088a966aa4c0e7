"""One function for kernels whose code is the same: a deep network's layers compile once.

A kernel function takes one pointer per storage it touches and computes every
address from them, so kernels of equal shapes and bodies (each layer of an MLP,
each step of an unrolled recurrence, and their gradients) print the same IR but
for their names. LLVM's optimization and code generation cost grows with the
code they are given, so `run` calls the first of such functions for all of them:
a 100-layer network compiles its layer's kernels once, not 100 times.
Functions are compared by their text after the name; the `!llvm.loop` ids of
their loops are numbered per module, and carry only optimization hints (no
unrolling, codegen.loop), so they are left out of the comparison.
"""
from __future__ import annotations

import re

from .codegen import KernelFunction

_LOOP_ID = re.compile(r"!llvm\.loop !\d+")


class SharedBodies:
    """Kernel functions by their code; `share` points a new one at an equal one emitted before."""

    def __init__(self) -> None:
        self._by_code: dict[str, object] = {}

    def share(self, kf: KernelFunction) -> None:
        text = str(kf.fn)
        code = _LOOP_ID.sub("!llvm.loop", text[text.index("("):])  # the arguments and the body
        first = self._by_code.setdefault(code, kf.fn)
        if first is not kf.fn:
            del kf.module.globals[kf.fn.name]
            kf.fn = first
