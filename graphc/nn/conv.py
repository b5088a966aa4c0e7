"""Convolution and pooling layers over images with 1 to 3 spatial axes (NCL, NCHW, NCDHW)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import ops
from ..ir import ShapeError, Tensor, parameter
from ..ops import args
from . import activations, init
from .module import Module


def _conv_init(shape: tuple, rng: np.random.Generator, dtype: str) -> np.ndarray:
    """He uniform over fan_in = in_channels/groups * kernel area (weights are (out, in/groups, *kernel))."""
    limit = np.sqrt(6.0 / int(np.prod(shape[1:])))
    return init.uniform(shape, rng, dtype, -limit, limit)


class _Conv(Module):
    """Shared state of Conv1d/2d/3d: weight (out, in/groups, *kernel), bias (out,), activation."""

    rank = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, activation: str | Callable | None = None,
                 rng: init.Rng = None, dtype: str = "float32"):
        super().__init__()
        rng = init.as_rng(rng)
        name = type(self).__name__
        in_channels = args.size(name, "in_channels", in_channels)
        out_channels = args.size(name, "out_channels", out_channels)
        groups = args.size(name, "groups", groups, fix="groups=1 for an ordinary convolution")
        kernel = self.kernel(kernel_size, stride, padding, dilation)
        dtype = args.float_dtype(name, dtype)
        if in_channels % groups or out_channels % groups:
            raise ShapeError(f"{type(self).__name__}: in_channels={in_channels} and out_channels={out_channels} "
                             f"must both be divisible by groups={groups}", fix="pick channel counts that are "
                             "multiples of groups")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.weight = parameter(_conv_init((out_channels, in_channels // groups) + kernel, rng, dtype),
                                name=f"{name}.weight")
        self.bias = parameter(np.zeros(out_channels, dtype), name=f"{name}.bias") if bias else None
        self.activation = None if activation is None else activations.get(activation)

    def kernel(self, kernel_size: Any, stride: Any, padding: Any, dilation: Any) -> tuple[int, ...]:
        """The kernel's size per spatial axis, after checking the window's arguments as the op will."""
        return ops.conv.window(type(self).__name__, kernel_size, stride, padding, dilation, self.rank).kernel

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != self.rank + 2 or x.shape[1] not in (None, self.in_channels):
            raise ShapeError(f"{self!r}: input {x.type_str()} is not (batch, {self.in_channels} channels, "
                             f"{self.rank} spatial axes)",
                             fix="make the previous layer's channel count equal in_channels (images are NCHW)")
        y = self.convolve(x)
        if self.bias is not None:
            y = y + ops.reshape(self.bias, (self.out_channels,) + (1,) * self.rank)
        return y if self.activation is None else self.activation(y)

    def convolve(self, x: Tensor) -> Tensor:
        """The convolution alone, before the bias and the activation."""
        conv = {1: ops.conv1d, 2: ops.conv2d, 3: ops.conv3d}[self.rank]
        return conv(x, self.weight, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels} -> {self.out_channels}, kernel={self.weight.shape[2:]}, stride={self.stride}, "
                f"padding={self.padding!r}")


class Conv2d(_Conv):
    """2-D convolution (cross-correlation, as torch.nn.Conv2d) with optional activation."""


class Conv1d(_Conv):
    """1-D convolution over (batch, channels, length), as torch.nn.Conv1d."""

    rank = 1


class Conv3d(_Conv):
    """3-D convolution over (batch, channels, depth, height, width), as torch.nn.Conv3d."""

    rank = 3


class _Pool(Module):
    """Shared state of the pooling layers: the window's arguments, checked when the layer is built."""

    rank = 2

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 ceil_mode: bool = False):
        super().__init__()
        ops.conv.window(type(self).__name__, kernel_size, kernel_size if stride is None else stride, padding,
                        dilation, self.rank, ceil_mode)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode


class _MaxPool(_Pool):
    def forward(self, x: Tensor) -> Tensor:
        pool = {1: ops.max_pool1d, 2: ops.max_pool2d, 3: ops.max_pool3d}[self.rank]
        return pool(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)


class _AvgPool(_Pool):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, dilation: Any = 1):
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        pool = {1: ops.avg_pool1d, 2: ops.avg_pool2d, 3: ops.avg_pool3d}[self.rank]
        return pool(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                    self.dilation)


class MaxPool1d(_MaxPool):
    """The largest value of each window of (batch, channels, length), as torch.nn.MaxPool1d."""

    rank = 1


class MaxPool2d(_MaxPool):
    """The largest value of each window (padding never wins), as torch.nn.MaxPool2d."""


class MaxPool3d(_MaxPool):
    """The largest value of each window of (batch, channels, depth, height, width), as torch.nn.MaxPool3d."""

    rank = 3


class AvgPool1d(_AvgPool):
    """The mean of each window of (batch, channels, length), as torch.nn.AvgPool1d."""

    rank = 1


class AvgPool2d(_AvgPool):
    """The mean of each window (padding counts as zeros unless count_include_pad=False), as torch.nn.AvgPool2d."""


class AvgPool3d(_AvgPool):
    """The mean of each window of (batch, channels, depth, height, width), as torch.nn.AvgPool3d."""

    rank = 3


class GlobalAvgPool2d(Module):
    """(N, C, H, W) -> (N, C): the mean over positions (a classifier head independent of image size)."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.global_avg_pool2d(x)


class Flatten(Module):
    """(N, ...) -> (N, features): between convolutional and dense layers."""

    def forward(self, x: Tensor) -> Tensor:
        return ops.flatten(x)
