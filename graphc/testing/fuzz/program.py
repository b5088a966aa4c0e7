"""A fuzzed program: graphc source text plus how to draw its inputs.

The program is kept as the lines of a `build(wide)` function, so the graph the
fuzzer compiles and the reproducer it prints are the same text: `wide=True`
declares every float input float64 (the reference), `wide=False` as generated.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from graphc.ir.dtypes import is_float, is_int, to_numpy

#: The layers a program's outputs can be wrapped in (see `Program.layer`).
LAYERS = ("value", "grad", "grad2", "jvp")


@dataclass(frozen=True)
class Input:
    """A placeholder; `None` dims take the draw's free size. Floats are drawn as multiples of 1/4 and ints
    as integers, both in [low, high]: dyadic floats keep sums, comparisons and ties exact in float32."""

    name: str
    shape: tuple
    dtype: str
    low: float = -2.0
    high: float = 2.0

    def declare(self) -> str:
        dtype = f'f("{self.dtype}")' if is_float(self.dtype) else f'"{self.dtype}"'
        return f'{self.name} = gc.placeholder({self.shape!r}, {dtype}, name="{self.name}")'

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        shape = tuple(size if d is None else d for d in self.shape)
        if self.dtype == "bool":
            return rng.random(shape) < 0.5
        if is_int(self.dtype):
            return rng.integers(int(self.low), int(self.high) + 1, shape).astype(self.dtype)
        return (rng.integers(int(self.low * 4), int(self.high * 4) + 1, shape) / 4).astype(to_numpy(self.dtype))


@dataclass(frozen=True)
class Program:
    """Inputs, `(name, expression)` lines, outputs, and the layer around them: "value" (the outputs),
    "grad" (a scalar cost of the outputs and its gradient), "grad2" (the gradient of the sum of that
    gradient) or "jvp" (the outputs' tangents along extra inputs `d<x>`), taken w.r.t. the inputs `wrt`.
    Each draw k calls the compiled function with free dims of size `sizes[k]`."""

    inputs: tuple[Input, ...]
    lines: tuple[tuple[str, str], ...]
    outputs: tuple[str, ...]
    layer: str = "value"
    wrt: tuple[str, ...] = ()
    sizes: tuple[int, ...] = (2,)
    seed: int = 0

    def with_(self, **changes: Any) -> "Program":
        return replace(self, **changes)

    def tangents(self) -> tuple[Input, ...]:
        if self.layer != "jvp":
            return ()
        by_name = {x.name: x for x in self.inputs}
        return tuple(replace(by_name[w], name=f"d{w}") for w in self.wrt)

    def source(self) -> str:
        """The text of `def build(wide)`, which returns (placeholders, outputs)."""
        body = ['f = lambda dtype: "float64" if wide and gc.ir.is_float(dtype) else dtype']
        body += [x.declare() for x in self.inputs]
        body += [f"{name} = {expr}" for name, expr in self.lines]
        xs = [x.name for x in self.inputs + self.tangents()]
        outs, wrt = ", ".join(self.outputs), ", ".join(self.wrt)
        if self.layer == "value":
            body.append(f"return [{', '.join(xs)}], [{outs}]")
        elif self.layer == "jvp":
            body += [f"d{w} = gc.placeholder({w}.shape, {w}.dtype, name=\"d{w}\")" for w in self.wrt]
            tangents = ", ".join("d" + w for w in self.wrt)
            body.append(f"return [{', '.join(xs)}], gc.jvp([{outs}], [{wrt}], [{tangents}])")
        else:
            body.append("cost = " + " + ".join(f"gc.sum(gc.sin({o}))" for o in self.outputs))
            grads = f'gc.grad(cost, [{wrt}], disconnected="zero")'
            if self.layer == "grad":
                body.append(f"return [{', '.join(xs)}], [cost, *{grads}]")
            else:
                body.append(f"cost2 = sum(gc.sum(g) for g in {grads})")
                body.append(f'return [{", ".join(xs)}], gc.grad(cost2, [{wrt}], disconnected="zero")')
        return "def build(wide):\n" + "".join(f"    {line}\n" for line in body)

    def draw(self, k: int) -> list[np.ndarray]:
        """The arguments of draw k (in the declared dtypes)."""
        rng = np.random.default_rng([self.seed, k])
        return [x.draw(rng, self.sizes[k]) for x in self.inputs + self.tangents()]


def build(program: Program, wide: bool) -> tuple[list, list]:
    """Run the program's source: (placeholders, output tensors). Raises what graphc raises."""
    return _run(program.source(), wide)["build"](wide)


def values(program: Program) -> dict[str, Any]:
    """Every input and line of the program (without its layer) as a tensor, by name."""
    source = "\n".join([x.declare() for x in program.inputs] + [f"{n} = {e}" for n, e in program.lines])
    return _run(source, False)


def _run(source: str, wide: bool) -> dict[str, Any]:
    import graphc as gc
    scope: dict[str, Any] = {"gc": gc, "np": np, "wide": wide,
                             "f": lambda dtype: "float64" if wide and is_float(dtype) else dtype}
    exec(compile(source, "<fuzzed program>", "exec"), scope)
    return scope
