"""`gc.nn`: layers, activations, initializers and checkpoints, built on graphc's public API."""
from . import init
from .activations import (ELU, GELU, Activation, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax,
                          Softplus, Swish, Tanh, elu, gelu, leaky_relu, log_softmax, relu, sigmoid, silu,
                          softmax, softplus, swish, tanh)
from .layers import MLP, Dense, Dropout, Linear
from .calls import Call, record_calls
from .module import Module, Sequential
from .attention import MultiheadAttention, TransformerEncoderLayer, scaled_dot_product_attention
from .conv import (AvgPool1d, AvgPool2d, AvgPool3d, Conv1d, Conv2d, Conv3d, Flatten, GlobalAvgPool2d, MaxPool1d,
                   MaxPool2d, MaxPool3d)
from .embedding import Embedding
from .normalization import BatchNorm, LayerNorm, batch_norm, layer_norm
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .regularization import l1_penalty, l2_penalty
from .state import load_state, save_state

__all__ = [
    "Call", "record_calls",
    "init", "Activation", "ELU", "GELU", "LeakyReLU", "LogSoftmax", "ReLU", "Sigmoid", "SiLU", "Softmax",
    "Softplus", "Swish", "Tanh", "elu", "gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "silu",
    "softmax", "softplus", "swish", "tanh", "MLP", "Dense", "Dropout", "Linear", "Module", "Sequential",
    "l1_penalty", "l2_penalty", "load_state", "save_state",
    "MultiheadAttention", "TransformerEncoderLayer", "scaled_dot_product_attention", "AvgPool2d", "Conv1d",
    "Conv2d", "Flatten", "GlobalAvgPool2d", "MaxPool2d", "Embedding", "BatchNorm", "LayerNorm", "batch_norm",
    "layer_norm", "GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell",
    "AvgPool1d", "AvgPool3d", "Conv3d", "MaxPool1d", "MaxPool3d",
]
