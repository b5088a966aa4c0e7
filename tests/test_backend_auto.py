"""backend="auto", the default: the llvm build where it works, else the NumPy reference, said in one warning."""
import importlib
import sys
import warnings

import numpy as np
import pytest
from conftest import tol

import graphc as gc
from graphc import train
from graphc.backends import llvm
from graphc.backends.llvm.codegen import Unsupported


def _sine(n=96):
    x, y = gc.data.sine(n, noise=0.1, seed=0)
    return (x - 5.0) / 3.0, y  # inputs of order 1, as examples/sine_fit.py standardizes them


def _forward(model, x):
    """The MLP([2, 8, 1]) forward pass in NumPy, from the model's own weights."""
    w0, b0, w1, b1 = (p.value for p in model.parameters())
    return np.maximum(x @ w0 + b0, 0.0) @ w1 + b1


@pytest.fixture
def compiled(monkeypatch):
    """Every function gc.train compiles, recorded, so a test can see which build each one got."""
    seen = []

    def recording(*args, **kwargs):
        seen.append(gc.function(*args, **kwargs))
        return seen[-1]
    monkeypatch.setattr(train, "function", recording)
    return seen


@pytest.fixture
def fresh_warnings(monkeypatch):
    """No fallback said yet in this process (each reason is said once), and every warning recorded."""
    monkeypatch.setattr(importlib.import_module("graphc.function"), "_WARNED", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def _fallbacks(caught):
    return [w for w in caught if issubclass(w.category, gc.BackendFallbackWarning)]


def test_default_function_compiles_with_llvm():
    x = gc.placeholder((None, 3), "float64", name="x")
    w = gc.parameter(np.arange(6.0).reshape(3, 2), name="w")
    fn = gc.function([x], gc.tanh(x @ w))
    xv = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(fn(xv), np.tanh(xv @ np.arange(6.0).reshape(3, 2)), **tol("llvm"))
    assert (fn.backend, fn.backend_reason) == ("llvm", None)
    assert "define" in fn.llvm_ir()  # native code, which only the llvm build has
    assert gc.function([x], x, backend="numpy").backend == "numpy"  # the reference, one word away


def test_fit_defaults_to_llvm_and_its_losses_equal_numpy(compiled):
    x, y = _sine()
    histories = {}
    for backend in ("auto", "numpy"):
        model = gc.nn.MLP([2, 16, 16, 1], "relu", rng=0)
        kwargs = {} if backend == "auto" else {"backend": backend}
        histories[backend] = train.fit(model, gc.losses.mse, gc.optim.Adam(model.parameters(), lr=3e-3), x[:64],
                                       y[:64], epochs=4, batch_size=16, validation_data=(x[64:], y[64:]), seed=0,
                                       **kwargs)
    # the train step and the validation evaluation, each once per run
    assert [fn.backend for fn in compiled] == ["llvm", "llvm", "numpy", "numpy"]
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(histories["auto"][key], histories["numpy"][key], **tol("llvm", "float32"))
    assert histories["auto"]["loss"][-1] < histories["auto"]["loss"][0]


@pytest.mark.parametrize("backend", ["numpy", "llvm", "llvm-checked"])
def test_predict_and_evaluate_compile_for_the_backend_asked(backend, compiled):
    x, y = _sine(32)
    model = gc.nn.MLP([2, 8, 1], "relu", rng=1)
    expected = _forward(model, x)
    np.testing.assert_allclose(train.predict(model, x, backend=backend), expected, **tol(backend, "float32"))
    logs = train.evaluate(model, gc.losses.mse, x, y, {"mae": gc.metrics.mae}, backend=backend)
    np.testing.assert_allclose(logs["loss"], np.mean((expected - y) ** 2), **tol(backend, "float32"))
    np.testing.assert_allclose(logs["mae"], np.mean(np.abs(expected - y)), **tol(backend, "float32"))
    assert [fn.backend for fn in compiled] == [backend, backend]
    assert train.predict(model, x[:1]).shape == (1, 1) and compiled[-1].backend == "llvm"  # the default


def _no_native_target(monkeypatch):
    monkeypatch.setattr(llvm.LLVMBackend, "available", lambda self: "no native target (simulated)")
    return "no native target (simulated)"


def _no_llvm_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphc.backends.llvm", None)  # as if llvmlite could not be imported
    return "graphc.backends.llvm"


@pytest.mark.parametrize("unavailable", [_no_native_target, _no_llvm_module], ids=["no-target", "no-module"])
def test_unavailable_llvm_falls_back_to_numpy_saying_why_once(unavailable, monkeypatch, fresh_warnings, compiled):
    reason = unavailable(monkeypatch)
    x, y = _sine(64)
    model = gc.nn.MLP([2, 8, 1], "relu", rng=2)
    expected = _forward(model, x)
    np.testing.assert_allclose(train.predict(model, x), expected, **tol("numpy", "float32"))
    history = train.fit(model, gc.losses.mse, gc.optim.SGD(model.parameters(), lr=0.05), x, y, epochs=3,
                        batch_size=64, validation_data=(x, y), shuffle=False)
    assert [fn.backend for fn in compiled] == ["numpy"] * 3
    np.testing.assert_allclose(history["loss"][0], np.mean((expected - y) ** 2), **tol("numpy", "float32"))
    assert all(reason in fn.backend_reason and "'llvm' is not available" in fn.backend_reason for fn in compiled)
    (said,) = _fallbacks(fresh_warnings)  # three functions, one warning
    assert reason in str(said.message) and "\n" not in str(said.message) and said.filename == __file__
    # full-batch SGD: each epoch's validation loss is the loss of the next epoch's one step
    np.testing.assert_allclose(history["val_loss"][:-1], history["loss"][1:], **tol("numpy", "float32"))
    with pytest.raises(gc.BackendError, match="'llvm' is not available"):
        gc.function([], [gc.constant(1.0)], backend="llvm")  # asked for by name: an error, not a fallback


def test_a_graph_llvm_cannot_build_falls_back_at_its_first_call(monkeypatch, fresh_warnings):
    def refuse(self, program):
        raise Unsupported("no native code for this program (simulated)")
    monkeypatch.setattr(llvm.LLVMBackend, "compile", refuse)
    monkeypatch.setattr(llvm.LLVMBackend, "step_cache", None)
    x = gc.placeholder((None, 2), "float64", name="x")
    fn = gc.function([x], gc.exp(x) - 1.0)
    assert fn.backend == "llvm" and not _fallbacks(fresh_warnings)
    xv = np.array([[0.5, -1.0], [2.0, 0.0]])
    np.testing.assert_allclose(fn(xv), np.expm1(xv), **tol("numpy"))
    assert fn.backend == "numpy" and "cannot compile this graph" in fn.backend_reason
    np.testing.assert_allclose(fn(xv[:1]), np.expm1(xv[:1]), **tol("numpy"))  # a new shape: on numpy too
    assert len(_fallbacks(fresh_warnings)) == 1 and "simulated" in str(_fallbacks(fresh_warnings)[0].message)
    with pytest.raises(Unsupported, match="simulated"):
        gc.function([x], x * 2.0, backend="llvm")(xv)  # asked for by name: the error, not a fallback


def test_user_errors_are_raised_not_fallen_back_from(fresh_warnings):
    a = gc.placeholder((None, 2), "float64", name="a")
    b = gc.placeholder((None, 2), "float64", name="b")
    fn = gc.function([a, b], a + b)
    with pytest.raises(gc.InputError, match="do not fit together"):  # raised while compiling this shape
        fn(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(gc.InputError, match="expects shape"):
        fn(np.ones((3, 3)), np.ones((3, 3)))
    i = gc.placeholder((2,), "int64", name="i")
    rows = gc.function([i], gc.take(gc.constant(np.arange(6.0).reshape(3, 2)), i, axis=0))
    with pytest.raises(gc.IndexRangeError):  # found by the native code while it runs
        rows(np.array([0, 3]))
    assert [fn.backend for fn in (fn, rows)] == ["llvm", "llvm"] and fn.backend_reason is None
    assert not _fallbacks(fresh_warnings)
    np.testing.assert_allclose(fn(np.ones((3, 2)), np.full((3, 2), 2.0)), np.full((3, 2), 3.0))
    np.testing.assert_allclose(rows(np.array([2, -3])), [[4.0, 5.0], [0.0, 1.0]])
