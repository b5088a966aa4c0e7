"""Code generators, one folder each, installed as `graphc.backends`.

A backend is a module `graphc.backends.<name>` exposing `BACKEND`, an object with

- `name: str`;
- `consumes: str`: "graph" (compile takes the optimized `graphc.ir.Graph`) or
  "program" (it takes the scheduled `graphc.schedule.KernelProgram`);
- `available() -> str | None`: None when usable, else why not (shown by `graphc info`);
- `compile(graph_or_program) -> Executable`, where an Executable is called
  with the validated input arrays, returns the output arrays, and applies the
  parameter updates itself (after computing every output and new value).

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
    except ImportError as e:
        raise BackendError(f"backend {name!r} is not available: {e}") from None
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
    return out


def best() -> Any:
    for name in PREFERENCE:
        try:
            return get(name)
        except BackendError:
            continue
    raise BackendError("no backend is available")
