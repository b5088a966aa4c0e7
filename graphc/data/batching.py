"""Minibatches, train/validation splits and k-fold cross-validation over index permutations."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ..ir import GraphcError, ShapeError


def _length(arrays: tuple[np.ndarray, ...], where: str) -> int:
    if not arrays:
        raise GraphcError(f"{where}: needs at least one array")
    sizes = {len(a) for a in arrays}
    if len(sizes) != 1:
        raise ShapeError(f"{where}: arrays differ in length {sorted(sizes)}", fix="pass one row per example in each")
    return sizes.pop()


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def minibatches(*arrays: Any, batch_size: int = 32, shuffle: bool = True,
                seed: int | np.random.Generator | None = 0, drop_last: bool = False) -> Iterator[tuple]:
    """Yield tuples of aligned batches; `drop_last` skips a short final batch."""
    arrays = tuple(np.asarray(a) for a in arrays)
    n = _length(arrays, "minibatches")
    if batch_size < 1:
        raise GraphcError(f"minibatches: batch_size must be >= 1, got {batch_size}")
    yield from batches_in_order(arrays, epoch_order(n, shuffle, seed), batch_size, drop_last)


def epoch_order(n: int, shuffle: bool = True, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """The row order of one pass over n rows: a permutation drawn from `seed`, or 0..n-1."""
    return _rng(seed).permutation(n) if shuffle else np.arange(n)


def batch_count(n: int, batch_size: int, drop_last: bool = False) -> int:
    """The batches of one pass over n rows (a last, smaller one kept unless `drop_last`)."""
    return n // batch_size if drop_last else -(-n // batch_size)


def batches_in_order(arrays: tuple[np.ndarray, ...], order: np.ndarray, batch_size: int, drop_last: bool = False,
                     start: int = 0) -> Iterator[tuple]:
    """Aligned batches of `arrays` taking rows in `order`, from batch number `start` on (to resume an epoch)."""
    for b in range(start, batch_count(len(order), batch_size, drop_last)):
        idx = order[b * batch_size:(b + 1) * batch_size]
        yield tuple(a[idx] for a in arrays)


def train_val_split(*arrays: Any, val_fraction: float = 0.2, shuffle: bool = True,
                    seed: int | np.random.Generator | None = 0) -> tuple[tuple, tuple]:
    """((train arrays...), (validation arrays...)) with round(n * val_fraction) validation rows."""
    arrays = tuple(np.asarray(a) for a in arrays)
    n = _length(arrays, "train_val_split")
    n_val = int(round(n * val_fraction))
    if not 0 < n_val < n:
        raise GraphcError(f"train_val_split: val_fraction {val_fraction} of {n} rows leaves an empty side",
                          fix="use a fraction strictly between 0 and 1 of a big enough dataset")
    order = _rng(seed).permutation(n) if shuffle else np.arange(n)
    val, train = order[:n_val], order[n_val:]
    return tuple(a[train] for a in arrays), tuple(a[val] for a in arrays)


def kfold(n: int, k: int = 5, shuffle: bool = True,
          seed: int | np.random.Generator | None = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (train indices, validation indices) k times; the validation folds partition range(n)."""
    if not 2 <= k <= n:
        raise GraphcError(f"kfold: k must be in [2, n={n}], got {k}")
    order = _rng(seed).permutation(n) if shuffle else np.arange(n)
    folds = np.array_split(order, k)
    for i, val in enumerate(folds):
        yield np.concatenate(folds[:i] + folds[i + 1:]), val
