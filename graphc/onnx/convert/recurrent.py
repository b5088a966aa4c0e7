"""Recurrent layers: RNN, GRU and LSTM, each direction one `gc.scan` over the sequence axis.

As graphc's own `nn.RNN/GRU/LSTM`, each direction projects the whole sequence at once (X W^T + Wb, one
matmul) and scans only the recurrent part, so the loop's graph and gradient do not grow with the length.
ONNX's gate orders differ from torch's: LSTM i, o, f, c (with peepholes P = i, o, f), GRU z, r, h.
"""
from __future__ import annotations

import numpy as np

from ... import ops as G
from ...control import scan
from ..errors import Unsupported
from ..registry import NodeCtx, converter

_ACTIVATIONS = {"sigmoid": G.sigmoid, "tanh": G.tanh, "relu": G.relu}
_DIRECTIONS = {"forward": (False,), "reverse": (True,), "bidirectional": (False, True)}


def _activations(ctx: NodeCtx, defaults: tuple[str, ...], directions: int) -> list[list]:
    """Per direction, the activation functions (f, g[, h]); the ones graphc composes without parameters."""
    names = ctx.attr("activations", list(defaults) * directions)
    if len(names) != len(defaults) * directions:
        raise Unsupported(f"{ctx.op_type} with {len(names)} activations; it takes {len(defaults)} per direction")
    for name in names:
        if name.lower() not in _ACTIVATIONS:
            raise Unsupported(f"{ctx.op_type} activation {name!r}; graphc maps Sigmoid, Tanh and Relu")
    fns = [_ACTIVATIONS[n.lower()] for n in names]
    return [fns[d * len(defaults):(d + 1) * len(defaults)] for d in range(directions)]


def _static_length(ctx: NodeCtx, seq: int) -> None:
    """sequence_lens (input 4) is only supported as every batch row running the whole sequence."""
    if not ctx.has(4):
        return
    lens = ctx.ints(4, "sequence_lens")
    if any(n != seq for n in lens):
        raise Unsupported(f"{ctx.op_type} with sequence_lens {lens} shorter than the sequence ({seq} steps); "
                          "graphc runs every batch row over the whole sequence")


