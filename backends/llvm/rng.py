"""Philox-4x32-10 uniform numbers, bit for bit the NumPy rule of graphc/ops/random.py.

Block j of the counter-based generator is Philox of the words
[j, stream, counter low, counter high] under the key [seed low, seed high];
its four 32-bit outputs give four float32 numbers (24 bits each) or two
float64 numbers (53 bits from two words). Blocks are independent, so the
loop over them vectorizes; a last partial block stores only what is left.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir

from graphc.ops.random import PHILOX_M, PHILOX_ROUNDS, PHILOX_W, RandomUniform
from graphc.schedule import Kernel

from .codegen import F32, F64, I32, I64, KernelFunction, loop
from .kernels import Context, Operand, load, store
from .registry import EMITTERS


def philox(b: ir.IRBuilder, c: list[ir.Value], key: tuple[ir.Value, ir.Value]) -> list[ir.Value]:
    """Philox-4x32-10 of the counter words `c` under `key`, as IR: ten rounds on i32 words, 32x32 -> 64-bit
    products split into high and low halves (the CPU and GPU generators share it, so they agree bit for bit)."""
    k0, k1 = key

    def mul(m: int, w: ir.Value) -> tuple[ir.Value, ir.Value]:
        p = b.mul(ir.Constant(I64, m), b.zext(w, I64), flags=["nuw"])
        return b.trunc(b.lshr(p, ir.Constant(I64, 32)), I32), b.trunc(p, I32)

    for r in range(PHILOX_ROUNDS):
        if r:
            k0, k1 = b.add(k0, ir.Constant(I32, int(PHILOX_W[0]))), b.add(k1, ir.Constant(I32, int(PHILOX_W[1])))
        (hi0, lo0), (hi1, lo1) = mul(int(PHILOX_M[0]), c[0]), mul(int(PHILOX_M[1]), c[2])
        c = [b.xor(b.xor(hi1, c[1]), k0), lo1, b.xor(b.xor(hi0, c[3]), k1), lo0]
    return c


def uniforms(b: ir.IRBuilder, words: list[ir.Value], dtype: str) -> list[ir.Value]:
    """Philox words as uniform numbers in [0, 1), as the NumPy rule makes them. float32: (w >> 8) * 2**-24
    per word (16-bit floats: as many bits as their significand, `RandomUniform.WORD_BITS`); float64:
    ((w0 >> 5) * 2**26 + (w1 >> 6)) * 2**-53 per pair."""
    if dtype in RandomUniform.WORD_BITS:
        m = RandomUniform.WORD_BITS[dtype]
        return [b.fmul(b.uitofp(b.lshr(w, ir.Constant(I32, 32 - m)), F32), ir.Constant(F32, 2.0 ** -m)) for w in words]
    out = []
    for w0, w1 in zip(words[::2], words[1::2]):
        hi = b.shl(b.zext(b.lshr(w0, ir.Constant(I32, 5)), I64), ir.Constant(I64, 26))
        bits = b.or_(hi, b.zext(b.lshr(w1, ir.Constant(I32, 6)), I64))
        out.append(b.fmul(b.uitofp(bits, F64), ir.Constant(F64, 2.0 ** -53)))
    return out


@EMITTERS.register(RandomUniform)
def emit_random_uniform(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    b = kf.b
    op = k.node.op
    key_view = k.inputs[0]
    key = ctx.operand(key_view, key_view.shape)
    seed, counter = (load(kf, key, [ir.Constant(I64, i)]) for i in (0, 1))

    def halves(v: ir.Value) -> tuple[ir.Value, ir.Value]:
        return b.trunc(v, I32), b.trunc(b.lshr(v, ir.Constant(I64, 32)), I32)
    key_words, (c_lo, c_hi) = halves(seed), halves(counter)
    stream = ir.Constant(I32, op.stream)
    out = ctx.output(k)
    flat = Operand(out.storage, out.dtype, (1,))
    per = 4 if op.dtype in RandomUniform.WORD_BITS else 2
    full, rest = divmod(int(np.prod(ctx.program.buffers[k.output].shape, dtype=np.int64)), per)

    def block(j: ir.Value, count: int) -> None:
        words = philox(b, [b.trunc(j, I32), stream, c_lo, c_hi], key_words)
        base = b.mul(j, ir.Constant(I64, per), flags=["nuw", "nsw"])
        for lane, value in enumerate(uniforms(b, words, op.dtype)[:count]):
            store(kf, flat, [b.add(base, ir.Constant(I64, lane), flags=["nuw", "nsw"])], value)

    with loop(b, full) as j:
        block(j, per)
    if rest:
        block(ir.Constant(I64, full), rest)
