"""Code generators, one folder each, installed as `graphc.backends`.

A backend is a module `graphc.backends.<name>` exposing `BACKEND`, an object with

- `name: str`;
- `consumes: str`: "graph" (compile takes the optimized `graphc.ir.Graph`) or
  "program" (it takes the scheduled `graphc.schedule.KernelProgram`);
- `available() -> str | None`: None when usable, else why not (shown by `graphc info`);
- `compile(graph_or_program) -> Executable`, where an Executable is called
  with the validated input arrays, returns the output arrays, and applies the
  parameter updates itself (after computing every output and new value);
- optionally `unsupported`: the exception types `compile` raises for a graph it
  cannot build (never for a user's error); `backend="auto"` then compiles that
  graph on the reference instead.

Backends see the IR only; they never import graphc's user-level modules.
"""
from __future__ import annotations

import importlib
import os
from typing import Any

from graphc.ir.errors import BackendError
from graphc.ir.source import register_internal_dir

register_internal_dir(os.path.dirname(os.path.abspath(__file__)))

#: Preference order for `backend="auto"`: the fastest one that is available wins.
PREFERENCE = ("llvm", "numpy")
#: The backend that compiles every graph, where "auto" ends when the faster ones cannot be used.
REFERENCE = "numpy"
#: backend name -> (module under graphc.backends, attribute holding the backend object)
KNOWN = {"numpy": ("numpy", "BACKEND"), "numpy-kernels": ("numpy", "KERNELS"),
         "llvm": ("llvm", "BACKEND"), "llvm-checked": ("llvm", "CHECKED"), "cuda": ("cuda", "BACKEND"),
         "cuda-host": ("cuda", "HOST_OUTPUTS"), "cuda-emulate": ("cuda", "EMULATED")}


def _load(name: str) -> Any:
    module, attr = KNOWN[name]
    backend = getattr(importlib.import_module(f"graphc.backends.{module}"), attr, None)
    if backend is None:
        raise ImportError(f"graphc.backends.{module} defines no {attr}")
    return backend


def get(name: str) -> Any:
    """The backend called `name`, or a BackendError saying why it cannot be used."""
    if name == "auto":
        return best()
    if name not in KNOWN:
        raise BackendError(f"unknown backend {name!r}", fix=f"use one of {', '.join(KNOWN)} or 'auto'")
    try:
        backend = _load(name)
    except (ImportError, BackendError) as e:  # BackendError: the platform lacks what its module needs
        raise BackendError(f"backend {name!r} is not available: {getattr(e, 'what', e)}") from None
    why = backend.available()
    if why is not None:
        raise BackendError(f"backend {name!r} is not available: {why}")
    return backend


def status() -> dict[str, str | None]:
    """For each known backend: None if usable, else the reason it is not."""
    out: dict[str, str | None] = {}
    for name in KNOWN:
        try:
            out[name] = _load(name).available()
        except ImportError as e:
            out[name] = f"not built yet ({e})"
        except BackendError as e:
            out[name] = e.what
    return out


def choose(name: str) -> tuple[Any, str | None]:
    """The backend `name` asks for, and for "auto" why its first preference is not the one (else None):
    "auto" takes the first of PREFERENCE that is available."""
    if name != "auto":
        return get(name), None
    reasons = []
    for preferred in PREFERENCE:
        try:
            return get(preferred), "; ".join(reasons) or None
        except BackendError as e:
            reasons.append(e.what)
    raise BackendError(f"no backend is available: {'; '.join(reasons)}")


def best() -> Any:
    return choose("auto")[0]
