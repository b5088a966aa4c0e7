"""Random well-defined programs over every op family: a few lines drawn from `FAMILIES`, outputs,
a layer (value, gradients, jvp) and the sizes of free dims. The values' intervals (gen.py) keep every
op in its domain."""
from __future__ import annotations

import numpy as np

from graphc.ir import is_float

from .families import FAMILIES
from .gen import Gen
from .program import Program


def generate(seed: int, exclude: frozenset[str] = frozenset()) -> Program:
    """The program numbered `seed`: a few lines of random ops, outputs, a layer and draws."""
    rng = np.random.default_rng(seed)
    g = Gen(rng, exclude)
    families = [(name, f, w) for name, f, w in FAMILIES if name not in exclude]
    weights = np.array([w for _, _, w in families], dtype=float)
    for _ in range(int(rng.integers(1, 9))):
        for _attempt in range(20):
            _, family, _ = families[int(rng.choice(len(families), p=weights / weights.sum()))]
            if g.step(family):
                break
        if g.crashed:
            break
    if not g.lines:
        g.fresh(g.shape(), g.fdt)
        g.add((f"gc.tanh({g.inputs[-1].name})", -1.0, 1.0, None))
    return _finish(g, rng, seed)


def _finish(g: Gen, rng: np.random.Generator, seed: int) -> Program:
    names = [n for n, _ in g.lines]
    if g.crashed:
        return Program(tuple(g.inputs), tuple(g.lines), (names[-1],), "value", (), (2, 2), seed)
    outputs = [names[-1]] + [n for n in names[:-1] if g.chance(0.15)]
    layers = [x for x in ("value", "grad", "grad2", "jvp") if x not in g.exclude]
    layer = str(rng.choice(layers, p=_layer_weights(layers)))
    wrt = tuple(x.name for x in g.inputs if is_float(x.dtype))
    if layer == "jvp" and "jvp-free" in g.exclude and any(None in x.shape for x in g.inputs):
        layer = "grad"
    if layer != "value":
        outputs = [n for n in outputs if g.vals[n].is_float]
        if not outputs or not wrt:
            layer, outputs = "value", [names[-1]]
    has_free = any(None in x.shape for x in g.inputs)
    sizes = tuple(int(s) for s in rng.choice([0, 1, 2, 3], size=2, replace=False, p=[0.1, 0.3, 0.3, 0.3])) \
        if has_free else (2, 2)
    return Program(tuple(g.inputs), tuple(g.lines), tuple(outputs), layer, wrt if layer != "value" else (),
                   sizes, seed)


def _layer_weights(layers: list[str]) -> np.ndarray:
    w = np.array([{"value": 0.4, "grad": 0.25, "grad2": 0.15, "jvp": 0.2}[x] for x in layers])
    return w / w.sum()
