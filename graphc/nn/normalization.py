"""Normalization layers: batch norm (with running statistics) and layer norm.

Running statistics are buffers updated through the train step's `updates`,
like the dropout key: a BatchNorm in train mode remembers the batch statistics
of its last forward, and `model.state_updates()` returns the
`(running_mean, new)`/`(running_var, new)` pairs to pass to `gc.function`
(next to the optimizer's updates). Build the graph once per step function.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import ops
from ..ir import ShapeError, Tensor, parameter
from ..ir.modes import record
from ..ops import args
from .module import Module


def batch_norm(x: Tensor, mean: Tensor, var: Tensor, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias, with per-channel statistics on axis 1."""
    shape = (x.shape[1],) + (1,) * (x.ndim - 2)
    y = (x - ops.reshape(mean, shape)) / ops.sqrt(ops.reshape(var, shape) + eps)
    if weight is not None:
        y = y * ops.reshape(weight, shape)
    return y if bias is None else y + ops.reshape(bias, shape)


def layer_norm(x: Tensor, ndim: int = 1, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over the last `ndim` axes of each example (biased variance, as torch)."""
    ndim = args.size("layer_norm", "ndim", ndim, fix=f"normalize over 1 to {x.ndim} trailing axes of {x.type_str()}")
    if ndim > x.ndim:
        raise ShapeError(f"layer_norm: ndim={ndim} is more than the {x.ndim} axes of {x.type_str()}",
                         fix=f"normalize over 1 to {x.ndim} trailing axes")
    args.number("layer_norm", "eps", eps, low=0, low_open=True, fix="eps=1e-5 as torch")
    axes = tuple(range(x.ndim - ndim, x.ndim))
    mean = ops.mean(x, axes, keepdims=True)
    centered = x - mean
    y = centered / ops.sqrt(ops.mean(ops.square(centered), axes, keepdims=True) + eps)
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


class BatchNorm(Module):
    """Batch normalization over axis 1 of (N, C) or (N, C, ...) inputs, as torch's BatchNorm1d/2d.

    Train mode normalizes with the batch's statistics (biased variance) and updates
    the running ones with `momentum` (unbiased variance); eval mode uses the running ones.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 dtype: str = "float32"):
        super().__init__()
        self.num_features = args.size("BatchNorm", "num_features", num_features)
        self.eps = args.number("BatchNorm", "eps", eps, low=0, low_open=True, fix="eps=1e-5 as torch")
        self.momentum = args.number("BatchNorm", "momentum", momentum, low=0, high=1,
                                    fix="momentum=0.1 as torch: the weight of each new batch's statistics")
        dtype = args.float_dtype("BatchNorm", dtype)
        self.weight = parameter(np.ones(num_features, dtype), name="BatchNorm.weight") if affine else None
        self.bias = parameter(np.zeros(num_features, dtype), name="BatchNorm.bias") if affine else None
        self.buffer("running_mean", parameter(np.zeros(num_features, dtype), name="BatchNorm.running_mean"))
        self.buffer("running_var", parameter(np.ones(num_features, dtype), name="BatchNorm.running_var"))
        self._batch: tuple[Tensor, Tensor] | None = None

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] not in (None, self.num_features):
            raise ShapeError(f"BatchNorm({self.num_features}): input {x.type_str()} does not have "
                             f"{self.num_features} channels on axis 1",
                             fix="set num_features to the previous layer's channel count")
        if not self.training:
            out = batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.eps)
            record(self, [out])
            return out
        mean, var, n = self.statistics(x, (0,) + tuple(range(2, x.ndim)))
        object.__setattr__(self, "_batch", (mean, var * n / ops.maximum(n - 1.0, 1.0)))
        out = batch_norm(x, mean, var, self.weight, self.bias, self.eps)
        record(self, [out], state=(self.running_mean, self.running_var),
               stale="eval mode will normalize with running statistics that never move from their initial 0 and 1")
        return out

    def statistics(self, x: Tensor, axes: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
        """The batch's per-channel mean, biased variance and element count (the one thing
        `gc.distributed.SyncBatchNorm` changes: it takes them over every rank's batch)."""
        mean = ops.mean(x, axes)
        var = ops.mean(ops.square(x - ops.mean(x, axes, keepdims=True)), axes)
        return mean, var, ops.reduce.count(x, axes, x.dtype)

    def updates(self) -> list[tuple[Tensor, Tensor]]:
        """The running statistics moved towards those of the last train-mode forward."""
        if not self.training or self._batch is None:
            return []
        mean, unbiased = self._batch
        m = self.momentum
        return [(self.running_mean, self.running_mean * (1.0 - m) + mean * m),
                (self.running_var, self.running_var * (1.0 - m) + unbiased * m)]

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class LayerNorm(Module):
    """Normalize over the trailing `normalized_shape` of each example, then scale and shift."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, affine: bool = True,
                 dtype: str = "float32"):
        super().__init__()
        shape = tuple(args.size("LayerNorm", "normalized_shape", d, fix="pass the input's trailing dims, e.g. 64")
                      for d in args.items(normalized_shape))
        self.shape = shape
        self.eps = args.number("LayerNorm", "eps", eps, low=0, low_open=True, fix="eps=1e-5 as torch")
        dtype = args.float_dtype("LayerNorm", dtype)
        self.weight = parameter(np.ones(shape, dtype), name="LayerNorm.weight") if affine else None
        self.bias = parameter(np.zeros(shape, dtype), name="LayerNorm.bias") if affine else None

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[x.ndim - len(self.shape):] != self.shape:
            raise ShapeError(f"LayerNorm{self.shape}: input {x.type_str()} does not end in {self.shape}",
                             fix="normalized_shape must be the input's trailing dims")
        return layer_norm(x, len(self.shape), self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.shape}, eps={self.eps}"
