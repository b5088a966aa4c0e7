"""Embedding: a table of learned vectors looked up by integer ids (a `gc.take` on axis 0)."""
from __future__ import annotations


from .. import ops
from ..ir import DTypeError, Tensor, parameter
from ..ir.dtypes import is_int
from ..ops import args
from . import init
from .module import Module


class Embedding(Module):
    """ids (any shape, int) -> vectors (ids.shape + (dim,)); weights start N(0, 1) as in torch."""

    def __init__(self, num_embeddings: int, embedding_dim: int, rng: init.Rng = None, dtype: str = "float32"):
        super().__init__()
        self.num_embeddings = args.size("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = args.size("Embedding", "embedding_dim", embedding_dim)
        dtype = args.float_dtype("Embedding", dtype)
        self.weight = parameter(init.normal((self.num_embeddings, self.embedding_dim), rng, dtype, std=1.0),
                                name="Embedding.weight")

    def forward(self, ids: Tensor) -> Tensor:
        if not is_int(ids.dtype):
            raise DTypeError(f"Embedding({self.num_embeddings}, {self.embedding_dim}): ids must be integers, "
                             f"got {ids.type_str()}", fix="declare the ids placeholder with dtype 'int64'")
        return ops.take(self.weight, ids, axis=0)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
