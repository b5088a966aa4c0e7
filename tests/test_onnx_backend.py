"""ONNX's own conformance suite on graphc's `llvm` build: onnx.backend.test.BackendTest over
graphc.onnx.backend (node tests, the light model zoo, pytorch-converted, pytorch-operator, simple).

A test whose model uses an op, attribute value or dtype graphc cannot express is skipped with the
importer's reason (`OnnxUnsupportedError`); anything else that goes wrong is a failure. The light models'
weights are ConstantOfShape fills (their outputs are a uniform softmax), so each also runs with random
initializers in their place, against onnxruntime."""
from __future__ import annotations

import os
import unittest

import numpy as np
import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import onnx  # noqa: E402
import onnx.backend.test  # noqa: E402

from graphc.bench import onnx_models  # noqa: E402
from graphc.onnx import OnnxUnsupportedError, load  # noqa: E402
from graphc.onnx.backend import GraphcBackend  # noqa: E402


def _unsupported_skips(call):
    try:
        return call()
    except OnnxUnsupportedError as e:
        raise unittest.SkipTest(f"unsupported: {e.what}") from None


class _Rep:
    """A rep whose `run` reports an unsupported model as a skip (a model that reads an input as a shape
    is imported at its first run, with that input's value)."""

    def __init__(self, rep):
        self.rep = rep

    def run(self, inputs, **kwargs):
        return _unsupported_skips(lambda: self.rep.run(inputs, **kwargs))


class _Backend(GraphcBackend):
    """graphc's backend as the suite sees it: an unsupported model is a skip naming what is missing."""

    @classmethod
    def prepare(cls, model, device="CPU", **kwargs):
        return _Rep(_unsupported_skips(lambda: GraphcBackend.prepare(model, device, **kwargs)))


#: Tests that fail on graphc and why (xfail, strict: a pass is reported so the entry is removed).
KNOWN_FAILURES: dict[str, str] = {
    r"^test_attention_4d_causal_fp16(_expanded)?_cpu$":
        "float16 rounding: graphc computes each op in float32 and rounds once, the NumPy reference rounds "
        "inside the matmul and softmax too; 2 of 192 outputs differ by 2 ulp (> rtol 1e-3), and graphc's are "
        "the closer to a float64 evaluation (max error 3.96e-4 vs the reference's 4.91e-4)",
}

_suite = onnx.backend.test.BackendTest(_Backend, __name__)
for _pattern in KNOWN_FAILURES:
    _suite.xfail(_pattern)
globals().update(_suite.test_cases)


@pytest.fixture(autouse=True, scope="module")
def _private_onnx_home(tmp_path_factory):
    """The light models' runner writes their inputs under $ONNX_HOME: a private folder per session, so
    two test processes never read each other's half-written files."""
    old = os.environ.get("ONNX_HOME")
    os.environ["ONNX_HOME"] = str(tmp_path_factory.mktemp("onnx_home"))
    yield
    if old is None:
        del os.environ["ONNX_HOME"]
    else:
        os.environ["ONNX_HOME"] = old


@pytest.mark.parametrize("name", sorted(onnx_models.LIGHT))
def test_light_model_random_weights_llvm(name):
    """Each light model with its ConstantOfShape fills replaced by random weights (the benchmark's, tempered
    so the softmax is neither uniform nor one-hot), against onnxruntime."""
    model = onnx_models.light(name)
    imported = load(model)
    x = np.random.default_rng(1).uniform(0, 1, (1, 3, 224, 224)).astype(np.float32)
    (got,) = imported.function(backend="llvm")(x)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = sess.run(None, {imported.input_names[0]: x})
    assert got.shape == want.shape
    assert want.std() > 1e-4, "the random weights should make the outputs differ across classes"
    # float32 sums over ~100 layers in another order: differences scale with the outputs' magnitude
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5 * max(1.0, np.abs(want).max()))
