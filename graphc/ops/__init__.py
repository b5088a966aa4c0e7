"""graphc's ops, by family. Each op is one class holding everything about itself."""
from . import methods
from .elementwise import (abs, add, binary_cross_entropy, cast, clip, cos, divide, equal, erf, exp,
                          expm1, floor, greater, greater_equal, less, less_equal, log, log1p, logical_and,
                          logical_not, logical_or, maximum, minimum, mul, negative, not_equal, power, relu,
                          sigmoid, sign, sin, softplus, sqrt, square, subtract, tanh, where)
from .conv import avg_pool2d, conv1d, conv2d, global_avg_pool2d, max_pool2d
from .index import getitem, one_hot, slice_axis, take
from .linalg import dot, matmul
from .random import next_key, random_uniform
from .reduce import (argmax, argmin, log_softmax, logsumexp, max, mean, min, prod, softmax,
                     softmax_cross_entropy, std,
                     sum, var)
from .shape import (broadcast_like, broadcast_to, concatenate, expand_dims, flatten, ones_like,
                    reshape, squeeze, stack, swapaxes, transpose, zeros_like)

methods.install()
multiply = mul

__all__ = [
    "avg_pool2d", "conv1d", "conv2d", "global_avg_pool2d", "max_pool2d",
    "abs", "add", "binary_cross_entropy", "cast", "clip", "cos", "divide", "equal", "erf", "exp", "expm1",
    "floor", "greater",
    "greater_equal", "less", "less_equal", "log", "log1p", "logical_and", "logical_not", "logical_or",
    "maximum", "minimum", "mul", "multiply", "negative", "not_equal", "power", "relu", "sigmoid", "sign",
    "sin", "softplus", "sqrt", "square", "subtract", "tanh", "where",
    "getitem", "one_hot", "slice_axis", "take", "dot", "matmul", "next_key", "random_uniform",
    "argmax", "argmin", "log_softmax", "logsumexp", "max", "mean", "min", "prod", "softmax",
    "softmax_cross_entropy", "std",
    "sum", "var",
    "broadcast_like", "broadcast_to", "concatenate", "expand_dims", "flatten", "ones_like", "reshape",
    "squeeze", "stack", "swapaxes", "transpose", "zeros_like",
]
