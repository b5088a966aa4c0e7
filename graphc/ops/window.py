"""The static geometry of sliding windows over 1 to 3 spatial axes (convolution, pooling, im2col),
and the checks of the arguments that declare one.

Padding is a (low, high) pair per spatial axis, kept flat: (top, bottom, left, right) for images,
(front, back, top, bottom, left, right) for volumes. Users give it as torch does (an int, or one int
per axis, or 'same'/'valid') or as explicit pairs per axis, any of them asymmetric and of any size;
`onnx_padding` turns ONNX's `pads`/`auto_pad` into pairs. With `ceil` (torch's and ONNX's ceil_mode)
the output keeps a last, partial window where the floor would drop it, as long as that window starts
inside the input or its low padding; the positions it reaches past the high padding hold the fill.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..ir import Tensor
from ..ir.errors import ShapeError
from . import args
from .operands import desc

Sizes = tuple[int, ...]
Padding = tuple[int, ...]  # (low, high) per spatial axis, flattened

_PARTS = {1: "(length)", 2: "(height, width)", 3: "(depth, height, width)"}
_SIDES = {1: ("(left, right)",), 2: ("(top, bottom)", "(left, right)"),
          3: ("(front, back)", "(top, bottom)", "(left, right)")}


class Window:
    """Kernel, stride, padding, dilation and ceil mode per spatial axis."""

    def __init__(self, op: str, kernel: Sizes, stride: Sizes, padding: Padding, dilation: Sizes, ceil: bool = False):
        self.op, self.kernel, self.stride, self.padding, self.dilation = op, kernel, stride, padding, dilation
        self.ceil = ceil

    @property
    def rank(self) -> int:
        """The number of spatial axes."""
        return len(self.kernel)

    def key(self) -> tuple:
        return (self.kernel, self.stride, self.padding, self.dilation, self.ceil)

    def pads(self, axis: int) -> tuple[int, int]:
        """(low, high) padding of one spatial axis."""
        return self.padding[2 * axis], self.padding[2 * axis + 1]

    def lifted(self) -> "Window":
        """This window with a unit axis in front (a 1-D window run as a 2-D one over a unit height)."""
        return Window(self.op, (1,) + self.kernel, (1,) + self.stride, (0, 0) + self.padding, (1,) + self.dilation,
                      self.ceil)

    def size_of(self, axis: int, n: int) -> int:
        """The output size along one axis of input size n (not positive: the input is too small)."""
        k, s, d = self.kernel[axis], self.stride[axis], self.dilation[axis]
        lo, hi = self.pads(axis)
        span = n + lo + hi - d * (k - 1) - 1
        if span < 0 or not self.ceil:
            return span // s + 1
        out = -(-span // s) + 1
        return out - 1 if (out - 1) * s >= n + lo else out  # the last window starts in the input or its low pad

    def out_size(self, x: Tensor) -> tuple[int | None, ...]:
        """The output's spatial sizes for x (None for a free dim), checked to be positive."""
        sizes = []
        for axis, n in enumerate(x.shape[2:]):
            size = None if n is None else self.size_of(axis, n)
            if size is not None and size < 1:
                raise ShapeError(
                    f"{self.op}: input {desc(x)} is too small for kernel {self.kernel}, stride {self.stride}, "
                    f"padding {self.padding}, dilation {self.dilation}: spatial axis {axis} gives an output "
                    f"size of {size}",
                    fix="use a smaller kernel or dilation, add padding (e.g. padding='same'), or pool less "
                        "before this layer")
            sizes.append(size)
        return tuple(sizes)

    def out_shape(self, shape: Sequence[int]) -> Sizes:
        """The output's spatial sizes for a concrete input shape (N, C, *spatial)."""
        return tuple(self.size_of(axis, n) for axis, n in enumerate(shape[2:]))

    def extents(self, shape: Sequence[int]) -> Sizes:
        """The padded input's spatial sizes: the padding, and past it what a ceil-mode last window reaches."""
        out = []
        for axis, (n, o) in enumerate(zip(shape[2:], self.out_shape(shape))):
            lo, hi = self.pads(axis)
            reach = (o - 1) * self.stride[axis] + self.dilation[axis] * (self.kernel[axis] - 1) + 1
            out.append(max(n + lo + hi, reach))
        return tuple(out)

    def pad(self, x: np.ndarray, value: float = 0.0) -> np.ndarray:
        """x padded with `value` to the extents the windows read."""
        widths = [(0, 0), (0, 0)]
        for axis, (n, e) in enumerate(zip(x.shape[2:], self.extents(x.shape))):
            lo = self.pads(axis)[0]
            widths.append((lo, e - n - lo))
        if not any(w for pair in widths for w in pair):
            return x
        return np.pad(x, widths, constant_values=value)

    def windows(self, xp: np.ndarray, out: Sequence[int]) -> np.ndarray:
        """A (N, C, *out, *kernel) strided view of the padded input."""
        st = xp.strides
        spatial = st[2:]
        strides = st[:2] + tuple(s * k for s, k in zip(spatial, self.stride)) + \
            tuple(s * d for s, d in zip(spatial, self.dilation))
        return as_strided(xp, xp.shape[:2] + tuple(out) + self.kernel, strides, writeable=False)

    def unwindows(self, cols: np.ndarray, shape: Sequence[int]) -> np.ndarray:
        """The transpose of `windows` then `pad`: add each window back in place, crop the padding."""
        out = np.zeros(tuple(shape[:2]) + self.extents(shape), cols.dtype)
        sizes = cols.shape[2:2 + self.rank]
        lead = (slice(None),) * (2 + self.rank)
        for at in itertools.product(*(range(k) for k in self.kernel)):
            place = tuple(slice(i * d, i * d + s * (o - 1) + 1, s)
                          for i, d, s, o in zip(at, self.dilation, self.stride, sizes))
            out[(slice(None), slice(None)) + place] += cols[lead + at]
        crop = tuple(slice(self.pads(a)[0], self.pads(a)[0] + n) for a, n in enumerate(shape[2:]))
        return out[(slice(None), slice(None)) + crop]


