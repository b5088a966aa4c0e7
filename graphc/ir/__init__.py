"""graphc's intermediate representation: tensors, ops, dtypes, shapes, locations, graphs.

This layer imports no other part of graphc.
"""
from .dtypes import DTYPES, canonical, is_float, is_int, promote
from .errors import (ArgumentError, BackendError, BackendFallbackWarning, CheckpointError, DTypeError, GradientError,
                     GraphcError, IndexRangeError, InputError, ModeError, NonFiniteError, ShapeError)
from .graph import Graph, parameters_of, placeholders_of, remake, substitute, toposort
from .leaves import Constant, Leaf, Parameter, Placeholder, constant, parameter, placeholder
from .node import Op, Shape, Tensor
from .source import SourceLoc, user_location

__all__ = [
    "DTYPES", "canonical", "is_float", "is_int", "promote",
    "ArgumentError", "BackendError", "BackendFallbackWarning", "CheckpointError", "DTypeError", "GradientError",
    "GraphcError", "IndexRangeError", "InputError", "ModeError", "NonFiniteError", "ShapeError",
    "Graph", "parameters_of", "placeholders_of", "remake", "substitute", "toposort",
    "Constant", "Leaf", "Parameter", "Placeholder", "constant", "parameter", "placeholder",
    "Op", "Shape", "Tensor", "SourceLoc", "user_location",
]
