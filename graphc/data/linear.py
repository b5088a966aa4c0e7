"""Closed-form least squares: the exact optimum a linear network trained on MSE approaches."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import ShapeError


def linear_regression(x: Any, y: Any, bias: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(weight (features, outputs), bias (outputs,)) minimizing ||x w + b - y||^2.

    Solved with the pseudo-inverse of the design matrix (the normal equations'
    solution, also when x^T x is singular: then the minimum-norm one).
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.ndim != 2 or len(x) != len(y):
        raise ShapeError(f"linear_regression: x {x.shape} must be (n, features) and y {y.shape} have n rows")
    vector = y.ndim == 1
    y2 = y[:, None] if vector else y
    design = np.hstack([x, np.ones((len(x), 1))]) if bias else x
    theta = np.linalg.pinv(design) @ y2
    w, b = (theta[:-1], theta[-1]) if bias else (theta, np.zeros(y2.shape[1]))
    return (w[:, 0], b[0:1]) if vector else (w, b)
