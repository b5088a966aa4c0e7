"""Delta debugging: the smallest program that still shows a finding on the same backend.

Greedy: try each simplification in turn (drop the gradient/jvp layer, lower the
O-level, keep fewer outputs, replace a line by one of its operands or by a fresh
placeholder of its shape, shrink input dims, keep one draw) and keep the first
that still fails the same way; repeat until none does.
"""
from __future__ import annotations

import re
import time
from typing import Callable, Iterator

from graphc.ir import is_float

from .program import Input, Program, values
from .run import Finding, run

NAME = re.compile(r"\b[xv]\d+\b")
LOWER = {"O2": "O1", "O1": "O0"}


def fails(program: Program, finding: Finding, check: Callable = run) -> Finding | None:
    """The finding `program` shows on `finding`'s backend and level with the same kind, if any."""
    targets = [] if finding.backend == "graph" else [(finding.backend, finding.level)]
    for f in check(program, targets).findings:
        if (f.backend, f.level, f.kind) == (finding.backend, finding.level, finding.kind):
            return f
    return None


def minimize(program: Program, finding: Finding, check: Callable = run, budget_s: float = 60.0,
             ) -> tuple[Program, Finding]:
    """The smallest (program, finding) reached within `budget_s` seconds (`check` is `run` but for tests)."""
    deadline = time.monotonic() + budget_s
    program = prune(program)
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        for candidate, level in _candidates(program, finding.level):
            if time.monotonic() > deadline:
                break
            target = Finding(finding.backend, level, finding.kind, finding.detail)
            found = fails(candidate, target, check)
            if found is not None:
                program, finding, improved = candidate, found, True
                break
    return program, finding


def prune(program: Program) -> Program:
    """Without the lines and inputs the outputs do not need."""
    need = set(program.outputs) | set(program.wrt)
    lines = []
    for name, expr in reversed(program.lines):
        if name in need:
            lines.append((name, expr))
            need |= set(NAME.findall(expr))
    used = set(program.outputs).union(*(NAME.findall(e) for _, e in lines))
    return program.with_(lines=tuple(reversed(lines)), inputs=tuple(x for x in program.inputs if x.name in used),
                         wrt=tuple(w for w in program.wrt if w in used))


def _candidates(p: Program, level: str) -> Iterator[tuple[Program, str]]:
    """Simpler variants of `p`, the biggest simplifications first."""
    if p.layer == "grad2":
        yield p.with_(layer="grad"), level
    if p.layer != "value":
        yield p.with_(layer="value", wrt=()), level
    if level in LOWER:
        yield p, LOWER[level]
    if len(p.outputs) > 1:
        for o in p.outputs:
            yield prune(p.with_(outputs=(o,))), level
    if len(p.wrt) > 1:
        for w in p.wrt:
            yield prune(p.with_(wrt=tuple(x for x in p.wrt if x != w))), level
    if len(p.sizes) > 1:
        for s in p.sizes:
            yield p.with_(sizes=(s,)), level
    for name, expr in reversed(p.lines):
        for operand in dict.fromkeys(NAME.findall(expr)):
            yield _substitute(p, name, operand), level
        fresh = _as_input(p, name)
        if fresh is not None:
            yield fresh, level
    for i, x in enumerate(p.inputs):
        for axis, d in enumerate(x.shape):
            if d is not None and d > 1:
                shape = x.shape[:axis] + (1,) + x.shape[axis + 1:]
                one = Input(x.name, shape, x.dtype, x.low, x.high)
                yield p.with_(inputs=p.inputs[:i] + (one,) + p.inputs[i + 1:]), level
    if any(s > 1 for s in p.sizes):
        yield p.with_(sizes=tuple(min(s, 1) for s in p.sizes)), level


def _rename(text: str, old: str, new: str) -> str:
    return re.sub(rf"\b{old}\b", new, text)


def _substitute(p: Program, name: str, by: str) -> Program:
    """`p` with line `name` gone and its uses reading `by` instead."""
    lines = tuple((n, _rename(e, name, by)) for n, e in p.lines if n != name)
    outputs = tuple(dict.fromkeys(by if o == name else o for o in p.outputs))
    return prune(p.with_(lines=lines, outputs=outputs))


def _as_input(p: Program, name: str) -> Program | None:
    """`p` with line `name` replaced by a fresh placeholder of its shape and dtype (None if it does not build)."""
    try:
        t = values(p)[name]
    except Exception:  # noqa: BLE001 - a line that does not build cannot become an input
        return None
    fresh = f"x{1 + max([-1] + [int(x.name[1:]) for x in p.inputs])}"
    lines = tuple((n, _rename(e, name, fresh)) for n, e in p.lines if n != name)
    outputs = tuple(fresh if o == name else o for o in p.outputs)
    wrt = p.wrt + ((fresh,) if p.layer != "value" and is_float(t.dtype) else ())
    return prune(p.with_(inputs=p.inputs + (Input(fresh, t.shape, t.dtype),), lines=lines, outputs=outputs, wrt=wrt))
