"""`allreduce`: communication inside a graph, for statistics that span every rank (SyncBatchNorm).

`AllReduce` sums its operand over the ranks of the MPI world. It is linear, so its pullback is
the allreduce of the cotangent (the gradient of a rank's input collects every rank's loss), and so
is its jvp. It has no native kernel: both backends run its NumPy rule (the llvm backend through its
host callback, the `generic` kernel kind), which calls `MPI_Allreduce` and so must run on every
rank in the same order; a compiled step runs its kernels in one fixed order, and
`DataParallelStep` checks at start that every rank compiled the same graph.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import Tensor
from ..ir.node import Op
from ..ops.operands import as_tensors
from .job import world


class AllReduce(Op):
    """The sum of `x` over the ranks (every rank gets it)."""

    name = "allreduce"

    def infer(self, x: Tensor) -> tuple[tuple, str]:
        """Same shape and dtype as `x` (every rank's operand must have them)."""
        return x.shape, x.dtype

    def numpy(self, x: np.ndarray) -> np.ndarray:
        """The sum over the ranks: one `MPI_Allreduce` of a copy of `x`."""
        return world().allreduce_(np.array(x, copy=True, order="C"))

    def pullback(self, node: Tensor, g: Tensor) -> list[Tensor]:
        """Every rank's input reaches every rank's output: its gradient is the sum of the cotangents."""
        return [allreduce(g)]

    def jvp(self, node: Tensor, tangents: Any) -> Tensor | None:
        """Linear: the allreduce of the tangent."""
        (t,) = tangents
        return None if t is None else allreduce(t)

    def format(self, args: Any) -> str:
        """How it prints as math."""
        return f"allreduce({args[0]})"


def allreduce(x: Any) -> Tensor:
    """The sum of `x` over every rank of the MPI world, as a graph node (differentiable).

    Every rank must run the graph: each call of the compiled step is one collective per node.
    """
    (x,) = as_tensors(x)
    return Tensor.make(AllReduce(), [x])
