"""`gc.export_library`: a compiled step as a native shared library with a C header.

The work is the LLVM backend's (its `ExportsLibraries` capability, found through the
registry of graphc.backend: the core imports no backend); this module picks the
variant's kernel program, so any function can be exported whatever backend it runs
on in Python.
"""
from __future__ import annotations

import os
from typing import Sequence

from .backend import ExportsLibraries, capability
from .function import Function
from .ir.errors import InputError


def export_library(fn: Function, library: str, header: str | None = None, *, name: str | None = None,
                   shapes: Sequence[tuple] | None = None):
    """Write `fn`'s step (outputs, then the parameter updates) as the shared library `library`.

    `header` is the C header to write (default: `library` with `.h` for its extension);
    every C symbol starts with `graphc_<name>_` (`name` defaults to the library's file
    name without `lib` and extension). `shapes` picks the variant, one shape per input
    (default: the last one called, or the declared shapes). The parameters' current
    values become the library's initial values. Returns the paths and the symbol prefix.
    See docs/backends.md, "Ahead-of-time libraries", for the C API.
    """
    if not isinstance(fn, Function):
        raise InputError(f"export_library: expected a compiled gc.function, got {type(fn).__name__}",
                         fix="pass the result of gc.function(inputs, outputs, updates=...)")
    if not isinstance(library, str) or not library:
        raise InputError(f"export_library: the library path must be a non-empty string, got {library!r:.60}")
    if header is not None and (not isinstance(header, str) or not header):
        raise InputError(f"export_library: the header path must be a non-empty string, got {header!r:.60}")
    program = fn.kernel_program(*(shapes or ()))
    exporter = capability("llvm", ExportsLibraries)
    return exporter.export_library(program, library, header or os.path.splitext(library)[0] + ".h", name)
