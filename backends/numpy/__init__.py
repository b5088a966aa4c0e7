"""The reference backend: interprets the graph op by op with each op's NumPy rule.

It is the oracle every pass and every other backend is tested against, so it
stays simple: no reuse tricks beyond freeing dead values. `KERNELS` runs the
scheduled kernel program instead, to test scheduling without a native backend.
"""
from .interpreter import NumpyBackend
from .program import ProgramBackend

BACKEND = NumpyBackend()
#: The same reference, run over the kernel program (views, arena, in-place updates) instead of the graph.
KERNELS = ProgramBackend()

__all__ = ["BACKEND", "KERNELS", "NumpyBackend", "ProgramBackend"]
