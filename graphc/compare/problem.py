"""What is differentiated: a scalar cost as a function of placeholders, at given values.

Parameters in `wrt` become placeholders holding their current values, so every
method sees one plain function of arrays (finite differences perturb arguments,
not shared parameter buffers).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Mapping, Sequence

import numpy as np

from ..ir import Parameter, Placeholder, Tensor, placeholder, placeholders_of, substitute
from ..ir.dtypes import is_float
from .scalarize import symbols_like


@dataclass(frozen=True)
class Problem:
    """`cost(*placeholders)` at `values`; the first `len(wrt)` placeholders are differentiated."""

    cost: Tensor
    wrt: tuple[Tensor, ...]
    placeholders: tuple[Tensor, ...]
    values: tuple[np.ndarray, ...]
    name: str = ""

    @property
    def dtype(self) -> str:
        """The cost's dtype, which every method computes in."""
        return self.cost.dtype

    @property
    def n_elements(self) -> int:
        """The number of scalars differentiated (all elements of `wrt`)."""
        return sum(int(np.prod(w.shape)) for w in self.wrt)

    def wrt_values(self) -> list[np.ndarray]:
        """The values of the differentiated placeholders."""
        return list(self.values[: len(self.wrt)])

    @cached_property
    def symbols(self) -> list[np.ndarray]:
        """One array of SymPy symbols per placeholder, named after it."""
        out, used = [], set()
        for i, p in enumerate(self.placeholders):
            name = p.name or f"in{i}"
            while name in used:
                name += "_"
            used.add(name)
            out.append(symbols_like(p, name))
        return out

    def wrt_symbols(self) -> list:
        """The SymPy symbols of every differentiated element, flattened in order."""
        return [s for arr in self.symbols[: len(self.wrt)] for s in arr.flat]

    def flat_values(self) -> list:
        """Every placeholder element as a Python scalar, in the order of `symbols`."""
        return [v for arr in self.values for v in np.asarray(arr).flat]


def make_problem(cost: Tensor, wrt: Sequence[Tensor], inputs: Mapping[Tensor, np.ndarray],
                 name: str = "") -> Problem:
    """Check the cost and arguments and turn parameters in `wrt` into placeholders."""
    if cost.shape != () or not is_float(cost.dtype):
        raise ValueError(f"compare: the cost must be a float scalar, got {cost.type_str()}")
    mapping: dict[Tensor, Tensor] = {}
    values: dict[Tensor, np.ndarray] = {}
    for w in wrt:
        if not is_float(w.dtype):
            raise ValueError(f"compare: cannot differentiate with respect to {w!r} ({w.dtype})")
        if isinstance(w.op, Parameter):
            mapping[w] = placeholder(w.shape, w.dtype, name=w.name)
            values[mapping[w]] = np.array(w.value)
        elif not isinstance(w.op, Placeholder):
            raise ValueError(f"compare: wrt must hold placeholders or parameters, got {w!r}")
    (new_cost,) = substitute([cost], mapping) if mapping else (cost,)
    new_wrt = tuple(mapping.get(w, w) for w in wrt)
    for p, v in inputs.items():
        values[mapping.get(p, p)] = np.asarray(v, dtype=p.dtype)
    others = tuple(p for p in placeholders_of([new_cost]) if p not in set(new_wrt))
    missing = [p for p in new_wrt + others if p not in values]
    if missing:
        raise ValueError(f"compare: no values given for {missing}")
    for p in new_wrt + others:
        if np.shape(values[p]) != p.shape:
            raise ValueError(f"compare: {p!r} needs a value of shape {p.shape}, got {np.shape(values[p])}")
    everything = new_wrt + others
    return Problem(new_cost, new_wrt, everything, tuple(values[p] for p in everything), name)
