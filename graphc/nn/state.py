"""Checkpoints as `.npz` archives: no pickle, so loading a file never runs code."""
from __future__ import annotations

import os
import zipfile
from typing import Mapping

import numpy as np

from ..ir import GraphcError
from .serialization import atomic_path


def save_state(state: Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    """Write arrays by name to `path` (.npz), atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in state.items()})


def load_state(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read arrays by name from an .npz written by `save_state` (object arrays are refused)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise GraphcError(f"nn.load_state: cannot read {os.fspath(path)!r}: {e}",
                          fix="pass a .npz file written by Module.save") from None
