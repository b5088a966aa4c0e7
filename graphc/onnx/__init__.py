"""ONNX in graphc: `load` imports a model as a graphc graph (docs/onnx.md); `backend` runs onnx's
conformance suite. This package needs the `onnx` extra (`pip install 'graphc[onnx]'`); graphc's core
never imports it."""
from .errors import OnnxUnsupportedError
from .importer import load
from .model import OnnxModel

__all__ = ["OnnxModel", "OnnxUnsupportedError", "load"]
