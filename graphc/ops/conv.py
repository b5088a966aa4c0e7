"""Convolution and pooling over images with 1 to 3 spatial axes: (N, C, L), (N, C, H, W), (N, C, D, H, W).

Three ops carry convolution: `Conv`, and its two linear transposes
`ConvGradInput` (which is also the transposed convolution) and
`ConvGradWeight`. Each one's reverse rule is written with the other two, so
derivatives of any order exist. Pooling is a reduction over `Patches` (im2col
as an op, whose transpose `Unpatches` is col2im), so its gradients come from
`max`/`sum`. NumPy rules view the padded input through `as_strided` windows
(`window.Window`) and multiply with one batched matmul per call. 1-D
convolutions and pools run as 2-D ones over a unit height.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import Tensor
from ..ir.dtypes import is_float
from ..ir.errors import DTypeError, ShapeError
from ..ir.node import Op
from . import args, reduce
from .axes import broadcast_to, constant, ones_like, reshape, zeros_like
from .operands import as_tensors, desc
from .shape import concatenate, expand_dims, squeeze, transpose
from .window import Window, sizes, window

#: the user-facing functions of this family: what graphc.ops (and gc) export
__all__ = ["avg_pool1d", "avg_pool2d", "avg_pool3d", "col2im", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
           "conv_transpose2d", "conv_transpose3d", "global_avg_pool2d", "im2col", "max_pool1d", "max_pool2d",
           "max_pool3d"]

class WindowOp(Op):
    """An op parameterized by a `Window` (and a group count for convolutions)."""

    def __init__(self, window: Window, groups: int = 1):
        self.window = window
        self.groups = groups

    def attrs(self):
        return self.window.key() + (self.groups,)

    def describe_attrs(self):
        k, s, p, d, ceil = self.window.key()
        out = {"kernel": k, "stride": s, "padding": p, "dilation": d, "groups": self.groups}
        return {**out, "ceil_mode": True} if ceil else out

    def same(self, cls: type) -> Op:
        return cls(self.window, self.groups)


def _check_images(op: str, rank: int, *xs: Tensor) -> None:
    for x in xs:
        if x.ndim != rank + 2:
            name, layout = {1: ("NCL", "(batch, channels, length)"), 2: ("NCHW", "(batch, channels, height, width)"),
                            3: ("NCDHW", "(batch, channels, depth, height, width)")}[rank]
            raise ShapeError(f"{op}: needs {rank + 2}-D {name} tensors {layout}, got {desc(*xs)}",
                             fix=f"reshape to {layout}; add axes with expand_dims")
    dtypes = {x.dtype for x in xs}
    if len(dtypes) != 1 or not is_float(xs[0].dtype):
        raise DTypeError(f"{op}: needs operands of one float dtype, got {desc(*xs)}",
                         fix="cast with gc.cast(x, 'float32')")


def _grouped_cols(win: np.ndarray, groups: int, rank: int) -> np.ndarray:
    """(N, C, *out, *kernel) windows as (G, N*P, C/G*K) im2col matrices (P pixels, K kernel elements)."""
    n, c = win.shape[:2]
    out = tuple(range(3, 3 + rank))
    kernel = tuple(range(3 + rank, 3 + 2 * rank))
    cols = win.reshape((n, groups, c // groups) + win.shape[2:]).transpose((1, 0) + out + (2,) + kernel)
    pixels, kernel_size = int(np.prod(win.shape[2:2 + rank])), int(np.prod(win.shape[2 + rank:]))
    return cols.reshape(groups, n * pixels, c // groups * kernel_size)


def _grouped_out(gy: np.ndarray, groups: int) -> np.ndarray:
    """(N, O, *out) as (G, N*P, O/G)."""
    n, o = gy.shape[:2]
    rank = gy.ndim - 2
    g = gy.reshape((n, groups, o // groups) + gy.shape[2:]).transpose((1, 0) + tuple(range(3, 3 + rank)) + (2,))
    return g.reshape(groups, -1, o // groups)


class Conv(WindowOp):
    """y[n, o] = sum over the group's input channels and kernel of x windows times w[o]."""

    kernel_kind = "conv"

    @property
    def name(self) -> str:
        return f"conv{self.window.rank}d"

    def infer(self, x, w):
        _check_images(self.name, self.window.rank, x, w)
        c, o, cg = x.shape[1], w.shape[0], w.shape[1]
        g = self.groups
        if (c is not None and c != cg * g) or (o is not None and o % g):
            raise ShapeError(f"{self.name}: input {desc(x)} and weight {desc(w)} do not fit groups={g}: the weight "
                             f"needs shape (out_channels, in_channels/groups, *kernel) with out_channels "
                             f"divisible by groups",
                             fix=f"give the weight {None if c is None else c // g} input channels per group, "
                                 f"or change the input's channels to {cg * g}")
        if w.shape[2:] != self.window.kernel:
            raise ShapeError(f"{self.name}: weight {desc(w)} does not match kernel {self.window.kernel}")
        return (x.shape[0], o) + self.window.out_size(x), x.dtype

    def numpy(self, x, w):
        win, g, o, rank = self.window, self.groups, w.shape[0], self.window.rank
        out = win.out_shape(x.shape)
        cols = _grouped_cols(win.windows(win.pad(x), out), g, rank)
        y = np.matmul(cols, w.reshape(g, o // g, -1).transpose(0, 2, 1))  # (G, N*P, O/G)
        y = y.reshape((g, x.shape[0]) + out + (o // g,))
        return y.transpose((1, 0, 2 + rank) + tuple(range(2, 2 + rank))).reshape((x.shape[0], o) + out)

    def pullback(self, node, g):
        x, w = node.inputs
        return [Tensor.make(self.same(ConvGradInput), [g, w, x]),
                Tensor.make(self.same(ConvGradWeight), [x, g, w])]


class ConvGradInput(WindowOp):
    """The transpose of a convolution in its input (the transposed convolution): gy (N, O, *out), w ->
    shaped like the donor x."""

    kernel_kind = "conv"
    donors = (2,)

    @property
    def name(self) -> str:
        return f"conv{self.window.rank}d_grad_input"

    def infer(self, gy, w, donor):
        return donor.shape, gy.dtype

    def numpy(self, gy, w, donor):
        n, o = gy.shape[:2]
        out, g, rank = gy.shape[2:], self.groups, self.window.rank
        cols = np.matmul(_grouped_out(gy, g), w.reshape(g, o // g, -1))  # (G, N*P, C/G*K)
        c = donor.shape[1]
        cols = cols.reshape((g, n) + out + (c // g,) + self.window.kernel)
        cols = cols.transpose((1, 0, 2 + rank) + tuple(range(2, 2 + rank)) + tuple(range(3 + rank, 3 + 2 * rank)))
        return self.window.unwindows(cols.reshape((n, c) + out + self.window.kernel), donor.shape)

    def pullback(self, node, g):
        gy, w, x = node.inputs
        return [Tensor.make(self.same(Conv), [g, w]), Tensor.make(self.same(ConvGradWeight), [g, gy, w]), None]


class ConvGradWeight(WindowOp):
    """The transpose of a convolution in its weight: x, gy -> shaped like the donor w."""

    kernel_kind = "conv"
    donors = (2,)

    @property
    def name(self) -> str:
        return f"conv{self.window.rank}d_grad_weight"

    def infer(self, x, gy, donor):
        return donor.shape, x.dtype

    def numpy(self, x, gy, donor):
        win, g = self.window, self.groups
        cols = _grouped_cols(win.windows(win.pad(x), gy.shape[2:]), g, win.rank)
        gw = np.matmul(_grouped_out(gy, g).transpose(0, 2, 1), cols)  # (G, O/G, C/G*K)
        return gw.reshape(donor.shape)

    def pullback(self, node, g):
        x, gy, w = node.inputs
        return [Tensor.make(self.same(ConvGradInput), [gy, g, x]), Tensor.make(self.same(Conv), [x, g]), None]


class Patches(WindowOp):
    """im2col: the (N, C, *out, *kernel) windows of the padded input (pads hold `fill`)."""

    name = "patches"
    kernel_kind = "gather"

    def __init__(self, window: Window, fill: float = 0.0):
        super().__init__(window)
        self.fill = fill

    def attrs(self):
        return self.window.key() + (self.fill,)

    def infer(self, x):
        _check_images(self.name, self.window.rank, x)
        return x.shape[:2] + self.window.out_size(x) + self.window.kernel, x.dtype

    def numpy(self, x):
        win = self.window
        return win.windows(win.pad(x, self.fill), win.out_shape(x.shape))

    def pullback(self, node, g):
        return [Tensor.make(Unpatches(self.window), [g, node.inputs[0]])]


class Unpatches(WindowOp):
    """col2im, the transpose of `Patches`: windows added back into an image shaped like the donor."""

    name = "unpatches"
    kernel_kind = "scatter"
    donors = (1,)

    def infer(self, cols, donor):
        return donor.shape, cols.dtype

    def numpy(self, cols, donor):
        return self.window.unwindows(cols, donor.shape)

    def pullback(self, node, g):
        return [Tensor.make(Patches(self.window), [g]), None]


# -- convolutions --------------------------------------------------------------------

def _conv_window(op: str, rank: int, w: Tensor, stride: Any, padding: Any, dilation: Any) -> Window:
    """The window of a convolution by weight w (O, C/groups, *kernel) over `rank` spatial axes."""
    if w.ndim != rank + 2:
        raise ShapeError(f"{op}: the weight must be {rank + 2}-D (out, in/groups, *kernel), got {desc(w)}",
                         fix=f"reshape the weight to (out_channels, in_channels/groups) + {rank} kernel sizes")
    return window(op, w.shape[2:], stride, padding, dilation, rank)


def _conv(op: str, rank: int, x: Any, w: Any, stride: Any, padding: Any, dilation: Any, groups: int) -> Tensor:
    x, w = as_tensors(x, w)
    groups = args.size(op, "groups", groups, fix="groups=1 for an ordinary convolution")
    win = _conv_window(op, rank, w, stride, padding, dilation)
    if rank == 1:
        _check_images(op, 1, x, w)
        return squeeze(Tensor.make(Conv(win.lifted(), groups), [expand_dims(x, 2), expand_dims(w, 2)]), 2)
    return Tensor.make(Conv(win, groups), [x, w])


def conv1d(x: Any, w: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation (as torch's conv1d): x (N, C, L), w (O, C/groups, k); padding as `conv2d`'s
    for one axis (an int, 'same', 'valid', or a (left, right) pair)."""
    return _conv("conv1d", 1, x, w, stride, padding, dilation, groups)


def conv2d(x: Any, w: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation (as torch's conv2d): x (N, C, H, W), w (O, C/groups, kh, kw). padding is an
    int, a pair (height, width), 'same', 'valid', or ((top, bottom), (left, right)): any sizes."""
    return _conv("conv2d", 2, x, w, stride, padding, dilation, groups)


def conv3d(x: Any, w: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """3-D cross-correlation (as torch's conv3d): x (N, C, D, H, W), w (O, C/groups, kd, kh, kw). padding
    is an int, 3 ints, 'same', 'valid', or 3 (low, high) pairs."""
    return _conv("conv3d", 3, x, w, stride, padding, dilation, groups)


def _zeros_per_image(x: Tensor, image: tuple[int, ...]) -> Tensor:
    """Zeros (N, *image) with x's batch N, free or not: the donor that shapes an op's output image."""
    zeros = constant(np.zeros((1,) + image, x.dtype))
    if x.shape[0] is not None:
        return broadcast_to(zeros, (x.shape[0],) + image)
    first = x[(slice(None),) + (slice(0, 1),) * (x.ndim - 1)]  # (N, 1, ..., 1)
    return reshape(zeros_like(first), (-1,) + (1,) * len(image)) + zeros


def _conv_transpose(op: str, rank: int, x: Any, w: Any, stride: Any, padding: Any, output_padding: Any,
                    groups: int, dilation: Any) -> Tensor:
    x, w = as_tensors(x, w)
    groups = args.size(op, "groups", groups, fix="groups=1 for an ordinary transposed convolution")
    win = _conv_window(op, rank, w, stride, padding, dilation)
    if isinstance(padding, str):
        raise ShapeError(f"{op}: padding must be explicit, got {padding!r}",
                         fix="pass an int, one per axis, or (low, high) pairs")
    extra_sizes = sizes(op, "output_padding", output_padding, 0, rank)
    _check_images(op, rank, x, w)
    c_in = x.shape[1]
    if c_in is not None and c_in != w.shape[0]:
        raise ShapeError(f"{op}: input {desc(x)} has {c_in} channels, the weight {desc(w)} expects {w.shape[0]}",
                         fix="the weight is (in_channels, out_channels/groups, *kernel), as torch's")
    if w.shape[0] % groups:
        raise ShapeError(f"{op}: the weight's {w.shape[0]} input channels are not divisible by groups={groups}")
    for a, (p, s, d) in enumerate(zip(extra_sizes, win.stride, win.dilation)):
        if p >= max(s, d):
            raise ShapeError(f"{op}: output_padding {extra_sizes} must be smaller than the stride or the dilation "
                             f"on each axis (axis {a}: stride {s}, dilation {d})", fix="lower output_padding")
    if any(v is None for v in x.shape[2:]):
        raise ShapeError(f"{op}: needs an input of static spatial sizes, got {desc(x)}",
                         fix="give the placeholder its spatial sizes")
    # output_padding first uncrops the high padding; what it adds past that is never reached by a window: zeros,
    # appended. So the op's window (low, high - output_padding) maps the output back onto exactly x's positions
    pads, spatial, zeros = [], [], []
    for a, (size, k, s, d, p) in enumerate(zip(x.shape[2:], win.kernel, win.stride, win.dilation, extra_sizes)):
        lo, hi = win.pads(a)
        pads += [lo, max(hi - p, 0)]
        zeros.append(max(p - hi, 0))
        spatial.append((size - 1) * s - lo - hi + d * (k - 1) + p + 1 - zeros[-1])
    if any(v < 1 for v in spatial):
        raise ShapeError(f"{op}: input {desc(x)} with kernel {win.kernel} and padding {win.padding} gives an "
                         f"output of spatial size {tuple(v + z for v, z in zip(spatial, zeros))}",
                         fix="lower the padding")
    win = Window(op, win.kernel, win.stride, tuple(pads), win.dilation)
    donor = _zeros_per_image(x, (w.shape[1] * groups,) + tuple(spatial))
    if rank == 1:
        y = squeeze(Tensor.make(ConvGradInput(win.lifted(), groups),
                                [expand_dims(x, 2), expand_dims(w, 2), expand_dims(donor, 2)]), 2)
    else:
        y = Tensor.make(ConvGradInput(win, groups), [x, w, donor])
    for a, z in enumerate(zeros):
        if z:
            shape = list(y.shape)
            shape[2 + a] = z
            y = concatenate([y, _zeros_per_image(x, tuple(shape[1:]))], 2 + a)
    return y


def conv_transpose1d(x: Any, w: Any, stride: Any = 1, padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """The transposed 1-D convolution (torch's conv_transpose1d): x (N, C, L), w (C, O/groups, k)."""
    return _conv_transpose("conv_transpose1d", 1, x, w, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(x: Any, w: Any, stride: Any = 1, padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """The transposed 2-D convolution (torch's conv_transpose2d; ONNX ConvTranspose): x (N, C, H, W), w (C,
    O/groups, kh, kw); the gradient of conv2d in its input. padding (cropped from the output) as conv2d's,
    explicit only; output_padding adds rows/columns at the high end, each below the stride or dilation."""
    return _conv_transpose("conv_transpose2d", 2, x, w, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(x: Any, w: Any, stride: Any = 1, padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """The transposed 3-D convolution (torch's conv_transpose3d): x (N, C, D, H, W), w (C, O/groups, kd, kh, kw)."""
    return _conv_transpose("conv_transpose3d", 3, x, w, stride, padding, output_padding, groups, dilation)


# -- pooling ----------------------------------------------------------------------------

def _pool_window(op: str, rank: int, x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                 ceil_mode: bool) -> Window:
    win = window(op, kernel_size, kernel_size if stride is None else stride, padding, dilation, rank, ceil_mode)
    _check_images(op, rank, x)
    return win


def _patches(win: Window, x: Tensor, fill: float) -> tuple[Tensor, tuple[int, ...]]:
    """The windows of x (a 1-D window runs lifted over a unit height) and their kernel axes."""
    if win.rank == 1:
        return squeeze(Tensor.make(Patches(win.lifted(), fill), [expand_dims(x, 2)]), (2, 4)), (3,)
    return Tensor.make(Patches(win, fill), [x]), tuple(range(2 + win.rank, 2 + 2 * win.rank))


def _max_pool(op: str, rank: int, x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: bool) -> Tensor:
    (x,) = as_tensors(x)
    win = _pool_window(op, rank, x, kernel_size, stride, padding, dilation, ceil_mode)
    cols, axes = _patches(win, x, float("-inf"))
    return reduce.max(cols, axis=axes)


def _counts(win: Window, spatial: tuple[int, ...]) -> np.ndarray:
    """How many of each window's elements lie in the padded input (not past it, where a ceil-mode last
    window reaches): (1, 1, *out)."""
    counts = np.ones((1, 1), np.float64)
    for a, n in enumerate(spatial):
        lo, hi = win.pads(a)
        o = np.arange(win.size_of(a, n))[:, None] * win.stride[a] + np.arange(win.kernel[a]) * win.dilation[a]
        counts = np.multiply.outer(counts, (o < n + lo + hi).sum(axis=1))
    return counts


def _avg_pool(op: str, rank: int, x: Any, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
              count_include_pad: bool, dilation: Any) -> Tensor:
    (x,) = as_tensors(x)
    win = _pool_window(op, rank, x, kernel_size, stride, padding, dilation, ceil_mode)
    cols, axes = _patches(win, x, 0.0)
    if not count_include_pad and (any(win.padding) or win.ceil):  # count the input's elements of each window
        ones, _ = _patches(win, ones_like(x[:, :1]), 0.0)
        return reduce.sum(cols, axis=axes) / reduce.sum(ones, axis=axes)
    if not win.ceil:
        return reduce.mean(cols, axis=axes)
    if None in x.shape[2:]:
        raise ShapeError(f"{op}: ceil_mode with count_include_pad needs static spatial sizes, got {desc(x)}",
                         fix="give the input static spatial sizes, or pass count_include_pad=False")
    counts = _counts(win, x.shape[2:])
    if np.all(counts == np.prod(win.kernel)):
        return reduce.mean(cols, axis=axes)
    return reduce.sum(cols, axis=axes) / constant(counts.astype(x.dtype))


def max_pool1d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """Largest value in each window of (N, C, L), as torch's max_pool1d (padding never wins: it holds -inf)."""
    return _max_pool("max_pool1d", 1, x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """Largest value in each window, as torch's max_pool2d (padding never wins: it holds -inf). padding is
    as conv2d's and may exceed half the kernel (as ONNX allows; a window all padding gives -inf)."""
    return _max_pool("max_pool2d", 2, x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """Largest value in each window of (N, C, D, H, W), as torch's max_pool3d."""
    return _max_pool("max_pool3d", 3, x, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool1d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, dilation: Any = 1) -> Tensor:
    """Mean of each window of (N, C, L), as torch's avg_pool1d."""
    return _avg_pool("avg_pool1d", 1, x, kernel_size, stride, padding, ceil_mode, count_include_pad, dilation)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, dilation: Any = 1) -> Tensor:
    """Mean of each window, as torch's avg_pool2d: padding counts as zeros in the divisor unless
    count_include_pad=False (ONNX's default); what a ceil-mode last window reaches past the padding is
    never counted. dilation is ONNX's (torch has none)."""
    return _avg_pool("avg_pool2d", 2, x, kernel_size, stride, padding, ceil_mode, count_include_pad, dilation)


def avg_pool3d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, dilation: Any = 1) -> Tensor:
    """Mean of each window of (N, C, D, H, W), as torch's avg_pool3d."""
    return _avg_pool("avg_pool3d", 3, x, kernel_size, stride, padding, ceil_mode, count_include_pad, dilation)


def global_avg_pool2d(x: Any) -> Tensor:
    """The mean over all spatial positions: (N, C, H, W) -> (N, C)."""
    (x,) = as_tensors(x)
    _check_images("global_avg_pool2d", 2, x)
    return reduce.mean(x, axis=(2, 3))


# -- im2col / col2im ------------------------------------------------------------------------

def _column_axes(rank: int) -> tuple[int, ...]:
    """(N, C, *out, *kernel) -> (N, C, *kernel, *out): the axis order of torch's unfold / ONNX's columns."""
    return (0, 1) + tuple(range(2 + rank, 2 + 2 * rank)) + tuple(range(2, 2 + rank))


def im2col(x: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1) -> Tensor:
    """The sliding windows of x (N, C, *spatial), 1 to 3 spatial axes, as columns (N, C*K, L) with K
    kernel elements and L windows: torch's unfold, the input of ONNX's Col2Im."""
    (x,) = as_tensors(x)
    rank = x.ndim - 2
    if rank not in (1, 2, 3):
        raise ShapeError(f"im2col: needs (N, C) and 1 to 3 spatial axes, got {desc(x)}")
    win = _pool_window("im2col", rank, x, kernel_size, stride, padding, dilation, False)
    cols, _ = _patches(win, x, 0.0)
    k = int(np.prod(win.kernel))
    return reshape(transpose(cols, _column_axes(rank)), (-1 if x.shape[0] is None else x.shape[0], x.shape[1] * k, -1))


def col2im(x: Any, image_shape: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1) -> Tensor:
    """Columns (N, C*K, L) added back into images (N, C, *image_shape), the transpose of `im2col`: torch's
    fold, ONNX's Col2Im (whose pads `window.onnx_padding` turns into graphc padding)."""
    (x,) = as_tensors(x)
    shape = args.items(image_shape)
    rank = len(shape)
    if rank not in (1, 2, 3) or not all(args.is_index(v) and v >= 1 for v in shape):
        raise ShapeError(f"col2im: image_shape must be 1 to 3 sizes >= 1, got {image_shape!r}")
    win = window("col2im", kernel_size, stride, padding, dilation, rank)
    k = int(np.prod(win.kernel))
    n, ck, length = x.shape if x.ndim == 3 else (None, None, None)
    out = win.out_shape((1, 1) + tuple(shape))
    if x.ndim != 3 or ck is None or ck % k or length != int(np.prod(out)) or min(out) < 1:
        raise ShapeError(f"col2im: columns {desc(x)} do not fit images {tuple(shape)} with kernel {win.kernel}, "
                         f"stride {win.stride}, padding {win.padding}, dilation {win.dilation}: expected "
                         f"(N, C*{k}, {int(np.prod(out))})", fix="check image_shape and the window arguments")
    c = ck // k
    cols = reshape(x, (-1 if n is None else n, c) + win.kernel + out)
    cols = transpose(cols, np.argsort(_column_axes(rank)).tolist())
    donor = _zeros_per_image(x, (c,) + tuple(int(v) for v in shape))
    if rank == 1:
        return squeeze(Tensor.make(Unpatches(win.lifted()), [expand_dims(cols, (2, 4)), expand_dims(donor, 2)]), 2)
    return Tensor.make(Unpatches(win), [cols, donor])
