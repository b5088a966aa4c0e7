"""The LLVM backend's dispatch: a kernel's op class -> its emitter, through `registry.EMITTERS`.

The emitters register themselves beside their definitions; importing their
modules here fills the table before any lookup.
"""
from __future__ import annotations

from typing import Callable

from graphc.schedule import Kernel

from . import conv, kernels, loop, matmul, rng  # noqa: F401 - each registers its emitters on import
from .codegen import Unsupported
from .registry import EMITTERS, Registry


def emitter(k: Kernel, registry: Registry = EMITTERS) -> Callable:
    """The emitter of kernel k's op class (or its nearest registered base) in `registry`, or Unsupported."""
    emit = registry.lookup(type(k.node.op))
    if emit is None:
        raise Unsupported(f"no native emitter for {k.kind} kernel {k.name}")
    return emit