def _recurrent(ctx: NodeCtx, gates: int, defaults: tuple[str, ...], cell):
    """The node's outputs (Y, Y_h[, Y_c]) running `cell(acts, clip, r, rb, peep, state, xw)` per direction."""
    x, w, r = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2)
    layout = ctx.attr("layout", 0)
    direction = ctx.attr("direction", "forward")
    if direction not in _DIRECTIONS:
        raise Unsupported(f"{ctx.op_type} direction={direction!r}")
    if x.ndim != 3 or w.ndim != 3 or None in w.shape:
        raise Unsupported(f"{ctx.op_type} with X {x.type_str()} and W {w.type_str()}; expected rank-3 X and a "
                          "fixed-shape W")
    if layout:
        x = G.transpose(x, (1, 0, 2))  # (batch, seq, input) -> (seq, batch, input)
    seq = x.shape[0]
    if seq is None:
        raise Unsupported(f"{ctx.op_type} over a free sequence length; fix it with load(..., input_shapes=...)")
    _static_length(ctx, seq)
    hidden = ctx.attr("hidden_size", w.shape[1] // gates)
    rows = gates * hidden
    reverses = _DIRECTIONS[direction]
    acts = _activations(ctx, defaults, len(reverses))
    clip = ctx.attr("clip")
    n_states = 2 if gates == 4 else 1
    initial = [ctx.tensor(i) if ctx.has(i) else None for i in (5, 6)[:n_states]]
    if layout:
        initial = [None if s is None else G.transpose(s, (1, 0, 2)) for s in initial]
    zeros = G.zeros_like(x[0][..., :1]) + np.zeros(hidden, x.dtype)
    ys, finals = [], [[] for _ in range(n_states)]
    for d, reverse in enumerate(reverses):
        xw = G.matmul(x, G.transpose(w[d]))
        rb = None
        if ctx.has(3):
            b = ctx.tensor(3)
            xw, rb = xw + b[d, :rows], b[d, rows:]
        peep = ctx.tensor(7)[d] if gates == 4 and ctx.has(7) else None
        state = [zeros if s is None else s[d] for s in initial]

        def step(s, xt, d=d, rb=rb, peep=peep):
            return cell(acts[d], clip, r[d], rb, peep, s if n_states > 1 else [s], xt)

        stacked = scan(step if n_states > 1 else (lambda s, xt: step(s, xt)[0]), state if n_states > 1 else state[0],
                       [xw], reverse=reverse)
        stacked = stacked if n_states > 1 else [stacked]
        ys.append(stacked[0])
        for k in range(n_states):
            finals[k].append(stacked[k][0] if reverse else stacked[k][seq - 1])
    y = G.stack(ys, axis=1)  # (seq, directions, batch, hidden)
    outs = [G.stack(f) for f in finals]  # (directions, batch, hidden)
    if layout:
        y = G.transpose(y, (2, 0, 1, 3))
        outs = [G.transpose(o, (1, 0, 2)) for o in outs]
    return [y, *outs][:ctx.n_outputs]


def _clipped(z, clip):
    return z if clip is None else G.clip(z, np.asarray(-clip, z.dtype), np.asarray(clip, z.dtype))


def _recur(h, r, rb):
    """h R^T (+ Rb): the hidden state's part of every gate."""
    out = G.matmul(h, G.transpose(r))
    return out if rb is None else out + rb


def _split(z, n: int):
    width = z.shape[-1] // n
    return [z[..., k * width:(k + 1) * width] for k in range(n)]


def _rnn_cell(acts, clip, r, rb, peep, state, xw):
    (f,) = acts
    return [f(_clipped(xw + _recur(state[0], r, rb), clip))]


def _lstm_cell(acts, clip, r, rb, peep, state, xw):
    f, g, h = acts
    hid, c = state
    zi, zo, zf, zc = _split(xw + _recur(hid, r, rb), 4)
    pi, po, pf = _split(peep, 3) if peep is not None else (None, None, None)
    i = f(_clipped(zi if pi is None else zi + pi * c, clip))
    fg = f(_clipped(zf if pf is None else zf + pf * c, clip))
    c = fg * c + i * g(_clipped(zc, clip))
    o = f(_clipped(zo if po is None else zo + po * c, clip))
    return [o * h(c), c]


def _gru_cell(linear_before_reset: bool):
    def cell(acts, clip, r, rb, peep, state, xw):
        f, g = acts
        (h,) = state
        xz, xr, xh = _split(xw, 3)
        rz, rr, rh = (r[k * h.shape[-1]:(k + 1) * h.shape[-1]] for k in range(3))  # R's rows per gate
        bz, br, bh = _split(rb, 3) if rb is not None else (None, None, None)
        z = f(_clipped(xz + _recur(h, rz, bz), clip))
        reset = f(_clipped(xr + _recur(h, rr, br), clip))
        if linear_before_reset:
            cand = xh + reset * _recur(h, rh, bh)
        else:
            cand = xh + _recur(reset * h, rh, bh)
        cand = g(_clipped(cand, clip))
        return [(1.0 - z) * cand + z * h]
    return cell


@converter("RNN", since=7)
def rnn(ctx: NodeCtx):
    return _recurrent(ctx, 1, ("Tanh",), _rnn_cell)


@converter("GRU", since=7)
def gru(ctx: NodeCtx):
    return _recurrent(ctx, 3, ("Sigmoid", "Tanh"), _gru_cell(bool(ctx.attr("linear_before_reset", 0))))


@converter("LSTM", since=7)
def lstm(ctx: NodeCtx):
    if ctx.attr("input_forget", 0):
        raise Unsupported("LSTM with input_forget=1 (coupled input and forget gates)")
    return _recurrent(ctx, 4, ("Sigmoid", "Tanh", "Tanh"), _lstm_cell)
