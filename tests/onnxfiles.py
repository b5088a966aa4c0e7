"""Stored ONNX files exported from PyTorch, so the tests that import torch.onnx.export models also run without torch.

`stored(name)` is the path of tests/fixtures/onnx/<name>.onnx; `fresh(name)` exports the same model again
(needs torch): tests compare the two (onnxruntime's outputs) where torch is installed, so a stored file
that no longer matches its definition fails. `python tests/onnxfiles.py` rewrites the stored files.
Only small models are stored (the whole folder stays well under 2 MB); the ResNet-18 and MobileNet-v2
tests export theirs live and skip without torch.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import numpy as np

FIXTURES = Path(__file__).parent / "fixtures" / "onnx"


def _small_cnn(batch_norm: bool) -> Callable[[], bytes]:
    def export() -> bytes:
        import torch

        from graphc.bench import torch_models as tm
        torch.manual_seed(0)
        model = tm.SmallCNN(batch_norm=batch_norm)
        if batch_norm:
            tm.randomize_batch_norms(model, torch.Generator().manual_seed(0))
        example = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32))
        return tm.export(model, example, "x", training=batch_norm)
    return export


def _transformer() -> bytes:
    from graphc.bench import onnx_models
    return onnx_models.exported("transformer", seed=0, small=True).SerializeToString()


#: stored file name -> how it is made: the fine-tuning CNN (eval export; with BatchNorm, a training-mode
#: export) and the small transformer encoder (graphc.bench.torch_models, seed 0)
MAKERS: dict[str, Callable[[], bytes]] = {"small_cnn": _small_cnn(False), "small_cnn_bn_train": _small_cnn(True),
                                          "transformer": _transformer}


def stored(name: str) -> Path:
    return FIXTURES / f"{name}.onnx"


def fresh(name: str) -> bytes:
    """The model exported now (needs torch)."""
    return MAKERS[name]()


if __name__ == "__main__":
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for key in sys.argv[1:] or MAKERS:
        data = fresh(key)
        stored(key).write_bytes(data)
        print(f"{stored(key)}: {len(data)} bytes")
