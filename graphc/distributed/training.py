"""`gc.distributed.fit`: `gc.train.fit` as one rank of a synchronous data-parallel MPI job."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..ir import Tensor
from ..nn.module import Module
from ..optim.base import Optimizer
from ..train import History
from ..train import fit as _fit
from .sampler import check_batches, local_slice
from .step import DataParallelStep, check_same
from .job import World, world


class DataParallel:
    """fit's `parallel` for an MPI world: each rank steps on its slice of every global batch with a
    `DataParallelStep`, and every rank takes rank 0's logs and decisions."""

    def __init__(self, w: World | None = None):
        self.world = w if w is not None else world()
        self.root = self.world.root
        self.step: DataParallelStep | None = None  # the last step compiled (for its bucket sizes)

    def check(self, plan: Mapping[str, Any]) -> None:
        """Refuse plans that differ between ranks (a rank with more steps would wait forever for the
        others) and global batches that do not split evenly over the ranks."""
        check_same(self.world, "fit plans (the data's row count and fit's arguments)", repr(sorted(plan.items())))
        check_batches(plan["rows"], plan["batch_size"], plan["drop_last"], self.world)

    def compile(self, model: Module, inputs: Sequence[Tensor], loss: Tensor, optimizer: Optimizer,
                state_updates: Sequence[tuple[Tensor, Tensor]], backend: str, check_finite: bool
                ) -> DataParallelStep:
        """The data-parallel train step (collective: every rank must call it)."""
        self.step = DataParallelStep(self.world, model, inputs, loss, optimizer, state_updates, backend, check_finite)
        return self.step

    def rows(self, batch: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """This rank's rows of a global batch."""
        part = local_slice(len(batch[0]), self.world)
        return batch[0][part], batch[1][part]

    def agree(self, value: Any) -> Any:
        """Rank 0's value on every rank."""
        return self.world.agree(value)


def fit(model: Module, loss_fn: Any, optimizer: Optimizer, x: Any, y: Any, **kwargs: Any) -> History:
    """`gc.train.fit` on every rank of the MPI job (run the script under `mpiexec -n N`).

    Takes fit's arguments; `batch_size` is the global batch, split evenly over the ranks, so N ranks
    train as one process with the same batch_size (up to rounding). Every rank must pass the same data
    (or at least the same number of rows in the same order) and build the same model; rank 0's initial
    weights and optimizer state are broadcast, only rank 0 logs and writes `checkpoint`, and
    `resume` reads the same file on every rank.
    """
    return _fit(model, loss_fn, optimizer, x, y, parallel=DataParallel(), **kwargs)
