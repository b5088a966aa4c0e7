"""Recurrent layers (RNN, LSTM, GRU) over a static sequence length, as torch.nn's.

`nn.LSTM(input_size, hidden_size, num_layers, bias, batch_first, dropout,
bidirectional)` takes torch's arguments, returns torch's `(output, h_n)` /
`(output, (h_n, c_n))` and names its parameters as torch does (`weight_ih_l0`,
`bias_hh_l1_reverse`, ...), in torch's gate order (LSTM i, f, g, o; GRU r, z, n)
and torch's init, so a torch module's `state_dict()` loads by name.

Each layer and direction projects its whole input sequence at once (x @ W_ih.T
+ b_ih, one big matmul), then runs its cell's `step` over time: by default
inside one `gc.scan` node (`reverse=True` for the backward direction), whose
graph and gradient do not grow with the length; with `unroll=True` as a Python
loop, one copy of the step per time step (simpler graphs for short sequences,
and what passes can fuse across).
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..control import scan
from ..ir import InputError, ShapeError, Tensor, parameter
from ..ops import args
from . import init
from .layers import Dropout
from .module import Module

State = list[Tensor]
_ACTIVATIONS = {"tanh": ops.tanh, "relu": ops.relu}


class _Cell(Module):
    """What every cell shares: torch's parameters (weight_ih (G*H, D), weight_hh (G*H, H), bias_ih,
    bias_hh (G*H,) for G gates), uniform in +-1/sqrt(H) as torch, and the projections."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, rng: init.Rng = None,
                 dtype: str = "float32"):
        super().__init__()
        rng = init.as_rng(rng)
        name = type(self).__name__
        self.input_size = args.size(name, "input_size", input_size)
        self.hidden_size = args.size(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        dtype = args.float_dtype(name, dtype)
        rows = self.gates * self.hidden_size
        bound = 1.0 / np.sqrt(self.hidden_size)  # torch's default for every recurrent weight
        shapes = [("weight_ih", (rows, self.input_size)), ("weight_hh", (rows, self.hidden_size))]
        if self.bias:
            shapes += [("bias_ih", (rows,)), ("bias_hh", (rows,))]
        for attr, shape in shapes:
            setattr(self, attr, parameter(init.uniform(shape, rng, dtype, -bound, bound), name=f"{name}.{attr}"))

    def n_states(self) -> int:
        """The number of state tensors the cell carries (h; the LSTM's h and c)."""
        return 1

    def project(self, x: Tensor) -> Tensor:
        """The input's part of every gate for all steps at once: x W_ih^T + b_ih."""
        return self._affine(x, "ih")

    def hidden(self, h: Tensor) -> Tensor:
        """The hidden state's part of every gate: h W_hh^T + b_hh."""
        return self._affine(h, "hh")

    def _affine(self, v: Tensor, which: str) -> Tensor:
        out = ops.matmul(v, ops.transpose(getattr(self, f"weight_{which}")))
        return out + getattr(self, f"bias_{which}") if self.bias else out

    def split(self, z: Tensor) -> list[Tensor]:
        """The gates' parts of z (..., gates * hidden), in torch's order."""
        n = self.hidden_size
        return [z[..., k * n: (k + 1) * n] for k in range(self.gates)]

    def step(self, state: State, xw: Tensor) -> State:
        """The next state from the current one and this step's projected input."""
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    def forward(self, x: Tensor, state: State | None = None) -> State:
        """One step on an unprojected input x (batch, input_size)."""
        return self.step(state or zero_state(self, x), self.project(x))

    def extra_repr(self) -> str:
        return f"{self.input_size} -> {self.hidden_size}{'' if self.bias else ', bias=False'}"


class RNNCell(_Cell):
    """torch.nn.RNNCell: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act tanh or relu."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", *,
                 rng: init.Rng = None, dtype: str = "float32"):
        if nonlinearity not in _ACTIVATIONS:
            raise InputError(f"{type(self).__name__}: unknown nonlinearity {nonlinearity!r}",
                             fix="use nonlinearity='tanh' or 'relu' (torch's two)")
        super().__init__(input_size, hidden_size, bias, rng=rng, dtype=dtype)
        self.nonlinearity = nonlinearity

    def step(self, state: State, xw: Tensor) -> State:
        return [_ACTIVATIONS[self.nonlinearity](xw + self.hidden(state[0]))]


class LSTMCell(_Cell):
    """torch.nn.LSTMCell: gates i, f, g, o; c' = f c + i g; h' = o tanh(c')."""

    gates = 4

    def n_states(self) -> int:
        return 2

    def step(self, state: State, xw: Tensor) -> State:
        h, c = state
        i, f, g, o = self.split(xw + self.hidden(h))
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        return [ops.sigmoid(o) * ops.tanh(c), c]


class GRUCell(_Cell):
    """torch.nn.GRUCell: gates r, z, n; n = tanh(x_n + r (h W_hn^T + b_hn)); h' = (1 - z) n + z h."""

    gates = 3

    def step(self, state: State, xw: Tensor) -> State:
        (h,) = state
        xr, xz, xn = self.split(xw)
        hr, hz, hn = self.split(self.hidden(h))
        r, z = ops.sigmoid(xr + hr), ops.sigmoid(xz + hz)
        cand = ops.tanh(xn + r * hn)
        return [(1.0 - z) * cand + z * h]


def zero_state(cell: _Cell, x: Tensor) -> State:
    """Zeros of shape (batch, hidden) for each state, the batch size following x's (free or not)."""
    zeros = ops.zeros_like(x[..., :1]) + np.zeros(cell.hidden_size, x.dtype)
    return [zeros] * cell.n_states()


def run_cell(cell: _Cell, xs: Tensor, state: State, reverse: bool = False, unroll: bool = False) -> State:
    """Every step's state, stacked (time, batch, hidden), of `cell` over time-major inputs xs (time, batch,
    features) from `state`; with `reverse`, from the last step to the first (row t still belongs to step t)."""
    xw = cell.project(xs)
    if not unroll:
        if len(state) > 1:
            return scan(cell.step, state, [xw], reverse=reverse)
        return [scan(lambda h, xt: cell.step([h], xt)[0], state[0], [xw], reverse=reverse)]
    steps = []
    for t in (reversed(range(xs.shape[0])) if reverse else range(xs.shape[0])):
        state = cell.step(state, xw[t])
        steps.append(state)
    steps = steps[::-1] if reverse else steps
    return [ops.stack([s[k] for s in steps]) for k in range(len(state))]


class _Recurrent(Module):
    """Stacked, optionally bidirectional layers of one cell type over (time, batch, features) inputs
    ((batch, time, features) with batch_first), with torch.nn.RNN's arguments, parameters and results."""

    cell_type: type[_Cell] = RNNCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 unroll: bool = False, rng: init.Rng = None, dtype: str = "float32", **cell_options):
        super().__init__()
        name = type(self).__name__
        self.num_layers = args.size(name, "num_layers", num_layers)
        self.dropout = args.number(name, "dropout", dropout, low=0, high=1, high_open=True,
                                   fix="dropout is the probability to drop each output of every layer but the last")
        self.batch_first, self.bidirectional, self.unroll = bool(batch_first), bool(bidirectional), bool(unroll)
        rng = init.as_rng(rng)
        self._cells: list[_Cell] = []
        for layer in range(self.num_layers):
            size = input_size if layer == 0 else hidden_size * self.directions
            for suffix in ("", "_reverse")[:self.directions]:
                cell = self.cell_type(size, hidden_size, bias, rng=rng, dtype=dtype, **cell_options)
                self._cells.append(cell)
                for attr, param in cell.named_parameters():  # torch's names, in torch's order
                    setattr(self, f"{attr}_l{layer}{suffix}", param)
        self.input_size, self.hidden_size = self._cells[0].input_size, self._cells[0].hidden_size
        self.bias = bool(bias)
        if self.dropout > 0:  # one mask source per site between layers (torch's dropout, train mode only)
            for layer in range(self.num_layers - 1):
                setattr(self, f"dropout_l{layer}", Dropout(self.dropout, seed=int(rng.integers(2 ** 62))))

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def cell(self) -> _Cell:
        """The first layer's forward cell (its parameters are `weight_ih_l0`, ...)."""
        return self._cells[0]

    def forward(self, x: Tensor, hx: Tensor | tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
        """torch's results: `(output, h_n)`, for an LSTM `(output, (h_n, c_n))`.

        output is (time, batch, directions * hidden) ((batch, time, ...) with batch_first): the last
        layer's h at every step, both directions concatenated; h_n and c_n, like the initial states hx
        (zeros when omitted), are (num_layers * directions, batch, hidden), layer-major."""
        state = None if hx is None else list(hx) if isinstance(hx, (tuple, list)) else [hx]
        output, final = self.run(x, state)
        return output, (tuple(final) if len(final) > 1 else final[0])

    def run(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """`forward` with the states as lists: (output, [h_n] or [h_n, c_n]) from x and [h_0] or [h_0, c_0]."""
        xs = self._time_major(x)
        n_states = self.cell.n_states()
        initial = self._initial_states(state, xs, n_states)
        finals: list[State] = []
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.directions):
                i = layer * self.directions + d
                stacked = run_cell(self._cells[i], xs, [s[i] for s in initial], reverse=d == 1, unroll=self.unroll)
                outs.append(stacked[0])
                finals.append([s[0] if d == 1 else s[-1] for s in stacked])  # the last step each way
            xs = outs[0] if len(outs) == 1 else ops.concatenate(outs, axis=-1)
            if self.dropout > 0 and layer < self.num_layers - 1:
                xs = getattr(self, f"dropout_l{layer}")(xs)
        output = ops.transpose(xs, (1, 0, 2)) if self.batch_first else xs
        return output, [ops.stack([f[k] for f in finals]) for k in range(n_states)]

    def _time_major(self, x: Tensor) -> Tensor:
        """x as (time, batch, features), after checking its shape."""
        time_axis = 1 if self.batch_first else 0
        layout = "(batch, time, features)" if self.batch_first else "(time, batch, features)"
        if x.ndim != 3 or x.shape[2] not in (None, self.input_size) or x.shape[time_axis] is None:
            raise ShapeError(f"{type(self).__name__}({self.extra_repr()}): input {x.type_str()} is not {layout} "
                             f"with {self.input_size} features and a fixed number of steps",
                             fix=f"pass {layout} inputs with a fixed time axis"
                                 f"{'' if self.batch_first else ' (batch_first=True for (batch, time, features))'}")
        return ops.transpose(x, (1, 0, 2)) if self.batch_first else x

    def _initial_states(self, state: State | None, xs: Tensor, n_states: int) -> list[list[Tensor]]:
        """For each state kind, one (batch, hidden) tensor per layer and direction."""
        if state is None:
            zeros = zero_state(self.cell, xs[0])[0]
            return [[zeros] * len(self._cells) for _ in range(n_states)]
        if len(state) != n_states:
            raise InputError(f"{type(self).__name__}: expected {n_states} initial state(s), got {len(state)}",
                             fix="pass hx=(h_0, c_0) to an LSTM and hx=h_0 to an RNN or GRU")
        want = (len(self._cells), xs.shape[1], self.hidden_size)
        for s in state:
            if s.ndim != 3 or any(a is not None and b is not None and a != b for a, b in zip(s.shape, want)):
                raise ShapeError(f"{type(self).__name__}: initial state {s.type_str()} is not "
                                 f"(num_layers * directions, batch, hidden) = {want}",
                                 fix="shape h_0 (and c_0) like torch's: one row per layer and direction")
        return [[s[i] for i in range(len(self._cells))] for s in state]

    def extra_repr(self) -> str:
        options = [f"num_layers={self.num_layers}" if self.num_layers > 1 else "",
                   "bias=False" if not self.bias else "", "batch_first=True" if self.batch_first else "",
                   f"dropout={self.dropout:g}" if self.dropout else "",
                   "bidirectional=True" if self.bidirectional else "", "unrolled" if self.unroll else ""]
        return ", ".join([f"{self.input_size}, {self.hidden_size}", *filter(None, options)])


class RNN(_Recurrent):
    """torch.nn.RNN: an Elman RNN, h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 *, unroll: bool = False, rng: init.Rng = None, dtype: str = "float32"):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         unroll=unroll, rng=rng, dtype=dtype, nonlinearity=nonlinearity)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        act = "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}"
        return super().extra_repr() + act


class LSTM(_Recurrent):
    """torch.nn.LSTM: gates i, f, g, o; returns (output, (h_n, c_n))."""

    cell_type = LSTMCell


class GRU(_Recurrent):
    """torch.nn.GRU: gates r, z, n, with b_hn inside r * (W_hn h + b_hn); returns (output, h_n)."""

    cell_type = GRUCell
