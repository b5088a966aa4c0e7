"""The reference backend: interprets the graph op by op with each op's NumPy rule.

It is the oracle every pass and every other backend is tested against, so it
stays simple: no fusion, no reuse tricks beyond freeing dead values.
"""
from .interpreter import NumpyBackend

BACKEND = NumpyBackend()

__all__ = ["BACKEND", "NumpyBackend"]
