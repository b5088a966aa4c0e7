"""How views name the user's files: relative to the working directory when inside it."""
from __future__ import annotations

import functools
import os


@functools.lru_cache(maxsize=256)
def shown_path(filename: str) -> str:
    """`filename` relative to the working directory when inside it, else as it is."""
    path = os.path.relpath(filename) if os.path.isabs(filename) else filename
    return filename if path.startswith("..") else path
