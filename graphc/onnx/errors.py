"""The importer's errors: one `OnnxUnsupportedError` lists every node graphc cannot import."""
from __future__ import annotations

from dataclasses import dataclass

from ..ir.errors import GraphcError


class Unsupported(Exception):
    """Raised by a converter: this node (op, attribute value, dtype) is outside what graphc expresses."""

    def __init__(self, what: str, needs: str | None = None):
        super().__init__(what)
        self.what = what
        self.needs = needs  # the graph input whose value would make the node importable (`static_inputs`)


@dataclass(frozen=True)
class Gap:
    """One node graphc cannot import, and why."""

    node: str
    op_type: str
    domain: str
    opset: int
    what: str
    needs: str | None = None

    def __str__(self) -> str:
        op = f"{self.domain}.{self.op_type}" if self.domain else self.op_type
        return f"node {self.node!r} ({op}, opset {self.opset}): {self.what}"


class OnnxUnsupportedError(GraphcError, NotImplementedError):
    """The model uses ops, attribute values or dtypes graphc cannot express; `gaps` lists every one."""

    def __init__(self, model: str, gaps: list[Gap]):
        self.gaps = list(gaps)
        lines = "\n    ".join(str(g) for g in gaps)
        super().__init__(f"onnx.load({model}): {len(gaps)} node(s) cannot be imported:\n    {lines}",
                         fix="see docs/onnx.md for the supported ops and dtypes; rewrite or remove these "
                             "nodes (e.g. with onnx's version converter or by exporting with other options)",
                         locate=False)
