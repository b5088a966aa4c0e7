"""Matrix products: BLAS through its exported function pointers, or loop kernels made for the shapes
where OpenBLAS is slow, and the epilogue a fused matmul applies to the product.

Row-major C = A @ B is column-major C^T = B^T A^T, so one BLAS call takes any
operand whose rows or columns are contiguous. A batch of products sharing its
right operand is folded into one product with all the rows. A product with
few rows and many columns whose B has its k axis contiguous (x @ W.T) runs as
column-major C = A B instead, BLAS's m being C's rows: OpenBLAS is up to twice
as fast that way round (see `flip_pays`); the result lands transposed in
scratch and a tiled transpose (kernels.py) puts it in place. The loop kernels are
written so that LLVM's vectorizer finds the contiguous axis: see each one.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir

from graphc.ops import fused
from graphc.ops.fused import MatMulEpilogue
from graphc.ops.linalg import MatMul
from graphc.schedule import Kernel, View

from . import blas
from .codegen import (F32, I8, I64, PTR, KernelFunction, Unsupported, broadcast_strides, contiguous_strides,
                      element, intrinsic, loop, nest, storage_type)
from .kernels import Context, Operand, Scratch, alloca, body_compute, emit_copy, fill_zero, load, map_loop, store
from .registry import EMITTERS


def _as_matrix(v: View, left: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(shape, strides) with 1-D operands promoted like np.matmul: a row on the left, a column on the right."""
    if len(v.shape) == 1:
        return ((1,) + v.shape, (0,) + v.strides) if left else (v.shape + (1,), v.strides + (0,))
    return v.shape, v.strides


def _gemm_layout(rows: int, cols: int, srow: int, scol: int) -> tuple[str, int] | None:
    """How BLAS (column-major) reads a row-major rows x cols operand: ('N' | 'T', leading dim), or None."""
    if scol == 1 or cols == 1:
        ld = srow if rows > 1 else cols
        if ld >= max(1, cols):
            return "N", ld
    if srow == 1 or rows == 1:
        ld = scol if cols > 1 else rows
        if ld >= max(1, rows):
            return "T", ld
    return None


@EMITTERS.register(MatMul, MatMulEpilogue)
def emit_matmul(ctx: Context, k: Kernel, kf: KernelFunction) -> None:
    a, bv = k.inputs[:2]
    out_dtype = ctx.dtype(k.output)
    if out_dtype not in ("float32", "float64") or ctx.dtype(a.buffer) != out_dtype or ctx.dtype(bv.buffer) != out_dtype:
        raise Unsupported(f"matmul of {ctx.dtype(a.buffer)} and {ctx.dtype(bv.buffer)}")
    (ashape, astr), (bshape, bstr) = _as_matrix(a, True), _as_matrix(bv, False)
    m, kk, n = ashape[-2], ashape[-1], bshape[-1]
    batch = tuple(np.broadcast_shapes(ashape[:-2], bshape[:-2]))
    out_shape = ctx.program.buffers[k.output].shape
    size = int(np.prod(batch, dtype=np.int64)) * m * n
    extras = k.inputs[2:]
    # the product goes straight to the output unless the epilogue broadcasts it or reads the output's storage
    direct = k.body is None or (int(np.prod(out_shape, dtype=np.int64)) == size and
                                all(ctx.storage(e.buffer) != ctx.storage(k.output) for e in extras))
    scratch = Scratch(ctx)
    if direct:
        acc = Operand(ctx.storage(k.output), out_dtype, ())
    else:
        acc = Operand(ctx.scratch, out_dtype, (), scratch.take((size,), out_dtype))
    prod_strides = contiguous_strides(batch + (m, n))
    a_op = Operand(ctx.storage(a.buffer), out_dtype, broadcast_strides(ashape[:-2], astr[:-2], batch) + astr[-2:],
                   a.offset)
    b_op = Operand(ctx.storage(bv.buffer), out_dtype, broadcast_strides(bshape[:-2], bstr[:-2], batch) + bstr[-2:],
                   bv.offset)
    if batch and not any(b_op.strides[:-2]) and all(a_op.strides[:-2]) and kk <= n and \
            not _rows_follow(a_op, batch, m):  # a transposed sequence: its rows packed, the batch folds
        a_op = scratch.dense(kf, View(a.buffer, batch + (m, kk), a_op.strides, a.offset))
    ops = (a_op, b_op, Operand(acc.storage, out_dtype, prod_strides, acc.offset))
    folded, mnk, flat = _fold_batch(batch, (m, n, kk), ops)
    if ctx.blas and not folded and flip_pays(*mnk) and flat[1].strides[-2] == 1 and _blas_reads(mnk, flat, True):
        rows, cols = mnk[:2]  # column-major C = A B: element (i, j) of the product at i + j * rows
        flipped = Operand(ctx.scratch, out_dtype, (1, rows), scratch.take((rows * cols,), out_dtype))
        _gemm_calls(kf, (), mnk, flat[:2] + (flipped,), True, ctx.blas)
        emit_copy(kf, (rows, cols), flipped, flat[2])  # a tiled transpose (kernels.py)
    else:
        product(ctx, kf, folded, mnk, flat)
    if k.body is not None:
        _epilogue(ctx, k, kf, acc, (m, n), batch, a, bv)


