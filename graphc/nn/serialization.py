"""Files written whole or not at all: a crash never leaves half a checkpoint or plot."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


def _fsync(path: str | os.PathLike, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside `path`; on success it is flushed to disk and replaces `path` in one step.

    The fsync of the file before the rename (and of the directory after it) makes the new file
    survive a power loss too: a reader sees the old file or the complete new one, never a torn one.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent or ".")
    os.close(fd)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
        if os.name == "posix":
            _fsync(target.parent, directory=True)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
