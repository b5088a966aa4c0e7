"""Convolution and pooling over NCHW images.

Three ops carry convolution: `Conv2d`, and its two linear transposes
`ConvGradInput` and `ConvGradWeight`. Each one's reverse rule is written with
the other two, so derivatives of any order exist. Pooling is a reduction over
`Patches` (im2col as an op, whose transpose is `Unpatches`), so its gradients
come from `max`/`mean`. NumPy rules view the padded input through `as_strided`
windows and multiply with one batched matmul per call.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..ir import Tensor
from ..ir.dtypes import is_float
from ..ir.errors import DTypeError, ShapeError
from ..ir.node import Op
from . import args, reduce
from .operands import as_tensors, desc
from .shape import expand_dims, squeeze

#: the user-facing functions of this family: what graphc.ops (and gc) export
__all__ = ["avg_pool2d", "conv1d", "conv2d", "global_avg_pool2d", "max_pool2d"]

Pair = tuple[int, int]
Padding = tuple[int, int, int, int]  # top, bottom, left, right


class Window:
    """The static geometry shared by convolutions and pools: kernel, stride, padding, dilation."""

    def __init__(self, op: str, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair):
        self.op, self.kernel, self.stride, self.padding, self.dilation = op, kernel, stride, padding, dilation

    def key(self) -> tuple:
        return (self.kernel, self.stride, self.padding, self.dilation)

    def spans(self, spatial: tuple) -> list[int | None]:
        """h + 2p - d(k-1) - 1 per spatial axis (None for a free dim); the output size is span // s + 1."""
        out = []
        for axis, n in enumerate(spatial):
            k, d = self.kernel[axis], self.dilation[axis]
            p = self.padding[2 * axis] + self.padding[2 * axis + 1]
            out.append(None if n is None else n + p - d * (k - 1) - 1)
        return out

    def out_size(self, x: Tensor) -> tuple[int | None, int | None]:
        """floor((h + 2p - d(k-1) - 1)/s) + 1 per spatial axis, checked to be positive."""
        sizes = []
        for axis, span in enumerate(self.spans(x.shape[2:])):
            s = self.stride[axis]
            if span is not None and span < 0:
                raise ShapeError(
                    f"{self.op}: input {desc(x)} is too small for kernel {self.kernel}, stride {self.stride}, "
                    f"padding {self.padding}, dilation {self.dilation}: spatial axis {axis} gives an output "
                    f"size of {span // s + 1}",
                    fix="use a smaller kernel or dilation, add padding (e.g. padding='same'), or pool less "
                        "before this layer")
            sizes.append(None if span is None else span // s + 1)
        return sizes[0], sizes[1]

    def out_shape(self, shape: tuple) -> tuple[int, int]:
        """The output's (Ho, Wo) for a concrete input shape."""
        ho, wo = (span // s + 1 for span, s in zip(self.spans(shape[2:]), self.stride))
        return ho, wo

    def pad(self, x: np.ndarray, value: float = 0.0) -> np.ndarray:
        t, b, l, r = self.padding  # noqa: E741 - (top, bottom, left, right), the padding's order
        if not any(self.padding):
            return x
        return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value)

    def windows(self, xp: np.ndarray, out: tuple[int, int]) -> np.ndarray:
        """A (N, C, Ho, Wo, kh, kw) strided view of the padded input."""
        n, c = xp.shape[:2]
        s0, s1, s2, s3 = xp.strides
        (sh, sw), (dh, dw) = self.stride, self.dilation
        return as_strided(xp, (n, c) + tuple(out) + self.kernel,
                          (s0, s1, s2 * sh, s3 * sw, s2 * dh, s3 * dw), writeable=False)

    def unwindows(self, cols: np.ndarray, shape: tuple) -> np.ndarray:
        """The transpose of `windows` then `pad`: add each window back in place, crop the padding."""
        n, c, h, w = shape
        t, b, l, r = self.padding  # noqa: E741 - (top, bottom, left, right), the padding's order
        out = np.zeros((n, c, h + t + b, w + l + r), cols.dtype)
        ho, wo = cols.shape[2:4]
        (sh, sw), (dh, dw) = self.stride, self.dilation
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                out[:, :, i * dh: i * dh + sh * (ho - 1) + 1: sh, j * dw: j * dw + sw * (wo - 1) + 1: sw] += \
                    cols[:, :, :, :, i, j]
        return out[:, :, t: t + h, l: l + w]


class WindowOp(Op):
    """An op parameterized by a `Window` (and a group count for convolutions)."""

    def __init__(self, window: Window, groups: int = 1):
        self.window = window
        self.groups = groups

    def attrs(self):
        return self.window.key() + (self.groups,)

    def describe_attrs(self):
        k, s, p, d = self.window.key()
        return {"kernel": k, "stride": s, "padding": p, "dilation": d, "groups": self.groups}

    def same(self, cls: type) -> Op:
        return cls(self.window, self.groups)


def _check_images(op: str, *xs: Tensor) -> None:
    for x in xs:
        if x.ndim != 4:
            raise ShapeError(f"{op}: needs 4-D NCHW tensors, got {desc(*xs)}",
                             fix="reshape to (batch, channels, height, width); add axes with expand_dims")
    dtypes = {x.dtype for x in xs}
    if len(dtypes) != 1 or not is_float(xs[0].dtype):
        raise DTypeError(f"{op}: needs operands of one float dtype, got {desc(*xs)}",
                         fix="cast with gc.cast(x, 'float32')")


def _grouped_cols(win: np.ndarray, groups: int) -> np.ndarray:
    """(N, C, Ho, Wo, kh, kw) windows as (G, N*Ho*Wo, C/G*kh*kw) im2col matrices."""
    n, c, ho, wo, kh, kw = win.shape
    cols = win.reshape(n, groups, c // groups, ho, wo, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6)
    return cols.reshape(groups, n * ho * wo, (c // groups) * kh * kw)


def _grouped_out(gy: np.ndarray, groups: int) -> np.ndarray:
    """(N, O, Ho, Wo) as (G, N*Ho*Wo, O/G)."""
    n, o, ho, wo = gy.shape
    return gy.reshape(n, groups, o // groups, ho, wo).transpose(1, 0, 3, 4, 2).reshape(groups, -1, o // groups)


class Conv2d(WindowOp):
    """y[n, o] = sum over the group's input channels and kernel of x windows times w[o]."""

    name = "conv2d"
    kernel_kind = "conv"

    def infer(self, x, w):
        _check_images(self.name, x, w)
        c, o, cg = x.shape[1], w.shape[0], w.shape[1]
        g = self.groups
        if (c is not None and c != cg * g) or (o is not None and o % g):
            raise ShapeError(f"conv2d: input {desc(x)} and weight {desc(w)} do not fit groups={g}: the weight "
                             f"needs shape (out_channels, in_channels/groups, kh, kw) with out_channels "
                             f"divisible by groups",
                             fix=f"give the weight {None if c is None else c // g} input channels per group, "
                                 f"or change the input's channels to {cg * g}")
        if w.shape[2:] != self.window.kernel:
            raise ShapeError(f"conv2d: weight {desc(w)} does not match kernel {self.window.kernel}")
        return (x.shape[0], o) + self.window.out_size(x), x.dtype

    def numpy(self, x, w):
        win = self.window
        ho, wo = win.out_shape(x.shape)
        cols = _grouped_cols(win.windows(win.pad(x), (ho, wo)), self.groups)
        g, o = self.groups, w.shape[0]
        y = np.matmul(cols, w.reshape(g, o // g, -1).transpose(0, 2, 1))  # (G, N*Ho*Wo, O/G)
        return y.reshape(g, x.shape[0], ho, wo, o // g).transpose(1, 0, 4, 2, 3).reshape(x.shape[0], o, ho, wo)

    def pullback(self, node, g):
        x, w = node.inputs
        return [Tensor.make(self.same(ConvGradInput), [g, w, x]),
                Tensor.make(self.same(ConvGradWeight), [x, g, w])]


class ConvGradInput(WindowOp):
    """The transpose of conv2d in its input: gy (N, O, Ho, Wo), w -> shaped like the donor x."""

    name = "conv2d_grad_input"
    kernel_kind = "conv"
    donors = (2,)

    def infer(self, gy, w, donor):
        return donor.shape, gy.dtype

    def numpy(self, gy, w, donor):
        n, o, ho, wo = gy.shape
        g = self.groups
        cols = np.matmul(_grouped_out(gy, g), w.reshape(g, o // g, -1))  # (G, N*Ho*Wo, C/G*kh*kw)
        c = donor.shape[1]
        kh, kw = self.window.kernel
        cols = cols.reshape(g, n, ho, wo, c // g, kh, kw).transpose(1, 0, 4, 2, 3, 5, 6)
        return self.window.unwindows(cols.reshape(n, c, ho, wo, kh, kw), donor.shape)

    def pullback(self, node, g):
        gy, w, x = node.inputs
        return [Tensor.make(self.same(Conv2d), [g, w]), Tensor.make(self.same(ConvGradWeight), [g, gy, w]), None]


class ConvGradWeight(WindowOp):
    """The transpose of conv2d in its weight: x, gy -> shaped like the donor w."""

    name = "conv2d_grad_weight"
    kernel_kind = "conv"
    donors = (2,)

    def infer(self, x, gy, donor):
        return donor.shape, x.dtype

    def numpy(self, x, gy, donor):
        win, g = self.window, self.groups
        cols = _grouped_cols(win.windows(win.pad(x), gy.shape[2:]), g)
        gw = np.matmul(_grouped_out(gy, g).transpose(0, 2, 1), cols)  # (G, O/G, C/G*kh*kw)
        return gw.reshape(donor.shape)

    def pullback(self, node, g):
        x, gy, w = node.inputs
        return [Tensor.make(self.same(ConvGradInput), [gy, g, x]), Tensor.make(self.same(Conv2d), [x, g]), None]


class Patches(WindowOp):
    """im2col: the (N, C, Ho, Wo, kh, kw) windows of the padded input (pads hold `fill`)."""

    name = "patches"
    kernel_kind = "gather"

    def __init__(self, window: Window, fill: float = 0.0):
        super().__init__(window)
        self.fill = fill

    def attrs(self):
        return self.window.key() + (self.fill,)

    def infer(self, x):
        _check_images(self.name, x)
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


# -- user-facing functions -------------------------------------------------------

def _pair(op: str, name: str, v: Any, minimum: int, parts: str = "(height, width)") -> Pair:
    """One int for both `parts`, or a pair of them; each at least `minimum`."""
    pair = args.items(v) * (2 if args.is_index(v) else 1)
    if len(pair) != 2 or not all(args.is_index(p) and p >= minimum for p in pair):
        example = max(minimum, 1)
        raise ShapeError(f"{op}: {name} must be an int >= {minimum} or a pair of them {parts}, got {v!r}",
                         fix=f"pass e.g. {name}={example} or {name}=({example}, {example})")
    return int(pair[0]), int(pair[1])


def _padding(op: str, padding: Any, kernel: Pair, stride: Pair, dilation: Pair) -> Padding:
    """(top, bottom, left, right) from 'valid', 'same', an int, a pair, or ((top, bottom), (left, right))."""
    if isinstance(padding, str) and padding not in ("valid", "same"):
        raise ShapeError(f"{op}: padding {padding!r} is not 'same' or 'valid'",
                         fix="pass 'same', 'valid', an int, a pair (height, width) or ((top, bottom), (left, right))")
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        if stride != (1, 1):
            raise ShapeError(f"{op}: padding='same' needs stride 1, got stride {stride}",
                             fix="give explicit padding (e.g. padding=k//2) for a strided layer")
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads += [total // 2, total - total // 2]  # as torch: the odd extra pixel goes after
        return tuple(pads)  # type: ignore[return-value]
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(isinstance(p, (tuple, list)) for p in padding):
        t, b = _pair(op, "padding", padding[0], 0, "(top, bottom)")
        l, r = _pair(op, "padding", padding[1], 0, "(left, right)")  # noqa: E741 - (top, bottom, left, right), the padding's order
        return (t, b, l, r)
    ph, pw = _pair(op, "padding", padding, 0)
    return (ph, ph, pw, pw)


def window(op: str, kernel: Any, stride: Any, padding: Any, dilation: Any) -> Window:
    """The checked geometry of a 2-D window (layers call it when built, so errors lead with that line)."""
    kernel = _pair(op, "kernel_size", kernel, 1)
    stride = _pair(op, "stride", stride, 1)
    dilation = _pair(op, "dilation", dilation, 1)
    return Window(op, kernel, stride, _padding(op, padding, kernel, stride, dilation), dilation)


def conv2d(x: Any, w: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation (as torch's conv2d): x (N, C, H, W), w (O, C/groups, kh, kw)."""
    x, w = as_tensors(x, w)
    if w.ndim != 4:
        raise ShapeError(f"conv2d: the weight must be 4-D (out, in/groups, kh, kw), got {desc(w)}",
                         fix="reshape the weight to (out_channels, in_channels/groups, kh, kw)")
    groups = args.size("conv2d", "groups", groups, fix="groups=1 for an ordinary convolution")
    win = window("conv2d", w.shape[2:], stride, padding, dilation)
    return Tensor.make(Conv2d(win, groups), [x, w])


def conv1d(x: Any, w: Any, stride: int = 1, padding: Any = 0, dilation: int = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation: x (N, C, L), w (O, C/groups, k); a conv2d over a unit height."""
    x, w = as_tensors(x, w)
    if x.ndim != 3 or w.ndim != 3:
        raise ShapeError(f"conv1d: needs x (N, C, L) and w (O, C/groups, k), got {desc(x, w)}",
                         fix="reshape to 3-D; use conv2d for images")
    groups = args.size("conv1d", "groups", groups, fix="groups=1 for an ordinary convolution")
    y = conv2d(expand_dims(x, 2), expand_dims(w, 2), *line_args("conv1d", stride, padding, dilation), groups=groups)
    return squeeze(y, 2)


def line_args(op: str, stride: Any, padding: Any, dilation: Any) -> tuple[Pair, Any, Pair]:
    """conv1d's stride, padding and dilation as conv2d's over a unit height, checked in `op`'s name."""
    stride = args.size(op, "stride", stride)
    dilation = args.size(op, "dilation", dilation)
    if isinstance(padding, str):
        _padding(op, padding, (1, 1), (1, stride), (1, 1))
        return (1, stride), padding, (1, dilation)
    return (1, stride), ((0, 0), _pair(op, "padding", padding, 0, "(left, right)")), (1, dilation)


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Largest value in each window (padding never wins: it holds -inf), as torch's max_pool2d."""
    (x,) = as_tensors(x)
    win = window("max_pool2d", kernel_size, kernel_size if stride is None else stride, padding, 1)
    _check_pool_padding(win, x)
    return reduce.max(Tensor.make(Patches(win, float("-inf")), [x]), axis=(4, 5))


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Mean of each window, padding counted as zeros (torch's default count_include_pad=True)."""
    (x,) = as_tensors(x)
    win = window("avg_pool2d", kernel_size, kernel_size if stride is None else stride, padding, 1)
    _check_pool_padding(win, x)
    return reduce.mean(Tensor.make(Patches(win), [x]), axis=(4, 5))


def _check_pool_padding(win: Window, x: Tensor) -> None:
    k, p = win.kernel, win.padding
    if any(2 * p[2 * a + side] > k[a] for a in (0, 1) for side in (0, 1)):
        raise ShapeError(f"{win.op}: padding {p} is more than half the kernel {k} (input {desc(x)})",
                         fix="use padding <= kernel_size // 2, as torch requires")


def global_avg_pool2d(x: Any) -> Tensor:
    """The mean over all spatial positions: (N, C, H, W) -> (N, C)."""
    (x,) = as_tensors(x)
    _check_images("global_avg_pool2d", x)
    return reduce.mean(x, axis=(2, 3))
