"""ONNX's own conformance suite on graphc's `llvm` build: onnx.backend.test.BackendTest over
graphc.onnx.backend (node tests, the light model zoo, pytorch-converted, pytorch-operator, simple).

A test whose model uses an op, attribute value or dtype graphc cannot express is skipped with the
importer's reason (`OnnxUnsupportedError`); anything else that goes wrong is a failure. The light models'
weights are ConstantOfShape fills (their outputs are a uniform softmax), so each also runs with random
initializers in their place, against onnxruntime."""
from __future__ import annotations

import glob
import os
import unittest

import numpy as np
import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import onnx  # noqa: E402
import onnx.backend.test  # noqa: E402
from onnx import numpy_helper  # noqa: E402

from graphc.onnx import OnnxUnsupportedError, load  # noqa: E402
from graphc.onnx.backend import GraphcBackend  # noqa: E402


class _Backend(GraphcBackend):
    """graphc's backend as the suite sees it: an unsupported model is a skip naming what is missing."""

    @classmethod
    def prepare(cls, model, device="CPU", **kwargs):
        try:
            return super().prepare(model, device, **kwargs)
        except OnnxUnsupportedError as e:
            raise unittest.SkipTest(f"unsupported: {e.what}") from None


#: Tests that fail on graphc and why (xfail, strict: a pass is reported so the entry is removed).
KNOWN_FAILURES: dict[str, str] = {}

_suite = onnx.backend.test.BackendTest(_Backend, __name__)
_suite.exclude(r"_cuda$")
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


LIGHT = sorted(glob.glob(os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light", "*.onnx")))


def _random_weights(model, rng):
    """`model` with each ConstantOfShape fill replaced by a random initializer of its shape (He-scaled
    weights; per-channel vectors in [0.5, 1.5] so batch-norm variances stay positive)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    inits = {i.name: numpy_helper.to_array(i) for i in out.graph.initializer}
    fills = [n for n in out.graph.node if n.op_type == "ConstantOfShape"]
    for node in fills:
        shape = tuple(int(d) for d in inits[node.input[0]])
        scale = np.sqrt(2.0 / np.prod(shape[1:])) if len(shape) >= 2 else None
        value = rng.standard_normal(shape) * scale if scale is not None else rng.uniform(0.5, 1.5, shape)
        out.graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), node.output[0]))
        out.graph.node.remove(node)
    return out


@pytest.mark.parametrize("path", LIGHT, ids=lambda p: os.path.basename(p)[len("light_"):-len(".onnx")])
def test_light_model_random_weights_llvm(path):
    model = _random_weights(onnx.load(path), np.random.default_rng(0))
    imported = load(model)
    x = np.random.default_rng(1).uniform(0, 1, (1, 3, 224, 224)).astype(np.float32)
    (got,) = imported.function(backend="llvm")(x)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = sess.run(None, {imported.input_names[0]: x})
    assert got.shape == want.shape
    assert want.std() > 1e-4, "the random weights should make the outputs differ across classes"
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)
