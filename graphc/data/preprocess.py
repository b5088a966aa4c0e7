"""Feature preprocessing: one-hot codes and standardization fitted on training data only."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import GraphcError


def one_hot(labels: Any, num_classes: int | None = None, dtype: str = "float32") -> np.ndarray:
    """Integer labels (n,) as rows (n, num_classes)."""
    y = np.asarray(labels)
    if y.dtype.kind not in "iu":
        raise GraphcError(f"one_hot: labels must be integers, got {y.dtype}", fix="convert with .astype(int)")
    n = int(num_classes if num_classes is not None else y.max(initial=-1) + 1)
    if y.size and (y.min() < 0 or y.max() >= n):
        raise GraphcError(f"one_hot: labels span [{y.min()}, {y.max()}], outside [0, {n})",
                          fix="pass num_classes larger than the largest label")
    return np.eye(n, dtype=dtype)[y]


class Standardizer:
    """x -> (x - mean) / std with statistics of the training set (constant columns keep std 1)."""

    def __init__(self, x_train: Any):
        x = np.asarray(x_train)
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)

    def __call__(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        return ((x - self.mean) / self.std).astype(x.dtype)

    def inverse(self, z: Any) -> np.ndarray:
        """Undo the standardization: z * std + mean."""
        return np.asarray(z) * self.std + self.mean
