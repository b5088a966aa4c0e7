"""Stored PyTorch reference values, so the tests that compare with PyTorch also run without it.

A test asks for its reference with `reference(key, compute)`, where `compute()` imports torch, computes
the expected arrays from the test's (seeded) inputs and returns them by name:

- with torch installed, `compute()` runs live and its result is also compared with the stored file
  `tests/fixtures/torch/<key>.npz`, so a stored reference that no longer matches PyTorch fails;
- without torch, the stored arrays are returned.

`python tests/torchref.py` rewrites the stored files by running, live, every test module that uses
this one (GRAPHC_TORCHREF=write); `python tests/torchref.py --live` runs them live against the stored
files without writing (what CI does after installing torch). GRAPHC_TORCHREF=stored uses the stored
files even where torch is installed (what a newcomer's venv runs). Extra arguments go to pytest.
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

FIXTURES = Path(__file__).parent / "fixtures" / "torch"

#: relative tolerance of a live recomputation against the stored file, by dtype kind and size: PyTorch's
#: CPU kernels may round differently on another processor (vector width, oneDNN's choice of algorithm)
_RTOL = {np.dtype("float64"): 1e-9, np.dtype("float32"): 1e-4}


def mode() -> str:
    """"write", "live" (torch installed) or "stored"."""
    chosen = os.environ.get("GRAPHC_TORCHREF", "auto")
    if chosen not in ("auto", "write", "live", "stored"):
        raise ValueError(f"GRAPHC_TORCHREF={chosen!r}: expected auto, write, live or stored")
    if chosen == "auto":
        return "live" if importlib.util.find_spec("torch") is not None else "stored"
    return chosen


def path_of(key: str) -> Path:
    """The stored file of `key` (a test's name plus its parameters; unsafe characters become _)."""
    return FIXTURES / (re.sub(r"[^A-Za-z0-9_.-]+", "_", key).strip("_") + ".npz")


def _arrays(values: Mapping[str, object]) -> dict[str, np.ndarray]:
    out = {}
    for name, v in values.items():
        if hasattr(v, "detach"):  # a torch tensor
            v = v.detach().numpy()
        out[name] = np.asarray(v)
    return out


def _write(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read(path: Path) -> dict[str, np.ndarray]:
    import pytest

    if not path.exists():
        pytest.fail(f"no stored PyTorch reference {path.relative_to(FIXTURES.parent.parent)}: "
                    "run `python tests/torchref.py` (needs torch==2.13.0) and commit tests/fixtures/torch")
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def _compare(key: str, live: Mapping[str, np.ndarray], stored: Mapping[str, np.ndarray]) -> None:
    assert sorted(live) == sorted(stored), f"{key}: PyTorch now gives {sorted(live)}, stored {sorted(stored)}"
    for name, value in live.items():
        want = stored[name]
        assert value.shape == want.shape and value.dtype == want.dtype, (
            f"{key}[{name}]: PyTorch now gives {value.dtype}{value.shape}, stored {want.dtype}{want.shape}")
        rtol = _RTOL.get(value.dtype, 0.0)
        finite = want[np.isfinite(want)] if want.dtype.kind in "fc" else want
        scale = np.abs(finite).max(initial=0)
        # the scale of the finite values: an inf or NaN in a reference (torch's gradient of x**p at 0) would make atol
        # inf or NaN, and then every value would pass (NaN and inf positions are compared exactly)
        np.testing.assert_allclose(value, want, rtol=rtol, atol=rtol * max(1.0, float(scale)),
                                   err_msg=f"{key}[{name}]: the stored reference no longer matches PyTorch; "
                                           "run `python tests/torchref.py`")


def reference(key: str, compute: Callable[[], Mapping[str, object]]) -> dict[str, np.ndarray]:
    """The PyTorch reference arrays of `key`: computed live where torch is installed (and checked against
    the stored copy), else read from the stored copy."""
    how = mode()
    if how == "stored":
        return _read(path_of(key))
    live = _arrays(compute())
    if how == "write":
        _write(path_of(key), live)
    else:
        _compare(key, live, _read(path_of(key)))
    return live


def users() -> list[Path]:
    """The test modules that take references from this one."""
    here = Path(__file__).parent
    return sorted(p for p in here.glob("test_*.py") if "torchref" in p.read_text())


if __name__ == "__main__":
    args = sys.argv[1:]
    how = "live" if "--live" in args else "write"
    env = dict(os.environ, GRAPHC_TORCHREF=how)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *map(str, users()),
           *(a for a in args if a != "--live")]
    sys.exit(subprocess.call(cmd, env=env, cwd=Path(__file__).parent.parent))
