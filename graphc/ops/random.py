"""Counter-based random numbers: Philox-4x32-10 in NumPy uint32 arithmetic.

A random draw is a pure function of a key tensor `[seed, counter]` (int64[2]):
the same key gives the same numbers on every backend, so a compiled backend can
reproduce the reference bit for bit. Fresh numbers come from advancing the
counter with an update (`next_key`), never from hidden global state.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..ir import Tensor, constant
from ..ir.dtypes import canonical, is_float
from ..ir.errors import DTypeError, ShapeError
from ..ir.node import Op
from . import args
from .operands import desc
from .axes import broadcast_to

#: the user-facing functions of this family: what graphc.ops (and gc) export
__all__ = ["next_key", "random_uniform"]

#: Philox-4x32-10's multipliers, Weyl key increments and rounds (Salmon et al. 2011), which every
#: backend's generator uses so that all draw the reference's numbers
PHILOX_M = (np.uint64(0xD2511F53), np.uint64(0xCD9E8D57))
PHILOX_W = (np.uint64(0x9E3779B9), np.uint64(0xBB67AE85))
_MASK = np.uint64(0xFFFFFFFF)
PHILOX_ROUNDS = 10


def philox4x32(counter: Sequence[np.ndarray], key: Sequence[int]) -> list[np.ndarray]:
    """Philox-4x32-10 of counter words (uint64 arrays holding 32-bit values) under a 2-word key."""
    c = [np.asarray(w, np.uint64) & _MASK for w in counter]
    k0, k1 = np.uint64(key[0]) & _MASK, np.uint64(key[1]) & _MASK
    for r in range(PHILOX_ROUNDS):
        if r:
            k0, k1 = (k0 + PHILOX_W[0]) & _MASK, (k1 + PHILOX_W[1]) & _MASK
        p0, p1 = PHILOX_M[0] * c[0], PHILOX_M[1] * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k0, p1 & _MASK, (p0 >> np.uint64(32)) ^ c[3] ^ k1, p0 & _MASK]
    return c


def uniform_bits(seed: int, counter: int, stream: int, n_words: int) -> np.ndarray:
    """`n_words` random 32-bit words (as uint64) for one key and stream."""
    blocks = np.arange((n_words + 3) // 4, dtype=np.uint64)
    words = philox4x32([blocks & _MASK, np.full_like(blocks, stream), np.full_like(blocks, counter & 0xFFFFFFFF),
                        np.full_like(blocks, (counter >> 32) & 0xFFFFFFFF)],
                       (seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF))
    return np.stack(words, axis=1).reshape(-1)[:n_words]


class RandomUniform(Op):
    """Uniform numbers in [0, 1) shaped like `donor`, from key `[seed, counter]` (no gradient)."""

    name = "random_uniform"
    kernel_kind = "rng"
    #: dtype -> random bits per number for the dtypes drawn one 32-bit word each (float64 takes two
    #: words, 53 bits): the significand's width, so the result is exact and never rounds up to 1
    WORD_BITS = {"float16": 11, "bfloat16": 8, "float32": 24}
    fields = ("dtype", "stream")
    donors = (1,)
    differentiable = False

    def infer(self, key, donor):
        if key.dtype != "int64" or key.shape != (2,):
            raise DTypeError(f"random_uniform: the key must be int64[2] ([seed, counter]), got {desc(key)}",
                             fix="hold the key in gc.parameter(np.array([seed, 0], 'int64'))")
        return donor.shape, self.dtype

    def numpy(self, key, donor):
        seed, counter = (int(v) for v in key)
        n = int(np.prod(donor.shape))
        if self.dtype in self.WORD_BITS:  # 24 random bits per float32 (11 per float16, 8 per bfloat16)
            m = self.WORD_BITS[self.dtype]
            bits = uniform_bits(seed, counter, self.stream, n) >> np.uint64(32 - m)
            out = bits.astype(np.float32) * np.float32(2.0 ** -m)
        else:  # 53 bits from two words
            w = uniform_bits(seed, counter, self.stream, 2 * n).reshape(n, 2)
            out = ((w[:, 0] >> np.uint64(5)) * np.uint64(1 << 26) + (w[:, 1] >> np.uint64(6))) * 2.0 ** -53
        return out.reshape(donor.shape)

    def pullback(self, node, g):
        return [None, None]


def random_uniform(key: Tensor, shape: Any, dtype: Any = "float32", stream: int = 0) -> Tensor:
    """Uniform [0, 1) numbers of a static `shape`, or shaped like a tensor `shape`.

    `stream` separates independent draws that share one key in one graph.
    """
    dtype = canonical(dtype, "random_uniform")
    if not is_float(dtype):
        raise DTypeError(f"random_uniform: dtype must be floating (float16, bfloat16, float32 or float64), got {dtype}",
                         fix="draw floats and cast them, or compare them with a threshold for bools")
    if isinstance(shape, Tensor):
        donor = shape
    else:
        dims = args.dims("random_uniform", shape, free_fix="pass a tensor instead to take its (possibly free) shape")
        donor = broadcast_to(constant(np.zeros((1,) * len(dims), "bool")), dims)
    stream = args.size("random_uniform", "stream", stream, minimum=0)
    if stream >= 2 ** 32:
        raise ShapeError(f"random_uniform: stream {stream} must fit in 32 bits", fix="use a stream in [0, 2**32)")
    return Tensor.make(RandomUniform(dtype, stream), [key, donor])


def next_key(key: Tensor) -> Tensor:
    """The key with its counter advanced by one: use it as the key parameter's update."""
    return key + constant(np.array([0, 1], "int64"))
