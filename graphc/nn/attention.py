"""Attention: scaled dot-product attention, multi-head attention, a transformer encoder block.

Masks follow torch.nn.functional.scaled_dot_product_attention: a boolean mask is
True where a query may attend to a key; a float mask is added to the scores.
`causal=True` lets position i attend to keys 0..i only.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .. import ops
from ..ir import ShapeError, Tensor, parameter
from ..ops import args
from . import activations, init
from .layers import Dense, Dropout
from .module import Module
from .normalization import LayerNorm


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Any = None, causal: bool = False) -> Tensor:
    """softmax(q k^T / sqrt(d) + mask) v over (..., L, d) queries and (..., S, d) keys/values."""
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"attention: queries {q.type_str()}, keys {k.type_str()} and values {v.type_str()} do not fit",
                         fix="queries and keys need one feature size, keys and values one length")
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    if causal:
        n_q, n_k = q.shape[-2], k.shape[-2]
        if n_q is None or n_k is None:
            raise ShapeError(f"attention: causal=True needs fixed sequence lengths, got {q.type_str()}",
                             fix="give the time axis a fixed size")
        scores = ops.where(np.tril(np.ones((n_q, n_k), bool)), scores, float("-inf"))
    if mask is not None:
        (mask,) = ops.operands.as_tensors(mask)
        scores = ops.where(mask, scores, float("-inf")) if mask.dtype == "bool" else scores + mask
    return ops.matmul(ops.softmax(scores, axis=-1), v)


class MultiheadAttention(Module):
    """torch.nn.MultiheadAttention (batch_first=True): in_proj (3E, E) then heads, then out_proj (E, E)."""

    def __init__(self, embed_dim: int, num_heads: int, rng: init.Rng = None, dtype: str = "float32"):
        super().__init__()
        embed_dim = args.size("MultiheadAttention", "embed_dim", embed_dim)
        num_heads = args.size("MultiheadAttention", "num_heads", num_heads)
        dtype = args.float_dtype("MultiheadAttention", dtype)
        if embed_dim % num_heads:
            raise ShapeError(f"MultiheadAttention: embed_dim={embed_dim} is not divisible by num_heads={num_heads}",
                             fix="pick a head count that divides the embedding size")
        rng = init.as_rng(rng)
        self.embed_dim, self.num_heads = embed_dim, num_heads
        e = self.embed_dim
        self.in_proj_weight = parameter(init.glorot_uniform((3 * e, e), rng, dtype), name="MHA.in_proj_weight")
        self.in_proj_bias = parameter(np.zeros(3 * e, dtype), name="MHA.in_proj_bias")
        limit = 1.0 / math.sqrt(e)
        self.out_proj_weight = parameter(init.uniform((e, e), rng, dtype, -limit, limit), name="MHA.out_proj_weight")
        self.out_proj_bias = parameter(np.zeros(e, dtype), name="MHA.out_proj_bias")

    def _heads(self, x: Tensor, part: int) -> Tensor:
        """(N, L, E) -> (N, heads, L, E/heads) after the part-th input projection."""
        e, h = self.embed_dim, self.num_heads
        w = self.in_proj_weight[part * e: (part + 1) * e]
        y = ops.matmul(x, ops.transpose(w)) + self.in_proj_bias[part * e: (part + 1) * e]
        return ops.transpose(ops.reshape(y, (-1, x.shape[1], h, e // h)), (0, 2, 1, 3))

    def forward(self, query: Tensor, key: Tensor | None = None, value: Tensor | None = None, mask: Any = None,
                causal: bool = False) -> Tensor:
        key = query if key is None else key
        value = key if value is None else value
        for t in (query, key, value):
            if t.ndim != 3 or t.shape[2] != self.embed_dim or t.shape[1] is None:
                raise ShapeError(f"MultiheadAttention({self.embed_dim}, heads={self.num_heads}): input "
                                 f"{t.type_str()} is not (batch, length, {self.embed_dim})",
                                 fix="inputs are batch-first with a fixed length")
        mask4 = None if mask is None else ops.operands.as_tensors(mask)[0]
        if mask4 is not None and mask4.ndim == 3:  # (N, L, S): the same mask for every head
            mask4 = ops.expand_dims(mask4, 1)
        att = scaled_dot_product_attention(self._heads(query, 0), self._heads(key, 1), self._heads(value, 2),
                                           mask4, causal)
        merged = ops.reshape(ops.transpose(att, (0, 2, 1, 3)), (-1, query.shape[1], self.embed_dim))
        return ops.matmul(merged, ops.transpose(self.out_proj_weight)) + self.out_proj_bias

    def extra_repr(self) -> str:
        return f"{self.embed_dim}, heads={self.num_heads}"


class TransformerEncoderLayer(Module):
    """torch.nn.TransformerEncoderLayer (batch_first=True): self-attention and an MLP, each in a residual.

    Post-norm by default (x = norm(x + f(x))), as torch; `norm_first=True` gives x + f(norm(x)).
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.0,
                 activation: str | Callable = "relu", norm_first: bool = False, eps: float = 1e-5,
                 rng: init.Rng = None, dtype: str = "float32"):
        super().__init__()
        rng = init.as_rng(rng)
        args.size("TransformerEncoderLayer", "dim_feedforward", dim_feedforward)
        self.self_attn = MultiheadAttention(d_model, nhead, rng, dtype)
        self.linear1 = Dense(d_model, dim_feedforward, rng=rng, dtype=dtype)
        self.linear2 = Dense(dim_feedforward, d_model, rng=rng, dtype=dtype)
        self.norm1 = LayerNorm(d_model, eps, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps, dtype=dtype)
        self.dropout1 = Dropout(dropout, seed=int(rng.integers(2 ** 31)))
        self.dropout2 = Dropout(dropout, seed=int(rng.integers(2 ** 31)))
        self.dropout_ff = Dropout(dropout, seed=int(rng.integers(2 ** 31)))
        self.activation = activations.get(activation)
        self.norm_first = norm_first

    def _attend(self, x: Tensor, mask: Any, causal: bool) -> Tensor:
        return self.dropout1(self.self_attn(x, mask=mask, causal=causal))

    def _mlp(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout_ff(self.activation(self.linear1(x)))))

    def forward(self, x: Tensor, mask: Any = None, causal: bool = False) -> Tensor:
        if self.norm_first:
            x = x + self._attend(self.norm1(x), mask, causal)
            return x + self._mlp(self.norm2(x))
        x = self.norm1(x + self._attend(x, mask, causal))
        return self.norm2(x + self._mlp(x))
