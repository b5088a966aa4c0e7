"""Datasets: the lectures' synthetic sine data, scikit-learn's 8x8 digits, and MNIST IDX files.

Nothing is downloaded: digits ship inside scikit-learn (extra `data`), and MNIST
is read from IDX files the user already has.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from ..ir import GraphcError

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def sine(n: int = 1000, noise: float = 0.1, seed: int = 0, dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """X ~ U[0, 10]^2 and y = sin(x0) + cos(x1) + noise * N(0, 1), y of shape (n, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 10.0, (n, 2))
    y = np.sin(x[:, 0]) + np.cos(x[:, 1]) + noise * rng.standard_normal(n)
    return x.astype(dtype), y[:, None].astype(dtype)


def digits(dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """The 1797 8x8 handwritten digits: X (n, 64) scaled to [0, 1], y int64 labels 0-9."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise GraphcError("data.digits: needs scikit-learn, which ships the digits dataset",
                          fix="pip install 'graphc[data]'") from None
    d = load_digits()
    return (d.data / 16.0).astype(dtype), d.target.astype(np.int64)


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format, optionally .gz): magic, dims, then big-endian data."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise GraphcError(f"data.load_idx: cannot read {os.fspath(path)!r}: {e}",
                          fix="pass the path of an MNIST-style IDX file") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise GraphcError(f"data.load_idx: {os.fspath(path)!r} is not an IDX file (bad magic {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = header + int(np.prod(dims)) * dtype.itemsize
    if len(raw) != expected:
        raise GraphcError(f"data.load_idx: {os.fspath(path)!r} has {len(raw)} bytes, its header {dims} "
                          f"promises {expected}", fix="the file is truncated or corrupt; fetch it again")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def mnist(directory: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST from local IDX files: images (n, 784) float32 in [0, 1] and int64 labels."""
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise GraphcError(f"data.mnist: split must be 'train' or 'test', got {split!r}")
    found = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        base = Path(directory) / f"{prefix}-{kind}"
        path = next((p for p in (base, base.with_name(base.name + ".gz")) if p.exists()), None)
        if path is None:
            raise GraphcError(f"data.mnist: {base} (or .gz) not found",
                              fix="put the four MNIST IDX files in that directory (graphc downloads nothing)")
        found.append(load_idx(path))
    images, labels = found
    return images.reshape(len(images), -1).astype(np.float32) / 255.0, labels.astype(np.int64)
