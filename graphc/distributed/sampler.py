"""Each rank's share of the data: the same permutation everywhere, a slice of every global batch.

Every rank draws an epoch's order from (seed, epoch) alone, so all agree without a message; a
global batch of B rows is split into N slices of B/N in rank order, and the slices together are
exactly the batch one process would take, which is what makes N ranks train like one.
"""
from __future__ import annotations

import numpy as np

from ..data.batching import batch_count
from ..ir import ArgumentError
from .job import World, world


def local_slice(rows: int, w: World, what: str = "a global batch") -> slice:
    """This rank's slice of `rows` rows (rank r takes the r-th of N equal parts)."""
    if rows % w.size:
        raise ArgumentError(f"{what} of {rows} rows cannot be split evenly over {w.size} ranks",
                            fix=f"use a batch size (and a last batch, or drop_last=True) divisible by {w.size}")
    part = rows // w.size
    return slice(w.rank * part, (w.rank + 1) * part)


def check_batches(rows: int, batch_size: int, drop_last: bool, w: World) -> None:
    """Refuse a plan whose global batches (the last one included) do not split evenly over the ranks:
    unequal slices would weigh rows unequally in the averaged gradient."""
    local_slice(batch_size, w, f"batch_size={batch_size}: a global batch")
    if not drop_last and rows % batch_size:
        local_slice(rows % batch_size, w, f"the last batch ({rows} rows, batch_size={batch_size})")


def shard(n: int, epoch: int, seed: int = 0, batch_size: int | None = None, drop_last: bool = False,
          w: World | None = None) -> np.ndarray:
    """This rank's row indices for `epoch`, batch by batch (DistributedSampler-style).

    The epoch's permutation of `n` rows comes from (seed, epoch), the same on every rank; each
    global batch of `batch_size` rows (default: one row per rank) gives this rank its slice of
    batch_size / N rows, so reading the result in chunks of batch_size / N yields this rank's part
    of each global batch in order. A last short batch is kept (split the same way) unless `drop_last`.
    """
    w = w if w is not None else world()
    batch_size = w.size if batch_size is None else batch_size
    check_batches(n, batch_size, drop_last, w)
    order = np.random.default_rng([seed, epoch]).permutation(n)
    parts = [order[b * batch_size:(b + 1) * batch_size] for b in range(batch_count(n, batch_size, drop_last))]
    return np.concatenate([p[local_slice(len(p), w)] for p in parts]) if parts else order[:0]
