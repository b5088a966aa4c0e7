"""Checkpoints as `.npz` archives: no pickle, so loading a file never runs code.

A parameter file (`Module.save`) holds one array per parameter or buffer, by
dotted path. A training checkpoint (`graphc.checkpoint`) is the same kind of
archive with a JSON header under the key `HEADER` (format name and version) and
its arrays in sections (`model/...`, `optimizer/...`); `load_state` reads the
model section of either. NumPy writes a bfloat16 array (ml_dtypes) as raw bytes it
cannot read back as bfloat16, so such arrays are stored as their uint16 bits and
named in a JSON map under `DTYPES`, and read back as bfloat16.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Any, Mapping

import numpy as np

from ..ir import CheckpointError, GraphcError
from ..ir.dtypes import to_numpy
from .serialization import atomic_path

#: The archive key of a training checkpoint's JSON header; parameter files have none.
HEADER = "__graphc__"
#: The archive key of the JSON map {array name: dtype} of arrays stored as their bits (bfloat16).
DTYPES = "__graphc_dtypes__"
#: The section of a training checkpoint that holds the model's parameters and buffers.
MODEL = "model/"
#: The header's format name, and the newest format version this graphc reads and writes.
FORMAT, VERSION = "graphc.checkpoint", 1


def save_state(state: Mapping[str, np.ndarray], path: str | os.PathLike,
               header: Mapping[str, Any] | None = None) -> None:
    """Write arrays by name to `path` (.npz), atomically; `header` (JSON-able) goes under `HEADER`."""
    arrays = {k: np.asarray(v) for k, v in state.items()}
    as_bits = {k: "bfloat16" for k, v in arrays.items() if v.dtype.name == "bfloat16"}
    arrays.update({k: arrays[k].view(np.uint16) for k in as_bits})
    if as_bits:
        arrays[DTYPES] = np.array(json.dumps(as_bits))
    if header is not None:
        arrays[HEADER] = np.array(json.dumps(header, allow_nan=False))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def read_archive(path: str | os.PathLike, who: str = "nn.load_state") -> tuple[dict[str, Any] | None,
                                                                             dict[str, np.ndarray]]:
    """(header or None for a parameter file, arrays by name) of an .npz; object arrays are refused."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise GraphcError(f"{who}: cannot read {os.fspath(path)!r}: {e}",
                          fix="pass a .npz file written by Module.save or gc.checkpoint.save_checkpoint") from None
    _restore_dtypes(arrays, path, who)
    if HEADER not in arrays:
        return None, arrays
    try:
        header = json.loads(str(arrays.pop(HEADER)))
    except ValueError as e:
        raise CheckpointError(f"{who}: the header of {os.fspath(path)!r} is not JSON: {e}",
                          fix="the file is corrupt; use an earlier checkpoint") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{who}: {os.fspath(path)!r} has a header, but not of a {FORMAT!r} file",
                              fix="pass a file written by Module.save or gc.checkpoint.save_checkpoint")
    version = header.get("version")
    if not isinstance(version, int) or not 1 <= version <= VERSION:
        raise CheckpointError(f"{who}: {os.fspath(path)!r} is {FORMAT} format version {version!r}; this graphc "
                              f"reads versions 1 to {VERSION}",
                              fix="load it with the (newer) graphc that wrote it, or upgrade graphc")
    return header, arrays


def _restore_dtypes(arrays: dict[str, np.ndarray], path: str | os.PathLike, who: str) -> None:
    """Read the arrays stored as bits (bfloat16) back as their dtype, in place."""
    if DTYPES not in arrays:
        return
    try:
        names = json.loads(str(arrays.pop(DTYPES)))
    except ValueError:
        names = None
    if not isinstance(names, dict) or any(names.get(k) != "bfloat16" or k not in arrays or arrays[k].dtype != np.uint16
                                          for k in names):
        raise CheckpointError(f"{who}: the dtype map of {os.fspath(path)!r} is corrupt",
                              fix="the file is corrupt; use an earlier checkpoint")
    for k in names:
        arrays[k] = arrays[k].view(to_numpy("bfloat16"))


def load_state(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Parameter and buffer arrays by name from a `Module.save` file or a training checkpoint."""
    header, arrays = read_archive(path)
    if header is None:
        return arrays
    return {k[len(MODEL):]: v for k, v in arrays.items() if k.startswith(MODEL)}