def product(ctx: Context, kf: KernelFunction, batch: tuple, mnk: tuple[int, int, int],
            ops: tuple[Operand, ...]) -> None:
    """C = A @ B for each batch index: BLAS when it can read A and B, except for the shapes where
    OpenBLAS runs at a tenth of its speed or less (few terms per element; a small result summed over a
    long k; a few rows times many columns), which get loop kernels made for them; loops without BLAS."""
    batch, mnk, ops = _fold_batch(batch, mnk, ops)
    m, n, kk = mnk
    a_op, b_op, c_op = ops
    if m * n == 0:
        pass
    elif kk == 0:
        fill_zero(kf, c_op, batch + (m, n))
    elif kk <= SMALL_K and n >= SMALL_K_COLS and b_op.strides[-1] == 1 and c_op.strides[-1] == 1 and \
            _spread(b_op.strides[-2] * np.dtype(b_op.dtype).itemsize, kk):
        _small_k_loops(kf, batch, mnk, ops)
    elif m * n <= DOT_SIZE and kk >= DOT_K and a_op.strides[-1] == 1 and b_op.strides[-2] == 1:
        _dot_loops(kf, batch, mnk, ops)
    elif m <= WIDE_ROWS and n >= 4 * WIDE_BLOCK and b_op.strides[-1] == 1 and c_op.strides[-1] == 1:
        _matmul_loops(kf, batch, mnk, ops, WIDE_BLOCK)
    elif ctx.blas and _blas_reads(mnk, ops, False) and c_op.strides[-1] == 1 and (m == 1 or c_op.strides[-2] >= n):
        _gemm_calls(kf, batch, mnk, ops, False, ctx.blas)
    else:
        _matmul_loops(kf, batch, mnk, ops, n)


def _fold_batch(batch: tuple, mnk: tuple[int, int, int], ops: tuple[Operand, ...]) -> tuple:
    """A batch of products with one shared right operand whose left rows follow each other in memory
    (x @ W with x of shape (..., m, k)), whose result rows do too, as one product with all the rows:
    one large GEMM, not many small."""
    m, n, kk = mnk
    a_op, b_op, c_op = ops
    if not batch or any(b_op.strides[:-2]) or m == 0 or not (_rows_follow(a_op, batch, m) and
                                                              _rows_follow(c_op, batch, m)):
        return batch, mnk, ops
    rows = int(np.prod(batch, dtype=np.int64)) * m
    return (), (rows, n, kk), tuple(Operand(op.storage, op.dtype, op.strides[-2:], op.offset) for op in ops)


def _rows_follow(op: Operand, batch: tuple, m: int) -> bool:
    """Whether the rows of all the batch's matrices follow each other at one stride (one matrix of rows)."""
    step = op.strides[-2] * m
    for d, s in zip(reversed(batch), reversed(op.strides[:-2])):
        if d != 1 and s != step:
            return False
        step *= d
    return True


#: a product runs flipped (column-major C = A B) when C has at least FLIP_ROWS rows and at least
#: FLIP_COLS columns and twice as many columns as rows
FLIP_ROWS, FLIP_COLS = 8, 128


