"""ONNX in graphc: `load` imports a model as a graphc graph and `export` writes a graphc graph (a model,
a gradient graph, a training step) as one (docs/onnx.md); `backend` runs onnx's conformance suite. This
package needs the `onnx` extra (`pip install 'graphc[onnx]'`); graphc's core never imports it."""
from .errors import OnnxUnsupportedError
from .exporter import ExportError, export
from .importer import load
from .model import OnnxModel

__all__ = ["ExportError", "OnnxModel", "OnnxUnsupportedError", "export", "load"]
