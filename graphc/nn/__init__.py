"""`gc.nn`: layers, activations, initializers and checkpoints, built on graphc's public API."""
from . import init
from .activations import (ELU, GELU, Activation, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax,
                          Softplus, Swish, Tanh, elu, gelu, leaky_relu, log_softmax, relu, sigmoid, silu,
                          softmax, softplus, swish, tanh)
from .layers import MLP, Dense, Dropout, Linear
from .module import Module, Sequential
from .regularization import l1_penalty, l2_penalty
from .state import load_state, save_state

__all__ = [
    "init", "Activation", "ELU", "GELU", "LeakyReLU", "LogSoftmax", "ReLU", "Sigmoid", "SiLU", "Softmax",
    "Softplus", "Swish", "Tanh", "elu", "gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "silu",
    "softmax", "softplus", "swish", "tanh", "MLP", "Dense", "Dropout", "Linear", "Module", "Sequential",
    "l1_penalty", "l2_penalty", "load_state", "save_state",
]
