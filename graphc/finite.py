"""`check_finite`: name the first op whose value is not finite (graphc's anomaly mode / debug_nans).

A checked call copies the parameters its step updates, runs the compiled step, and looks at the
outputs and the new parameter values. When one holds a NaN or an infinity, the parameters are put
back (no NaN is left behind) and the same step is run again on the NumPy reference over the graph
as declared (before the passes, so the ops are the user's), keeping every value. Walking back from
each non-finite result through non-finite values ends at the ops that made a non-finite value from
finite operands; the first of them leads the error. Unchecked calls never come here.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from . import backend as registry
from .ir import Constant, Graph, Parameter, Placeholder, Tensor
from .ir.errors import ArgumentError, NonFiniteError
from .ops.elementwise import DIV, EXP, LOG, POW, SQRT

#: Set to 1 to check every function declared without an explicit `check_finite=`.
ENV = "GRAPHC_CHECK_FINITE"

#: The fix for values that overflow as training diverges (the usual cause of a NaN in a step).
GROWTH = ("if values grow from step to step, lower the learning rate or clip the gradients "
           "(clip_norm=1.0)")
#: What usually fixes a non-finite value made by these ops (the rest get GROWTH alone).
_HINTS = {
    LOG: "keep log's operand positive: use a stable form (gc.log_softmax, gc.softplus, gc.log1p, "
         "losses.cross_entropy on logits) or gc.log(gc.maximum(x, 1e-12))",
    DIV: "the divisor reaches 0: add a small epsilon to it or guard it with gc.where",
    SQRT: "sqrt's operand is negative, or 0 where its gradient is taken: use gc.sqrt(x + 1e-12)",
    EXP: "exp overflows (above ~88 in float32): use a stable form (gc.logsumexp, gc.log_softmax, "
         "gc.softplus) or clip its operand",
    POW: "a negative base to a fractional power, or 0 to a negative one: clip the base",
}


def enabled(flag: Any) -> bool:
    """`check_finite=` as given; None (the default) follows the GRAPHC_CHECK_FINITE variable."""
    if flag is None:
        return os.environ.get(ENV, "").strip().lower() not in ("", "0", "false", "no", "off")
    if not isinstance(flag, (bool, np.bool_)):
        raise ArgumentError(f"function: check_finite must be True or False, got {flag!r}",
                            fix="check_finite=True names the first op that makes a NaN or an infinity")
    return bool(flag)


def checked_call(variant: Any, arrays: Sequence[np.ndarray], backend: str) -> list[np.ndarray]:
    """Run `variant` (a compiled step: `.graph` as declared, `.executable`) on `arrays`; when an output
    or a new parameter value is not finite, put the parameters back and raise NonFiniteError."""
    graph: Graph = variant.graph
    states = [p.op.state for p, _ in graph.updates]
    saved = [state.array.copy() for state in states]
    outs = variant.executable(arrays)
    results = list(outs) + [state.array for state in states]
    if all(map(_finite, results)):
        return outs
    bad = _bad_roots(graph, results)
    for state, old in zip(states, saved):
        state.array[...] = old
    raise _diagnose(graph, arrays, bad, backend)


def _finite(a: np.ndarray) -> bool:
    return a.dtype.kind != "f" or bool(np.isfinite(a).all())


def _bad_roots(graph: Graph, results: Sequence[np.ndarray]) -> list[tuple[Tensor, str]]:
    """The outputs and update values that hold a NaN or an infinity, each with how to name it."""
    labels = [f"output #{i}" for i in range(len(graph.outputs))] + \
             [f"the update of parameter {p.name or '?'!r}" for p, _ in graph.updates]
    return [(root, label) for root, label, a in zip(graph.roots(), labels, results) if not _finite(np.asarray(a))]


def _reference_values(graph: Graph, arrays: Sequence[np.ndarray]) -> dict[Tensor, np.ndarray]:
    """Every node's value in the NumPy reference (no update applied): the graph's nodes as outputs."""
    nodes = tuple(n for n in graph.nodes if not isinstance(n.op, Placeholder))
    values = dict(zip(graph.inputs, arrays))
    values.update(zip(nodes, registry.get("numpy").compile(Graph(graph.inputs, nodes))(arrays)))
    return values


def _origins(roots: Sequence[tuple[Tensor, str]], values: dict[Tensor, np.ndarray]) -> dict[Tensor, list[str]]:
    """The non-finite nodes whose operands are all finite, reached from each bad root through
    non-finite values only (a NaN that a `where` masks out reaches nothing), with the roots they reach."""
    origins: dict[Tensor, list[str]] = {}
    for root, label in roots:
        stack, seen = [root], {root}
        while stack:
            node = stack.pop()
            bad_inputs = [i for i in node.inputs if not _finite(values[i])]
            if not bad_inputs and label not in origins.setdefault(node, []):
                origins[node].append(label)
            for i in bad_inputs:
                if i not in seen:
                    seen.add(i)
                    stack.append(i)
    return origins


def _diagnose(graph: Graph, arrays: Sequence[np.ndarray], bad: list[tuple[Tensor, str]],
              backend: str) -> NonFiniteError:
    values = _reference_values(graph, arrays)
    bad_ref = [(root, label) for root, label in bad if not _finite(values[root])]
    if not bad_ref:
        root = bad[0][0]
        return NonFiniteError(
            f"check_finite: the {backend} step made {_join(label for _, label in bad)} non-finite, but the "
            "NumPy reference of the graph as declared stays finite there, so the compiled code differs from it",
            fix="compare with backend='numpy' and optimize='O0', and report the difference with the graph",
            loc=root.loc)
    origins = _origins(bad_ref, values)
    order = {n: i for i, n in enumerate(graph.nodes)}
    first, *others = sorted(origins, key=order.__getitem__)
    what, fix = _explain(first, values)
    also = f"; other ops that did: {_join(_where(n) for n in others[:3])}" if others else ""
    return NonFiniteError(f"check_finite: {what}, which makes {_join(origins[first])} non-finite{also}",
                          fix=fix, loc=first.loc)


def _explain(node: Tensor, values: dict[Tensor, np.ndarray]) -> tuple[str, str]:
    """What made `node` non-finite, and what would fix it."""
    held = f"holds {_counts(values[node])} ({node.type_str()})"
    if isinstance(node.op, Placeholder):
        return f"input {node.name or '?'!r} {held}", "clean the data first (np.nan_to_num, or drop those rows)"
    if isinstance(node.op, Parameter):
        return (f"parameter {node.name or '?'!r} {held} before this call",
                "set it to finite values; check_finite=True from the first step names the op that broke it")
    if isinstance(node.op, Constant):
        return f"a constant {held}", "declare the constant with finite values"
    operands = ", ".join(_operand(values[i], i) for i in node.inputs)
    hint = _HINTS.get(node.op)
    return (f"{node.op.name} made {_counts(values[node])} ({node.type_str()}) from finite operands ({operands})",
            f"{hint}; {GROWTH}" if hint else GROWTH)


def _counts(a: np.ndarray) -> str:
    kinds = ((np.isnan(a), "NaN"), (np.isposinf(a), "inf"), (np.isneginf(a), "-inf"))
    found = ", ".join(f"{int(mask.sum())} {name}" for mask, name in kinds if mask.any())
    return f"{found} of {a.size} value(s)"


def _operand(a: np.ndarray, t: Tensor) -> str:
    span = f" in [{a.min():.4g}, {a.max():.4g}]" if a.size and a.dtype.kind in "iuf" else ""
    return f"{t.name or t.op.name} {t.type_str()}{span}"


def _where(node: Tensor) -> str:
    return f"{node.op.name} ({node.loc})" if node.loc is not None else node.op.name


def _join(items: Any) -> str:
    return ", ".join(items)
