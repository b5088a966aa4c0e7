"""Matrix products with NumPy's `matmul` semantics (batched, 1-D operands allowed)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import Tensor
from ..ir.dtypes import is_half, promote
from ..ir.errors import DTypeError, ShapeError
from ..ir.node import Op
from . import elementwise as ew
from .operands import as_tensors, broadcast_dims, desc
from .shape import Transpose, expand_dims, reshape, squeeze, swapaxes, transpose, unbroadcast

#: the user-facing functions of this family: what graphc.ops (and gc) export
__all__ = ["dot", "matmul"]


class MatMul(Op):
    name = "matmul"
    kernel_kind = "matmul"

    def infer(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul: operands {desc(a, b)} include a scalar",
                             fix="use * to scale by a scalar")
        if a.dtype != b.dtype or a.dtype == "bool":
            raise DTypeError(f"matmul: operands {desc(a, b)} need one numeric dtype",
                             fix="cast with gc.cast (gc.matmul promotes for you)")
        a_shape = a.shape if a.ndim > 1 else (1,) + a.shape
        b_shape = b.shape if b.ndim > 1 else b.shape + (1,)
        k1, k2 = a_shape[-1], b_shape[-2]
        if k1 is not None and k2 is not None and k1 != k2:
            raise ShapeError(f"matmul: inner dimensions differ: {desc(a, b)} ({k1} != {k2})",
                             fix="the last axis of the left operand must match the second-to-last of the right; "
                                 "transpose one of them (x.T)")
        batch_a, batch_b = a_shape[:-2], b_shape[:-2]
        nd = max(len(batch_a), len(batch_b))
        batch = broadcast_dims("matmul", [(1,) * (nd - len(batch_a)) + batch_a,
                                          (1,) * (nd - len(batch_b)) + batch_b], [a, b])
        shape = batch + ((a_shape[-2],) if a.ndim > 1 else ()) + ((b_shape[-1],) if b.ndim > 1 else ())
        return shape, a.dtype

    def numpy(self, a, b):
        if is_half(a.dtype.name):  # products summed in float32, rounded once
            return np.matmul(a.astype(np.float32), b.astype(np.float32))
        return np.matmul(a, b)

    def format(self, args):
        return f"({args[0]} @ {args[1]})"

    def pullback(self, node, g):
        a, b = node.inputs
        a2 = a if a.ndim > 1 else expand_dims(a, 0)
        b2 = b if b.ndim > 1 else expand_dims(b, -1)
        g2 = g
        if a.ndim == 1:
            g2 = expand_dims(g2, g2.ndim - (0 if b.ndim == 1 else 1))
        if b.ndim == 1:
            g2 = expand_dims(g2, -1)
        ga = unbroadcast(matmul(g2, swapaxes(b2, -1, -2)), a2)
        if b.ndim == 2 and a.ndim > 2 and sum(d is None for d in a.shape[:-1]) <= 1:
            # x @ W over leading axes: W's gradient is one product over all of x's rows, not a sum of many
            a_rows, g_rows = _same_order(a, g)
            lead = a.shape[:-1]  # their count, not -1, when known: -1 is ambiguous next to a 0-size dim
            n = -1 if None in lead else int(np.prod(lead, dtype=np.int64))
            gb = matmul(swapaxes(reshape(a_rows, (n, a.shape[-1])), 0, 1), reshape(g_rows, (n, g.shape[-1])))
        else:
            gb = unbroadcast(matmul(swapaxes(a2, -1, -2), g2), b2)
        if a.ndim == 1:
            ga = squeeze(ga, 0)
        if b.ndim == 1:
            gb = squeeze(gb, -1)
        return [ga, gb]

    def jvp(self, node, tangents):
        ta, tb = tangents
        a, b = node.inputs
        terms = ([matmul(ta, b)] if ta is not None else []) + ([matmul(a, tb)] if tb is not None else [])
        return terms[0] if len(terms) == 1 else ew.add(*terms)


def _same_order(a: Tensor, g: Tensor) -> tuple[Tensor, Tensor]:
    """a and g with their leading axes permuted alike, so that flattening them copies the smaller one.

    sum over rows of a_r^T g_r does not depend on the rows' order: when g is a transposed view (a
    time-major gradient read batch-major), a is permuted to g's source order instead."""
    if isinstance(g.op, Transpose) and g.op.perm[-1] == g.ndim - 1 and a.shape[-1] is not None and \
            g.shape[-1] is not None and a.shape[-1] < g.shape[-1]:
        return transpose(a, tuple(int(i) for i in np.argsort(g.op.perm))), g.inputs[0]
    return a, g


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy semantics (`a @ b`)."""
    a, b = as_tensors(a, b)
    dtype = promote(a.dtype, b.dtype)
    if dtype == "bool":
        dtype = "int64"
    return Tensor.make(MatMul(), [ew.cast(a, dtype), ew.cast(b, dtype)])


def dot(a: Any, b: Any) -> Tensor:
    """Inner product of two vectors, or `matmul` for higher ranks."""
    return matmul(a, b)
