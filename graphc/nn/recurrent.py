"""Recurrent layers (RNN, LSTM, GRU) over a static sequence length, in torch's formulas.

A layer projects the whole input sequence at once (x @ W_ih.T + b_ih, one big
matmul), then runs its cell's `step` over time: by default inside one
`gc.scan` node, whose graph and gradient do not grow with the length; with
`unroll=True` as a Python loop, one copy of the step per time step (simpler
graphs for short sequences, and what passes can fuse across). Parameters keep
torch's layout and gate order (LSTM i, f, g, o; GRU r, z, n), so weights copy
across directly.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..ir import ShapeError, Tensor, parameter
from ..ops import args
from . import init
from .module import Module

State = list[Tensor]


class RNNCell(Module):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, rng: init.Rng = None, dtype: str = "float32"):
        super().__init__()
        rng = init.as_rng(rng)
        name = type(self).__name__
        self.input_size = args.size(name, "input_size", input_size)
        self.hidden_size = args.size(name, "hidden_size", hidden_size)
        dtype = args.float_dtype(name, dtype)
        rows = self.gates * self.hidden_size
        bound = 1.0 / np.sqrt(self.hidden_size)  # torch's default for every recurrent weight
        for attr, shape in (("weight_ih", (rows, self.input_size)), ("weight_hh", (rows, self.hidden_size)),
                            ("bias_ih", (rows,)), ("bias_hh", (rows,))):
            setattr(self, attr, parameter(init.uniform(shape, rng, dtype, -bound, bound), name=f"{name}.{attr}"))

    def n_states(self) -> int:
        """The number of state tensors the cell carries (h; the LSTM's h and c)."""
        return 1

    def project(self, x: Tensor) -> Tensor:
        """The input's part of every gate for all steps at once: x W_ih^T + b_ih."""
        return ops.matmul(x, ops.transpose(self.weight_ih)) + self.bias_ih

    def hidden(self, h: Tensor) -> Tensor:
        """The hidden state's part of every gate: h W_hh^T + b_hh."""
        return ops.matmul(h, ops.transpose(self.weight_hh)) + self.bias_hh

    def step(self, state: State, xw: Tensor) -> State:
        """The next state from the current one and this step's projected input."""
        return [ops.tanh(xw + self.hidden(state[0]))]

    def forward(self, x: Tensor, state: State | None = None) -> State:
        """One step on an unprojected input x (batch, input_size)."""
        return self.step(state or zero_state(self, x), self.project(x))


class LSTMCell(RNNCell):
    """torch.nn.LSTMCell: gates i, f, g, o; c' = f c + i g; h' = o tanh(c')."""

    gates = 4

    def n_states(self) -> int:
        return 2

    def step(self, state: State, xw: Tensor) -> State:
        h, c = state
        z = xw + self.hidden(h)
        n = self.hidden_size
        i, f, g, o = (z[..., k * n: (k + 1) * n] for k in range(4))
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        return [ops.sigmoid(o) * ops.tanh(c), c]


class GRUCell(RNNCell):
    """torch.nn.GRUCell: gates r, z, n; n = tanh(x_n + r (h W_hn^T + b_hn)); h' = (1 - z) n + z h."""

    gates = 3

    def step(self, state: State, xw: Tensor) -> State:
        (h,) = state
        hw = self.hidden(h)
        n = self.hidden_size
        xr, xz, xn = (xw[..., k * n: (k + 1) * n] for k in range(3))
        hr, hz, hn = (hw[..., k * n: (k + 1) * n] for k in range(3))
        r, z = ops.sigmoid(xr + hr), ops.sigmoid(xz + hz)
        cand = ops.tanh(xn + r * hn)
        return [(1.0 - z) * cand + z * h]


def zero_state(cell: RNNCell, x: Tensor) -> State:
    """Zeros of shape (batch, hidden) for each state, the batch size following x's (free or not)."""
    zeros = ops.zeros_like(x[..., :1]) + np.zeros(cell.hidden_size, x.dtype)
    return [zeros] * cell.n_states()


class _Recurrent(Module):
    """A cell run over (batch, time, features) inputs; returns the (batch, time, hidden) outputs."""

    cell_type: type[RNNCell] = RNNCell

    def __init__(self, input_size: int, hidden_size: int, unroll: bool = False, rng: init.Rng = None,
                 dtype: str = "float32"):
        super().__init__()
        self.cell = self.cell_type(input_size, hidden_size, rng, dtype)
        self.unroll = unroll

    def forward(self, x: Tensor) -> Tensor:
        return self.run(x)[0]

    def run(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """(outputs (batch, time, hidden), final state [h] or [h, c]) from inputs (batch, time, features)."""
        cell = self.cell
        if x.ndim != 3 or x.shape[2] not in (None, cell.input_size) or x.shape[1] is None:
            raise ShapeError(f"{type(self).__name__}({cell.input_size} -> {cell.hidden_size}): input {x.type_str()} "
                             f"is not (batch, time, {cell.input_size}) with a fixed number of steps",
                             fix="inputs are batch-first; give the time axis a fixed size")
        xw = cell.project(ops.transpose(x, (1, 0, 2)))  # time first (x is narrower than xw: transpose it)
        state = list(state) if state is not None else zero_state(cell, x[:, 0])
        if self.unroll:
            steps = []
            for t in range(x.shape[1]):
                state = cell.step(state, xw[t])
                steps.append(state)
            stacked = [ops.stack([s[k] for s in steps]) for k in range(len(state))]
        else:
            stacked = ops.scan(cell.step, state, [xw]) if len(state) > 1 else \
                [ops.scan(lambda h, xt: cell.step([h], xt)[0], state[0], [xw])]
        outputs = ops.transpose(stacked[0], (1, 0, 2))
        return outputs, [s[-1] for s in stacked]

    def extra_repr(self) -> str:
        return f"{self.cell.input_size} -> {self.cell.hidden_size}{', unrolled' if self.unroll else ''}"


class RNN(_Recurrent):
    """An Elman RNN with tanh (torch.nn.RNN, one layer, batch_first=True)."""


class LSTM(_Recurrent):
    """torch.nn.LSTM (one layer, batch_first=True)."""

    cell_type = LSTMCell


class GRU(_Recurrent):
    """torch.nn.GRU (one layer, batch_first=True)."""

    cell_type = GRUCell

