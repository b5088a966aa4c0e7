"""Shared test helpers: the `backend` fixture, `evaluate`, and the one table of tolerances per backend and dtype.

Tests that compile a function and compare its result with a reference (NumPy
closed forms, finite differences, torch) take the `backend` fixture and run
once per backend, each id the build it names: "llvm" is the build users run
(the default O-level, loops grouped across kernels, the disk caches), and
"llvm-checked" the bounds-checked build, which also checks that no kernel
addresses memory outside its storages.
"""
import os
import re

import numpy as np
import pytest
from hypothesis import settings

import graphc as gc

# Randomized tests draw the same examples on every run, so a green suite means the same thing each
# time; exploring new examples is the fuzzer's soak (python -m graphc.testing.fuzz --minutes N), or
# HYPOTHESIS_PROFILE=explore.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

#: fixture id -> backend name passed to gc.function
BACKENDS = {"numpy": "numpy", "llvm": "llvm", "llvm-checked": "llvm-checked"}
if gc.backends.status()["cuda"] is None:  # a GPU machine: every backend test also runs on the GPU
    BACKENDS["cuda"] = "cuda-host"  # (outputs copied to NumPy for the comparisons)

#: (backend family, dtype) -> assert_allclose tolerances for results compared with a NumPy reference.
#: NumPy evaluates the same formulas as the references. LLVM sums in double (pairwise float32 sums differ),
#: computes fused bodies in its own operation order and uses its own exp/log/tanh (<= 2 ulp float32,
#: <= 4 ulp float64), so it gets a few ulp more room. docs/backends.md shows this table.
TOLERANCES = {
    ("numpy", "float32"): {"rtol": 2e-6, "atol": 1e-7},
    ("numpy", "float64"): {"rtol": 1e-12, "atol": 1e-14},
    ("llvm", "float32"): {"rtol": 1e-5, "atol": 1e-6},
    ("llvm", "float64"): {"rtol": 1e-10, "atol": 1e-12},
}


def tol(backend: str, dtype="float64") -> dict:
    """assert_allclose keyword arguments for `backend` (a name or fixture id) and a float dtype."""
    family = "llvm" if backend.startswith(("llvm", "cuda")) else "numpy"  # cuda: sums in double, libdevice
    return TOLERANCES[family, np.dtype(dtype).name]


@pytest.fixture(params=list(BACKENDS))
def backend(request) -> str:
    return BACKENDS[request.param]


def evaluate(fn, *arrays, backend):
    """Build `fn` over placeholders shaped like `arrays`, compile it for `backend`, and run it."""
    xs = [gc.placeholder(np.shape(a), np.asarray(a).dtype.name, name=f"a{i}") for i, a in enumerate(arrays)]
    out = fn(*xs)
    return gc.function(xs, out, backend=backend)(*arrays)


@pytest.fixture(scope="session", autouse=True)
def _compile_cache(tmp_path_factory):
    """Compiled code is cached in a session temporary folder, never in the user's ~/.cache/graphc."""
    patch = pytest.MonkeyPatch()
    patch.setenv("GRAPHC_CACHE_DIR", str(tmp_path_factory.mktemp("graphc-cache")))
    yield
    patch.undo()


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh LLVM cache folder, and no in-memory machines, so every compile goes through the disk cache."""
    from graphc.backends.llvm import runtime
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GRAPHC_CACHE", raising=False)
    monkeypatch.setattr(runtime, "_MACHINES", {})
    return tmp_path


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def torch_key(request) -> str:
    """The key of this test's stored PyTorch reference (tests/torchref.py): its module, name and parameters
    without the backend, so the runs on every backend share one stored file."""
    module = request.node.module.__name__
    spec = getattr(request.node, "callspec", None)
    if spec is None or "backend" not in spec.params:
        return f"{module}.{request.node.name}"
    backend_id = next(k for k, v in BACKENDS.items() if v == spec.params["backend"])
    rest = re.sub(rf"(^|-){re.escape(backend_id)}(?=-|$)", "", spec.id, count=1).strip("-")
    return f"{module}.{request.node.originalname}" + (f"[{rest}]" if rest else "")
