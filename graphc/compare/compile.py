"""Compiling a derivative graph as it was built: the NumPy reference backend, no passes.

The comparison is about the differentiation methods, so their graphs are run as
the methods made them; the optimizer's passes (simplification, fusion) would
measure the optimizer instead, and fusing a swollen chain can itself swell.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .. import backends
from ..ir import Graph, Tensor


def compile_plain(inputs: Sequence[Tensor], outputs: Sequence[Tensor]) -> Callable[..., list[np.ndarray]]:
    """`fn(*arrays) -> [output arrays]` for placeholders `inputs` (arrays already validated)."""
    exe = backends.get("numpy").compile(Graph(tuple(inputs), tuple(outputs)))
    return lambda *arrays: exe([np.asarray(a) for a in arrays])
