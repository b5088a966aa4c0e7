"""The dispatch table: kernel kind (and op name, where one kind covers several ops) -> emitter."""
from __future__ import annotations

from typing import Callable

from graphc.schedule import Kernel

from . import conv, kernels, loop, matmul, rng
from .codegen import Unsupported

#: kind -> emitter, or kind -> {op name -> emitter}
EMITTERS: dict[str, Callable | dict[str, Callable]] = {
    "elementwise": kernels.emit_elementwise,
    "reduce": kernels.emit_reduce,
    "matmul": matmul.emit_matmul,
    "softmax": kernels.emit_softmax,
    "gather": {"take": kernels.emit_take, "patches": conv.emit_patches},
    "scatter": {"scatter_add": kernels.emit_scatter_add, "scatter_slice": kernels.emit_scatter_slice,
                "unpatches": conv.emit_unpatches},
    "copy": {"reshape": kernels.emit_reshape, "concatenate": kernels.emit_concatenate},
    "conv": {"conv2d": conv.emit_conv2d, "conv2d_grad_input": conv.emit_conv_grad_input,
             "conv2d_grad_weight": conv.emit_conv_grad_weight},
    "rng": {"random_uniform": rng.emit_random_uniform},
    "loop": loop.emit_loop,
}


def emitter(k: Kernel, table: dict[str, Callable | dict[str, Callable]] = EMITTERS) -> Callable:
    """The emitter of kernel k in `table` (another backend passes its own), or Unsupported."""
    entry = table.get(k.kind)
    if isinstance(entry, dict):
        entry = entry.get(k.name)
    if entry is None:
        raise Unsupported(f"no native emitter for {k.kind} kernel {k.name}")
    return entry
