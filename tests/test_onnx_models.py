"""Real-weight models exported by torch.onnx.export, imported with graphc.onnx.load and run on each backend,
against onnxruntime on the same inputs: torchvision's ResNet-18 and MobileNet-v2 (narrow, on 32x32 images)
and a small transformer encoder over token ids (graphc.bench.torch_models, random weights from seed 0).

The transformer is stored (tests/fixtures/onnx, tests/onnxfiles.py) so it runs without torch; ResNet-18 and
MobileNet-v2 are exported live and skip without torch (stored, they would be ~2 MB).
"""
import importlib.util

import numpy as np
import pytest

import onnxfiles

onnx = pytest.importorskip("onnx", reason="graphc.onnx needs the onnx extra")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is the reference these tests compare with")

import graphc.onnx as gonnx  # noqa: E402 - after the importorskip
from graphc.bench import onnx_models  # noqa: E402

BACKENDS = ("numpy", "llvm")
#: float32 through ~20 layers in another summation order than onnxruntime's (MLAS): a few ulp per layer
TOL = {"rtol": 1e-4, "atol": 1e-5}


def _onnxruntime(model, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _check(model, backend: str, batch: int = 3) -> None:
    """graphc's outputs of `model` on random inputs at `batch` equal onnxruntime's, and are not trivial."""
    feeds = onnx_models.inputs(model, batch, seed=1)
    want = _onnxruntime(model, feeds)
    imported = gonnx.load(model, input_shapes={k: v.shape for k, v in feeds.items()})
    got = imported.function(backend=backend)(*(feeds[name] for name in imported.input_names))
    assert len(got) == len(want) == 1
    assert got[0].shape == want[0].shape == (batch, 10)
    np.testing.assert_allclose(got[0], want[0], **TOL)
    assert np.std(want[0]) > 1e-2, "random weights should give logits that differ across classes"


@pytest.mark.parametrize("backend", BACKENDS)
def test_transformer_encoder_matches_onnxruntime(backend):
    """Embedding Gather, LayerNormalization, 4-head attention (MatMul, Softmax, the Shape/Gather/Concat/Reshape
    arithmetic torch exports for a dynamic batch), erf GELU, ReduceMean: the stored export."""
    _check(onnx.load(onnxfiles.stored("transformer")), backend)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_torchvision_style_cnn_matches_onnxruntime(name, backend):
    """ResNet-18 (width 8) and MobileNet-v2 (width 0.25; grouped depthwise convolutions, Clip as ReLU6) as
    torch.onnx.export writes them in eval mode (BatchNorm with random statistics folded into the convolutions)."""
    pytest.importorskip("torch", reason="ResNet-18 and MobileNet-v2 are exported live (too large to store)")
    _check(onnx_models.exported(name, seed=0, small=True), backend)


@pytest.mark.parametrize("name", sorted(onnxfiles.MAKERS))
def test_stored_export_matches_a_fresh_one(name):
    """The stored file is what its definition exports today: both run in onnxruntime to the same outputs."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("needs torch to export the model again")
    stored = onnx.load(onnxfiles.stored(name))
    fresh = onnx.load_from_string(onnxfiles.fresh(name))
    feeds = onnx_models.inputs(stored, 2, seed=3)
    assert sorted(feeds) == sorted(onnx_models.inputs(fresh, 2, seed=3))
    for a, b in zip(_onnxruntime(stored, feeds), _onnxruntime(fresh, feeds)):
        np.testing.assert_array_equal(a, b)
