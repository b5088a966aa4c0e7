"""graphc and ONNX (optional: `pip install 'graphc[onnx]'`): `export` writes a graphc graph as an ONNX model."""
from .export import ExportError, export

__all__ = ["ExportError", "export"]
