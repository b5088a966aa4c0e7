"""The converters, one module per family; importing this package registers them all."""
from . import activation, elementwise, nn, pool, recurrent, reduce, resize, scatter, shape, tensor  # noqa: F401