def flip_pays(m: int, n: int, kk: int) -> bool:
    """Whether C = A @ B (B's k axis contiguous) is faster as column-major C = A B than as C^T = B^T A^T.
    OpenBLAS's sgemm here runs fastest with its m the smaller side of C: flipped, 32 x 128 x 512 takes
    35 us against 53 us and 16 x 256 x 1024 74 us against 156 us, transpose included (NumPy: 44 and
    135 us; benchmarks/bench_gemm_flip.py). With B's columns contiguous instead, the usual way round
    is as fast or faster, and square-ish products gain nothing."""
    return m >= FLIP_ROWS and n >= max(FLIP_COLS, 2 * m) and kk > 1


def _blas_reads(mnk: tuple[int, int, int], ops: tuple[Operand, ...], flipped: bool) -> tuple | None:
    """((op, ld) of BLAS's first operand, (op, ld) of its second), or None where BLAS cannot read one:
    B^T then A^T for C^T = B^T A^T; A then B (each read as the transpose of its transpose) when flipped."""
    m, n, kk = mnk
    a_op, b_op = ops[:2]
    if flipped:
        first, second = _gemm_layout(kk, m, *a_op.strides[-2:][::-1]), _gemm_layout(n, kk, *b_op.strides[-2:][::-1])
    else:
        first, second = _gemm_layout(kk, n, *b_op.strides[-2:]), _gemm_layout(m, kk, *a_op.strides[-2:])
    return None if first is None or second is None else (first, second)


def _gemm_calls(kf: KernelFunction, batch: tuple, mnk: tuple[int, int, int], ops: tuple[Operand, ...],
                flipped: bool, int_bits: int) -> None:
    """C = A @ B row-major is C^T = B^T A^T column-major: gemm(opB, opA, n, m, k, 1, B, ldb, A, lda, 0, C, ldc);
    flipped, gemm(opA, opB, m, n, k, 1, A, lda, B, ldb, 0, C, ldc) with C's columns `ldc` apart."""
    b = kf.b
    m, n, kk = mnk
    a_op, b_op, c_op = ops
    (t1, ld1), (t2, ld2) = _blas_reads(mnk, ops, flipped)
    t = storage_type(c_op.dtype)
    symbol = blas.GEMM[c_op.dtype][0]
    fn = intrinsic(b.module, symbol, ir.VoidType(), [PTR] * 13)

    def slot(typ: ir.Type, value: float | int) -> ir.Value:
        s = alloca(b, typ)
        b.store(ir.Constant(typ, value), s)
        return s
    rows, cols, first, second = (m, n, a_op, b_op) if flipped else (n, m, b_op, a_op)
    ldc = c_op.strides[-1] if flipped else c_op.strides[-2] if m > 1 else n
    n_t = ir.IntType(int_bits)  # the BLAS's integer type (ILP64 builds take int64)
    scalars = [slot(I8, ord(t1)), slot(I8, ord(t2)), slot(n_t, rows), slot(n_t, cols), slot(n_t, kk), slot(t, 1.0)]
    lds = [slot(n_t, ld1), slot(n_t, ld2), slot(t, 0.0), slot(n_t, ldc)]
    with nest(b, batch) as idx:
        ptr_1, ptr_2, ptr_c = (element(b, kf.base(op.storage), t, op.strides[:-2], op.offset, idx)
                               for op in (first, second, c_op))
        if kf.bounds is not None:  # BLAS reads and writes whole matrices: check their last elements too
            for op, (r, c) in zip(ops, ((m, kk), (kk, n), (m, n))):
                last = [ir.Constant(I64, r - 1), ir.Constant(I64, c - 1)]
                element(b, kf.base(op.storage), t, op.strides, op.offset, list(idx) + last)
        b.call(fn, scalars + [ptr_1, lds[0], ptr_2, lds[1], lds[2], ptr_c, lds[3]])


def _fma(b: ir.IRBuilder, t: ir.Type) -> ir.Function:
    return intrinsic(b.module, f"llvm.fmuladd.{'f32' if t == F32 else 'f64'}", t, [t, t, t])


def _c(n: int) -> ir.Constant:
    return ir.Constant(I64, n)


def _blocks(n: int, size: int) -> list[tuple[int, int, int]]:
    """(count, size, start) of the full blocks of `size` in range(n), then of the partial one."""
    full, tail = divmod(n, size)
    return [(c, w, s) for c, w, s in ((full, size, 0), (1, tail, full * size)) if c and w]


#: products with at most SMALL_K terms per element and at least SMALL_K_COLS contiguous columns; the
#: columns of B are walked in blocks of at most SMALL_K_L1 bytes
SMALL_K, SMALL_K_COLS, SMALL_K_CHAINS, SMALL_K_L1 = 32, 64, 4, 32 * 1024


