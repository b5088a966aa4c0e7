"""Backends are objects of the `graphc.backend.Backend` protocol, found by name through its registry:
the built-in ones implement it, one from outside graphc plugs in with `register`, and the core reaches
a backend's optional capabilities (PTX, libraries, native code) through the protocols that declare them."""
import subprocess
import sys
import types

import numpy as np
import pytest

import graphc as gc
from graphc import backend as registry
from graphc.backend import Backend, ExportsLibraries, GeneratesPtx, NativeCode


class Doubling(Backend):
    """A backend from outside graphc: the NumPy reference with every float output doubled (so a test
    can tell that it, not the reference, ran)."""

    name = "doubling"
    consumes = "graph"

    def available(self):
        return None

    def compile(self, graph):
        exe = registry.get("numpy").compile(graph)
        return lambda arrays: [o * 2 for o in exe(arrays)]


@pytest.fixture
def plugin(monkeypatch):
    module = types.ModuleType("graphc_test_plugin")
    module.DOUBLING = Doubling()
    monkeypatch.setitem(sys.modules, "graphc_test_plugin", module)
    registry.register("doubling", "graphc_test_plugin", "DOUBLING")
    yield "doubling"
    del registry.KNOWN["doubling"]


def test_a_registered_backend_compiles_functions_by_its_name(plugin):
    x = gc.placeholder((3,), name="x")
    fn = gc.function([x], gc.exp(x), backend=plugin)
    assert fn.backend == "doubling"
    np.testing.assert_allclose(fn(np.array([0.0, 1.0, 2.0], np.float32)), 2 * np.exp([0.0, 1.0, 2.0]), rtol=1e-6)
    assert registry.status()["doubling"] is None
    assert gc.backends.get(plugin) is sys.modules["graphc_test_plugin"].DOUBLING  # the registry's alias


def test_the_protocol_gives_the_optional_members_their_defaults(plugin):
    doubling = registry.get(plugin)
    assert doubling.unsupported == () and doubling.step_cache is None
    assert doubling.device_input(np.zeros(3), gc.placeholder((3,)), "input 'x'") is None
    with pytest.raises(TypeError, match="abstract"):
        type("Incomplete", (Backend,), {"name": "incomplete", "consumes": "graph"})()


@pytest.mark.parametrize("name", ["numpy", "numpy-kernels", "llvm", "llvm-checked", "cuda", "cuda-host",
                                  "cuda-emulate"])
def test_every_built_in_backend_implements_the_protocol(name):
    module, attribute = registry.KNOWN[name]
    backend = getattr(__import__(module, fromlist=[attribute]), attribute)
    assert isinstance(backend, Backend) and backend.name == name and backend.consumes in ("graph", "program")


def test_capabilities_are_declared_by_the_backends_that_have_them():
    assert isinstance(registry.capability("cuda", GeneratesPtx), GeneratesPtx)
    assert isinstance(registry.capability("llvm", ExportsLibraries), ExportsLibraries)
    with pytest.raises(gc.BackendError, match="backend 'numpy' has no GeneratesPtx capability"):
        registry.capability("numpy", GeneratesPtx)
    with pytest.raises(gc.BackendError, match="unknown backend 'nope'"):
        registry.capability("nope", GeneratesPtx)


def test_native_code_is_asked_of_the_executables_that_have_it():
    x = gc.placeholder((4,), name="x")
    numpy_fn, llvm_fn = (gc.function([x], gc.tanh(x), backend=b) for b in ("numpy", "llvm"))
    a = np.linspace(-1, 1, 4).astype(np.float32)
    numpy_fn(a), llvm_fn(a)
    assert isinstance(llvm_fn.variant().executable, NativeCode) and "define" in llvm_fn.llvm_ir()
    for ask in (lambda: numpy_fn.llvm_ir(), lambda: numpy_fn.asm(), lambda: numpy_fn.profile(a)):
        with pytest.raises(gc.InputError, match="the numpy backend compiles no native code"):
            ask()
    assert ".entry" in numpy_fn.ptx()  # the PTX of the cuda backend, through the registry, with no GPU


def test_importing_graphc_imports_no_backend():
    check = ("import sys, graphc; assert not [m for m in sys.modules if m.startswith('graphc.backends')], "
             "[m for m in sys.modules if m.startswith('graphc.backends')]")
    subprocess.run([sys.executable, "-c", check], check=True)
