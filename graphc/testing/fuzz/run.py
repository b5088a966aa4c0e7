"""Run one program on the reference and on each backend at each O-level, and compare.

The reference is backend "numpy" at O0 on the program with float inputs widened
to float64. The same interpreter on the program as declared ("ref32") measures
how far float32 rounding alone moves each output; a backend may differ from the
reference by a small tolerance plus a multiple of that. Each (backend, level)
compiles one function and calls it with every draw: new values, and free dims
of several sizes on the same compiled function.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

import graphc as gc
from graphc.ir import is_float, toposort

from .program import Program, build

REFERENCE = ("numpy", "O0")
#: dtype -> (rtol, atol relative to the output's largest magnitude, multiple of the float32 rounding noise)
TOLERANCE = {"bfloat16": (1.6e-2, 8e-3, 8.0), "float16": (2e-3, 1e-3, 8.0), "float32": (1e-4, 1e-5, 8.0),
             "float64": (1e-9, 1e-11, 8.0)}
#: float dtypes from the loosest tolerance to the tightest
LOOSEST = tuple(TOLERANCE)


@dataclass(frozen=True)
class Finding:
    """A disagreement with the reference: "value" (numbers, shape or dtype), "error" (another error,
    or none where the reference raised one, or one where it raised none) or "crash" (not a GraphcError)."""

    backend: str
    level: str
    kind: str
    detail: str


@dataclass
class Outcome:
    """What running one program found: which (backend, level) pairs ran it, and the findings."""

    ran: list[tuple[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    invalid: str | None = None       # why the program was not run (graphc rejected it as declared)


def widen(args: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [a.astype(np.float64) if is_float(a.dtype.name) else a for a in args]


Result = list[np.ndarray] | Exception


def results(graph: tuple[list, Any], backend: str, level: str, draws: Sequence[list[np.ndarray]]) -> list[Result]:
    """One compiled function called with each draw: its outputs, or the exception it raised."""
    try:
        fn = gc.function(*graph, backend=backend, optimize=level)
    except Exception as e:  # noqa: BLE001 - which exception is the point
        return [e] * len(draws)
    out: list[Result] = []
    for args in draws:
        try:
            got = fn(*args)
            out.append([np.asarray(o) for o in (got if isinstance(got, (list, tuple)) else [got])])
        except Exception as e:  # noqa: BLE001
            out.append(e)
    return out


def compare(got: Result, want: Result, noise: list[np.ndarray | None], loose: str | None = None
            ) -> tuple[str, str] | None:
    """(kind, detail) of a disagreement with the reference, or None when they agree (`loose`: a float
    dtype rounded to upstream, whose tolerances apply to every float output that has tighter ones)."""
    if isinstance(got, Exception) and not isinstance(got, gc.GraphcError):
        return "crash", f"{type(got).__name__}: {got}"
    if isinstance(want, Exception) or isinstance(got, Exception):
        if type(got) is type(want):
            return None
        return "error", f"{_what(got)} where the reference gave {_what(want)}"
    for i, (g, w, n) in enumerate(zip(got, want, noise)):
        bad = _differ(g, w, n, loose)
        if bad:
            return "value", f"output {i}: {bad}"
    return None


def _what(x: Any) -> str:
    return f"{type(x).__name__}: {str(x).splitlines()[-1][:120]}" if isinstance(x, Exception) else "values"


def _differ(got: np.ndarray, want: np.ndarray, noise: np.ndarray | None, loose: str | None) -> str | None:
    if got.shape != want.shape:
        return f"shape {got.shape}, reference {want.shape}"
    if noise is not None and got.dtype.name != noise.dtype.name:
        return f"dtype {got.dtype}, reference {noise.dtype}"
    if got.dtype.kind in "biu":
        bad = got != want
    else:
        rtol, atol, k = TOLERANCE[min(loose or got.dtype.name, got.dtype.name, key=LOOSEST.index)]
        scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
        slack = atol * scale + rtol * np.abs(want) + (k * np.abs(noise - want) if noise is not None else 0.0)
        with np.errstate(invalid="ignore", over="ignore"):
            bad = ~(np.abs(got.astype(np.float64) - want) <= slack)
    if not bad.any():
        return None
    i = np.unravel_index(int(np.argmax(bad)), bad.shape) if bad.ndim else ()
    return (f"{int(bad.sum())} of {bad.size} differ, e.g. at {tuple(int(j) for j in i)}: {got[i]!r}, "
            f"reference {want[i]!r}")


def _valid(want: list[np.ndarray] | Exception, noise: list[np.ndarray] | Exception) -> bool:
    """A draw the reference can judge: finite float outputs and ints that float32 rounding did not change."""
    if isinstance(want, Exception) or isinstance(noise, Exception):
        return type(want) is type(noise) and isinstance(want, gc.GraphcError)
    for w, n in zip(want, noise):
        if is_float(w.dtype.name) and not (np.all(np.isfinite(w)) and np.all(np.isfinite(n))):
            return False
        if w.dtype.kind in "biu" and not np.array_equal(w, n):
            return False
    return True


def run(program: Program, targets: Sequence[tuple[str, str]]) -> Outcome:
    """Compare every (backend, level) in `targets` with the reference on each draw of `program`."""
    outcome = Outcome()
    try:
        build(program.with_(layer="value", wrt=()), False)
    except gc.GraphcError as e:
        outcome.invalid = f"{type(e).__name__}: {e.what}"
        return outcome
    except Exception as e:  # noqa: BLE001
        outcome.findings.append(Finding("graph", "-", "crash", f"declaring it: {type(e).__name__}: {e}"))
        return outcome
    try:
        wide, narrow = build(program, True), build(program, False)
    except gc.GraphcError as e:   # a derivative graphc does not take (and says why)
        outcome.invalid = f"{program.layer}: {type(e).__name__}: {e.what}"
        return outcome
    except Exception as e:  # noqa: BLE001
        outcome.findings.append(Finding("graph", "-", "crash",
                                        f"declaring its {program.layer}: {type(e).__name__}: {e}"))
        return outcome
    args = [program.draw(k) for k in range(len(program.sizes))]
    wants = results(wide, *REFERENCE, [widen(a) for a in args])
    noises = results(narrow, *REFERENCE, args)
    for ref in wants + noises:
        if isinstance(ref, Exception) and not isinstance(ref, gc.GraphcError):
            outcome.findings.append(Finding(*REFERENCE, "crash", f"the reference: {type(ref).__name__}: {ref}"))
            return outcome
    rounded = {n.dtype for n in toposort(list(narrow[1]))} & set(LOOSEST[:-1])  # rounding anywhere upstream
    loose = min(rounded, key=LOOSEST.index) if rounded else None
    keep = [k for k in range(len(args)) if _valid(wants[k], noises[k])]
    if not keep:
        outcome.invalid = "no draw the reference can judge (non-finite or rounding-sensitive)"
        return outcome
    for backend, level in targets:
        outcome.ran.append((backend, level))
        for k, got in zip(keep, results(narrow, backend, level, [args[k] for k in keep])):
            noise = noises[k] if not isinstance(noises[k], Exception) else [None] * 99
            bad = compare(got, wants[k], noise, loose)
            if bad is not None:
                outcome.findings.append(Finding(backend, level, *bad))
                break
    return outcome
