"""Code generators, one folder each, installed as `graphc.backends`.

A backend is a module `graphc.backends.<name>` holding an object that implements
`graphc.backend.Backend` (its classes subclass that protocol), found by name through
the registry of `graphc.backend`: the core never imports this package. `get`,
`status`, `choose`, `PREFERENCE`, ... are that registry's, named here too.

Backends see the IR, the ops, control flow, the passes and the kernel program
only; they never import graphc's user-level modules.
"""
from __future__ import annotations

import os

from graphc.backend import KNOWN, PREFERENCE, REFERENCE, best, choose, get, register, status
from graphc.ir.source import register_internal_dir

register_internal_dir(os.path.dirname(os.path.abspath(__file__)))

__all__ = ["KNOWN", "PREFERENCE", "REFERENCE", "best", "choose", "get", "register", "status"]
