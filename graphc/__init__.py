"""graphc: declare a network as a static graph, differentiate it symbolically, compile it.

    import graphc as gc
    x = gc.placeholder((None, 2), name="x")
    w = gc.parameter(np.zeros((2, 1)), name="w")
    loss = gc.mean((x @ w - 1.0) ** 2)
    step = gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w))])
"""
from . import ops, testing
from . import checkpoint, data, losses, metrics, nn, optim, train
from .autodiff import grad, hessian, hvp, jvp, vjp
from .control import scan
from .function import Function, function
from .export import export_library
from .ir import (DTYPES, ArgumentError, BackendError, BackendFallbackWarning, CheckpointError, DTypeError,
                 GradientError, Graph, GraphcError, IndexRangeError, InputError, ModeError, NonFiniteError, ShapeError,
                 Tensor, constant, parameter, placeholder)
from .ops import *  # noqa: F401,F403 - the op functions are the public API
from .ops import __all__ as _ops_all
from .printing import pformat, pprint
from .version import __version__

__all__ = [
    "Function", "function", "export_library", "scan", "grad", "hessian", "hvp", "jvp", "vjp",
    "DTYPES", "ArgumentError", "BackendError", "BackendFallbackWarning", "CheckpointError", "DTypeError",
    "GradientError", "Graph", "GraphcError", "IndexRangeError", "InputError", "ModeError", "NonFiniteError",
    "ShapeError", "Tensor", "constant", "parameter", "placeholder", "pformat", "pprint", "testing",
    "ops", "__version__", "checkpoint", "data", "losses", "metrics", "nn", "optim", "train",
] + list(_ops_all)


def __getattr__(name: str):
    """`gc.viz`, `gc.compare`, `gc.backends` and `gc.distributed` are imported on first use: the core never
    imports these tools, nor the backends (graphc.backend's registry imports the one a function runs on)."""
    if name in ("viz", "compare", "backends", "distributed", "onnx"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
