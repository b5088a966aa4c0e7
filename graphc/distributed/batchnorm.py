"""`SyncBatchNorm`: batch normalization whose statistics are those of the global batch.

A plain `BatchNorm` under data parallelism normalizes each rank's shard with that shard's
statistics, so N ranks compute something else than one process with the whole batch. SyncBatchNorm
takes the mean and the variance over every rank's rows: two in-graph allreduces per layer and
forward pass (the sums with the row count, then the squared deviations from the global mean: the
same two-pass formula as BatchNorm, so one rank gives BatchNorm's numbers), and their pullbacks
allreduce the cotangents, so the backward pass is the global batch's too.
"""
from __future__ import annotations

from .. import ops
from ..ir import Tensor
from ..nn.normalization import BatchNorm
from .collective import allreduce
from .job import world


class SyncBatchNorm(BatchNorm):
    """`gc.nn.BatchNorm` with mean and variance over the global batch (every rank's rows); the same
    parameters and buffers, so its state dict loads into a BatchNorm and back. Needs `graphc[mpi]`."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 dtype: str = "float32"):
        world()  # MPI is needed by the graph's allreduces: say so now rather than at the first step
        super().__init__(num_features, eps, momentum, affine, dtype)

    def statistics(self, x: Tensor, axes: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
        """Global mean, biased variance and row count: `allreduce` of the sums, then of the squares."""
        c = self.num_features
        local_n = ops.reshape(ops.reduce.count(x, axes, x.dtype), (1,))
        sums = allreduce(ops.concatenate([ops.sum(x, axes), local_n]))
        n = sums[c]
        mean = sums[:c] / n
        centered = x - ops.reshape(mean, (c,) + (1,) * (x.ndim - 2))
        var = allreduce(ops.sum(ops.square(centered), axes)) / n
        return mean, var, n

    def extra_repr(self) -> str:
        return super().extra_repr() + ", synchronized over the MPI ranks"