# -- arguments --------------------------------------------------------------------

def sizes(op: str, name: str, v: Any, minimum: int, rank: int) -> Sizes:
    """One int for every spatial axis, or one int per axis; each at least `minimum`."""
    values = args.items(v) * (rank if args.is_index(v) else 1)
    if len(values) != rank or not all(args.is_index(p) and p >= minimum for p in values):
        example = max(minimum, 1)
        more = "" if rank == 1 else f" or {rank} of them {_PARTS[rank]}"
        raise ShapeError(f"{op}: {name} must be an int >= {minimum}{more}, got {v!r}",
                         fix=f"pass e.g. {name}={example} or {name}={(example,) * rank}")
    return tuple(int(p) for p in values)


def _is_pairs(padding: Any, rank: int) -> bool:
    return (isinstance(padding, (tuple, list)) and len(padding) == rank
            and all(isinstance(p, (tuple, list)) for p in padding))


def padding(op: str, padding: Any, kernel: Sizes, stride: Sizes, dilation: Sizes) -> Padding:
    """(low, high) per axis, flattened, from 'valid', 'same', an int, one int per axis, a (low, high) pair
    per axis, or for one axis a bare (low, high) pair."""
    rank = len(kernel)
    pairs_example = ((1, 1),) * rank
    fix = f"pass 'same', 'valid', an int, {rank} ints {_PARTS[rank]} or {rank} (low, high) pairs: {pairs_example}"
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * (2 * rank)
        if padding != "same":
            raise ShapeError(f"{op}: padding {padding!r} is not 'same' or 'valid'", fix=fix)
        if any(s != 1 for s in stride):
            raise ShapeError(f"{op}: padding='same' needs stride 1, got stride {stride}",
                             fix="give explicit padding (e.g. padding=k//2) for a strided layer")
        out: list[int] = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            out += [total // 2, total - total // 2]  # as torch: the odd extra pixel goes after
        return tuple(out)
    if rank == 1 and isinstance(padding, (tuple, list)) and len(padding) == 2 and all(map(args.is_index, padding)):
        padding = (tuple(padding),)
    sides = _SIDES[rank]
    if _is_pairs(padding, rank):
        out = []
        for pair, side in zip(padding, sides):
            if len(pair) != 2 or not all(args.is_index(p) and p >= 0 for p in pair):
                raise ShapeError(f"{op}: padding must be a pair of ints >= 0 per axis, here {side}, got "
                                 f"{tuple(pair)!r} (in {padding!r})", fix=fix)
            out += [int(pair[0]), int(pair[1])]
        return tuple(out)
    if rank == 1 and not (args.is_index(padding) and padding >= 0):
        raise ShapeError(f"{op}: padding must be an int >= 0 or a pair of them {sides[0]}, got {padding!r}", fix=fix)
    if isinstance(padding, (tuple, list)) and not (len(padding) == rank and all(map(args.is_index, padding))):
        raise ShapeError(f"{op}: padding {padding!r} is not an int, {rank} ints or {rank} (low, high) pairs",
                         fix=fix)
    return tuple(p for p in sizes(op, "padding", padding, 0, rank) for _ in (0, 1))


def window(op: str, kernel: Any, stride: Any, pad: Any, dilation: Any, rank: int = 2,
           ceil: bool = False) -> Window:
    """The checked geometry of a window over `rank` spatial axes (layers call it when built, so errors
    lead with that line)."""
    kernel = sizes(op, "kernel_size", kernel, 1, rank)
    stride = sizes(op, "stride", stride, 1, rank)
    dilation = sizes(op, "dilation", dilation, 1, rank)
    if not isinstance(ceil, (bool, np.bool_)):
        raise ShapeError(f"{op}: ceil_mode must be True or False, got {ceil!r}", fix="pass ceil_mode=True")
    return Window(op, kernel, stride, padding(op, pad, kernel, stride, dilation), dilation, bool(ceil))


def onnx_padding(op: str, spatial: Sequence[int | None], kernel: Sequence[int], stride: Sequence[int] | None = None,
                 dilation: Sequence[int] | None = None, pads: Sequence[int] | None = None,
                 auto_pad: str = "NOTSET") -> tuple[tuple[int, int], ...]:
    """ONNX's `pads` ([x1_begin, x2_begin, ..., x1_end, x2_end, ...]) or `auto_pad` as graphc padding: a
    (low, high) pair per spatial axis. SAME_UPPER/SAME_LOWER keep ceil(n / stride) outputs, the odd extra
    pixel after (UPPER) or before (LOWER); they need the input's spatial sizes `spatial`."""
    rank = len(kernel)
    stride = tuple(stride or (1,) * rank)
    dilation = tuple(dilation or (1,) * rank)
    if auto_pad in ("NOTSET", ""):
        pads = tuple(pads or (0,) * (2 * rank))
        if len(pads) != 2 * rank or any(p < 0 for p in pads):
            raise ShapeError(f"{op}: pads {list(pads)} must be {2 * rank} ints >= 0 (all begins, then all ends)")
        return tuple((int(pads[a]), int(pads[rank + a])) for a in range(rank))
    if auto_pad == "VALID":
        return ((0, 0),) * rank
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise ShapeError(f"{op}: auto_pad {auto_pad!r} is not NOTSET, VALID, SAME_UPPER or SAME_LOWER")
    if any(n is None for n in spatial):
        raise ShapeError(f"{op}: auto_pad={auto_pad} needs the input's spatial sizes, got {tuple(spatial)}",
                         fix="give the input static spatial sizes")
    out = []
    for n, k, s, d in zip(spatial, kernel, stride, dilation):
        total = max(0, (math.ceil(n / s) - 1) * s + d * (k - 1) + 1 - n)
        small, large = total // 2, total - total // 2
        out.append((small, large) if auto_pad == "SAME_UPPER" else (large, small))
    return tuple(out)