def _small_k_loops(kf: KernelFunction, batch: tuple, mnk: tuple[int, int, int], ops: tuple[Operand, ...]) -> None:
    """C = A @ B with few terms per element (a convolution's input gradient w^T @ gy, its product with
    few input channels): the k terms unrolled in the IR, row i's k values of A loaded once, so LLVM
    vectorizes the contiguous j loop into one FMA per term and one store per element; blocks of
    columns of B stay in L1 while every row of A uses them."""
    b = kf.b
    m, n, kk = mnk
    a_op, b_op, c_op = ops
    fma = _fma(b, storage_type(c_op.dtype))
    block = max(64, SMALL_K_L1 // (kk * np.dtype(c_op.dtype).itemsize) // 64 * 64)
    with nest(b, batch, unroll=False) as bidx:
        for count, width, start in _blocks(n, block):
            with loop(b, count, unroll=False) as blk:
                j0 = b.add(_c(start), b.mul(blk, _c(block)))
                with loop(b, m, unroll=False) as i:
                    coef = [load(kf, a_op, bidx + [i, _c(k)]) for k in range(kk)]
                    with loop(b, width) as jj:
                        j = b.add(j0, jj)
                        chains = []  # SMALL_K_CHAINS independent FMA chains hide the FMA latency
                        for k in range(kk):
                            term = load(kf, b_op, bidx + [_c(k), j])
                            if k < SMALL_K_CHAINS:
                                chains.append(b.fmul(coef[k], term))
                            else:
                                r = k % SMALL_K_CHAINS
                                chains[r] = b.call(fma, [coef[k], term, chains[r]])
                        while len(chains) > 1:
                            chains = [b.fadd(*chains[p:p + 2]) if p + 1 < len(chains) else chains[p]
                                      for p in range(0, len(chains), 2)]
                        store(kf, c_op, bidx + [i, j], chains[0])


def _spread(stride_bytes: int, rows: int) -> bool:
    """Whether rows this far apart, walked side by side, spread over the 64 sets of the L1 cache (at
    most 8 rows per set): rows a multiple of 2 or 4 KiB apart share one or two sets and evict each other."""
    if stride_bytes % 64:
        return True
    return -(-rows // (64 // math.gcd(stride_bytes // 64, 64))) <= 8


#: products with at most DOT_SIZE results, each a dot product of at least DOT_K terms; blocks of
#: DOT_ROWS x DOT_COLS results; chunks of k sized so A's and B's parts fit in DOT_CACHE bytes (L2)
DOT_SIZE, DOT_K, DOT_ROWS, DOT_COLS, DOT_CACHE = 4096, 512, 2, 4, 256 * 1024


def _dot_loops(kf: KernelFunction, batch: tuple, mnk: tuple[int, int, int], ops: tuple[Operand, ...]) -> None:
    """C = A @ B for a small C and a long k along which A's rows and B's columns are contiguous (a
    convolution's weight gradient: filters x window elements, each summed over every pixel of the
    batch): blocks of DOT_ROWS x DOT_COLS dot products over chunks of k that stay in cache. LLVM
    vectorizes a chunk's loop with one vector accumulator per dot product: per step, DOT_ROWS +
    DOT_COLS loads feed DOT_ROWS * DOT_COLS FMAs."""
    b = kf.b
    m, n, kk = mnk
    a_op, b_op, c_op = ops
    t = storage_type(c_op.dtype)
    chunk = max(64, DOT_CACHE // ((m + n) * np.dtype(c_op.dtype).itemsize) // 64 * 64)
    accs = [alloca(b, t) for _ in range(DOT_ROWS * DOT_COLS)]
    fill_zero(kf, c_op, batch + (m, n))
    with nest(b, batch, unroll=False) as bidx:
        with loop(b, -(-kk // chunk), unroll=False) as c:
            k0 = b.mul(c, _c(chunk))
            length = b.select(b.icmp_signed("<", b.sub(_c(kk), k0), _c(chunk)), b.sub(_c(kk), k0), _c(chunk))
            for icount, rows, istart in _blocks(m, DOT_ROWS):
                with loop(b, icount, unroll=False) as ib:
                    i0 = b.add(_c(istart), b.mul(ib, _c(DOT_ROWS)))
                    for jcount, cols, jstart in _blocks(n, DOT_COLS):
                        with loop(b, jcount, unroll=False) as jb:
                            j0 = b.add(_c(jstart), b.mul(jb, _c(DOT_COLS)))
                            _dot_block(kf, ops, bidx, (i0, rows), (j0, cols), (k0, length), accs[:rows * cols])


def _dot_block(kf: KernelFunction, ops: tuple[Operand, ...], bidx: list, rows: tuple, cols: tuple, ks: tuple,
               accs: list) -> None:
    """C[i0:i0+rows, j0:j0+cols] += A[i0:i0+rows, k0:k0+length] @ B[k0:k0+length, j0:j0+cols]."""
    b = kf.b
    a_op, b_op, c_op = ops
    t = storage_type(c_op.dtype)
    (i0, nr), (j0, nc), (k0, length) = rows, cols, ks
    ii = [b.add(i0, _c(d)) for d in range(nr)]
    jj = [b.add(j0, _c(d)) for d in range(nc)]
    for acc in accs:
        b.store(ir.Constant(t, 0.0), acc)
    with loop(b, length) as p:
        k = b.add(k0, p)
        xs = [load(kf, a_op, bidx + [i, k]) for i in ii]
        ys = [load(kf, b_op, bidx + [k, j]) for j in jj]
        for r, x in enumerate(xs):
            for s, y in enumerate(ys):
                acc = accs[r * nc + s]
                term = b.fmul(x, y, flags=("contract",))
                b.store(b.fadd(b.load(acc, typ=t), term, flags=("reassoc", "contract")), acc)
    for r, i in enumerate(ii):
        for s, j in enumerate(jj):
            ptr = element(b, kf.base(c_op.storage), t, c_op.strides, c_op.offset, bidx + [i, j])
            b.store(b.fadd(b.load(ptr, typ=t), b.load(accs[r * nc + s], typ=t)), ptr)


#: a product with at most WIDE_ROWS rows and many contiguous columns walks them in blocks of WIDE_BLOCK
WIDE_ROWS, WIDE_BLOCK = 8, 256


def _matmul_loops(kf: KernelFunction, batch: tuple, mnk: tuple[int, int, int], ops: tuple[Operand, ...],
                  block: int) -> None:
    """C = A @ B as loops, i-k-j within each block of `block` columns, the j loop contiguous.

    The fallback without BLAS (or for views BLAS cannot read) takes all columns as one block. A few
    rows times many columns (a convolution's filters times its image columns, where OpenBLAS runs
    at a fraction of its speed) takes blocks of B that stay in cache while every row of A uses them."""
    b = kf.b
    m, n, kk = mnk
    a_op, b_op, c_op = ops
    t = storage_type(c_op.dtype)
    fma = _fma(b, t)
    fill_zero(kf, c_op, batch + (m, n))
    with nest(b, batch) as bidx:
        for count, width, start in _blocks(n, block):
            with loop(b, count) as blk:
                j0 = b.add(_c(start), b.mul(blk, _c(block)))
                with nest(b, (m, kk)) as (i, k):
                    av = load(kf, a_op, bidx + [i, k])
                    with loop(b, width) as jj:
                        j = b.add(j0, jj)
                        ptr = element(b, kf.base(c_op.storage), t, c_op.strides, c_op.offset, bidx + [i, j])
                        b.store(b.call(fma, [av, load(kf, b_op, bidx + [k, j]), b.load(ptr, typ=t)]), ptr)


def _epilogue(ctx: Context, k: Kernel, kf: KernelFunction, acc: Operand, mn: tuple[int, int], batch: tuple,
              a: View, bv: View) -> None:
    """out = body(acc, extras...) over the output domain (acc broadcast like the product's shape)."""
    shape = ctx.program.buffers[k.output].shape
    prod_shape = tuple(batch) + mn[:1] * (len(a.shape) > 1) + mn[1:] * (len(bv.shape) > 1)
    acc_view = Operand(acc.storage, acc.dtype, broadcast_strides(prod_shape, contiguous_strides(prod_shape), shape),
                       acc.offset)
    extras = [ctx.operand(v, shape) for v in k.inputs[2:]]
    srcs = [acc_view] + extras
    out = ctx.output(k)
    symbols = (fused.ACC,) + fused.input_symbols(len(extras))
    map_loop(kf, shape, srcs, out, body_compute(kf, symbols, srcs, k, out.dtype))
