"""`scan`: a loop with a static trip count whose body is a graphc subgraph.

A long sequence would otherwise unroll into a graph (and a gradient graph) that
grows with its length; a `Scan` node holds one copy of the step instead. The
body is closed: its inputs are placeholders for the carry, for the per-step
slices of the sequences, and for constants (the parameters and outer tensors
the step used are lifted out as extra inputs, so gradients reach them).

The node's value is the stack of carries after each step, `(T, *carry)` with
row t the carry after step t (or only the final carry with `last=True`). Its
reverse rule is again made of scans, built from the body's own gradient
(`graphc.autodiff.vjp`): one reverse scan carries the adjoint of the carry,
then one scan per sequence maps the per-step input gradients, and one per
constant accumulates its gradient. Second derivatives follow the same way.
"""
from __future__ import annotations

import itertools
from typing import Callable, Sequence

import numpy as np

from ..ir import Constant, Tensor, placeholder, substitute, toposort
from ..ir.errors import DTypeError, ShapeError
from ..ir.node import Op
from .operands import desc
from .shape import concatenate, expand_dims, zeros_like

_UIDS = itertools.count()


class Body:
    """A closed subgraph: (carry, per-step slices, constants) placeholders -> the new carry."""

    def __init__(self, carry: Tensor, steps: Sequence[Tensor], consts: Sequence[Tensor], out: Tensor):
        self.carry, self.steps, self.consts, self.out = carry, tuple(steps), tuple(consts), out
        self.uid = next(_UIDS)
        own = {carry, *self.steps, *self.consts}
        self.order = [n for n in toposort([out]) if n not in own]
        stray = [n for n in self.order if n.op.is_leaf and not isinstance(n.op, Constant)]
        if stray:
            raise ShapeError(f"scan: the step reads {stray[0]!r}, which is not one of its inputs",
                             fix="build the body with gc.scan, which lifts outer tensors into inputs")

    def run(self, carry: np.ndarray, steps: Sequence[np.ndarray], consts: Sequence[np.ndarray]) -> np.ndarray:
        """The new carry for one step, interpreting the body with each op's NumPy rule."""
        env = dict(zip((self.carry, *self.steps, *self.consts), (carry, *steps, *consts)))
        for node in self.order:
            if isinstance(node.op, Constant):
                env[node] = node.op.value
                continue
            val = np.asarray(node.op.numpy(*[env[i] for i in node.inputs]))
            env[node] = val if val.dtype.name == node.dtype else val.astype(node.dtype)
        return env[self.out]

    def size(self) -> int:
        """Nodes in the body, nested bodies included."""
        return node_count([self.out])


class Scan(Op):
    """Inputs (init, *sequences, *constants); the carries after each of `length` steps, stacked."""

    name = "scan"

    def __init__(self, body: Body, length: int, reverse: bool = False, last: bool = False):
        self.body, self.length, self.reverse, self.last = body, length, reverse, last

    def attrs(self):
        return (self.body.uid, self.length, self.reverse, self.last)

    def describe_attrs(self):
        return {"length": self.length, "reverse": self.reverse, "last": self.last, "body_nodes": self.body.size()}

    def split(self, inputs: Sequence) -> tuple:
        n = len(self.body.steps)
        return inputs[0], list(inputs[1: 1 + n]), list(inputs[1 + n:])

    def infer(self, init, *rest):
        b = self.body
        seqs, consts = rest[: len(b.steps)], rest[len(b.steps):]
        if len(consts) != len(b.consts):
            raise ShapeError(f"scan: the body takes {len(b.steps)} sequences and {len(b.consts)} constants, "
                             f"got {len(rest)} operands after the carry")
        pairs = [(init, b.carry)] + list(zip(consts, b.consts))
        for s, p in zip(seqs, b.steps):
            if s.ndim == 0 or s.shape[0] != self.length:
                raise ShapeError(f"scan: sequence {desc(s)} does not have the trip count {self.length} "
                                 f"on its leading axis", fix="give every sequence the same static length")
        rows = [(s.shape[1:], s.dtype, s) for s in seqs]
        for (shape, dtype, outer), inner in [((o.shape, o.dtype, o), i) for o, i in pairs] + list(zip(rows, b.steps)):
            if dtype != inner.dtype or not _fits(shape, inner.shape):
                raise DTypeError(f"scan: operand {desc(outer)} does not fit the body input {desc(inner)}",
                                 fix="pass operands of the shapes and dtypes the step was built with")
        return (init.shape if self.last else (self.length,) + init.shape), init.dtype

    def numpy(self, init, *rest):
        _, seqs, consts = self.split((init,) + rest)
        steps = range(self.length - 1, -1, -1) if self.reverse else range(self.length)
        carry, stacked = init, None
        for t in steps:
            carry = self.body.run(carry, [s[t] for s in seqs], consts)
            if not self.last:
                if stacked is None:
                    stacked = np.empty((self.length,) + carry.shape, carry.dtype)
                stacked[t] = carry
        if self.last or self.length == 0:
            return np.array(carry, copy=True) if self.last else np.empty((0,) + init.shape, init.dtype)
        return stacked

    def pullback(self, node, g):
        from ..autodiff import vjp  # the reverse rule differentiates the body: autodiff sits above ops
        if self.last:  # the stacked scan, seeded only in the row of the final carry
            full = Tensor.make(Scan(self.body, self.length, self.reverse), node.inputs)
            row = full[0 if self.reverse else self.length - 1]
            (seed,) = row.op.pullback(row, g)
            return full.op.pullback(full, seed)
        b, n = self.body, self.length
        init, seqs, consts = self.split(node.inputs)
        lam = placeholder(b.carry.shape, b.carry.dtype, name="adjoint")
        g_prev = placeholder(b.carry.shape, b.carry.dtype, name="seed")
        local = vjp([b.out], [lam], [b.carry, *b.steps, *b.consts])
        step_in = [b.carry, *b.steps, lam]  # per-step placeholders of every gradient scan
        carries = _before(node, init, self.reverse, n)
        d_carry = g_prev if local[0] is None else local[0] + g_prev
        adj0 = g[0] if self.reverse else g[n - 1]
        adjoint = Tensor.make(Scan(Body(lam, [b.carry, *b.steps, g_prev], b.consts, d_carry), n, not self.reverse),
                              [adj0, carries, *seqs, _before(g, zeros_like(init), self.reverse, n), *consts])
        lam_seq = _before(adjoint, adj0, not self.reverse, n)
        per_step = [carries, *seqs, lam_seq]
        grads: list[Tensor | None] = [adjoint[n - 1] if self.reverse else adjoint[0]]
        for seq, d in zip(seqs, local[1: 1 + len(seqs)]):
            if d is None:
                grads.append(None)
                continue
            slot = placeholder(d.shape, d.dtype, name="unused")
            grads.append(Tensor.make(Scan(Body(slot, step_in, b.consts, d), n, self.reverse),
                                     [zeros_like(seq[0]), *per_step, *consts]))
        for const, d in zip(consts, local[1 + len(seqs):]):
            if d is None:
                grads.append(None)
                continue
            acc = placeholder(d.shape, d.dtype, name="total")
            grads.append(Tensor.make(Scan(Body(acc, step_in, b.consts, acc + d), n, self.reverse, last=True),
                                     [zeros_like(const), *per_step, *consts]))
        return grads


def _fits(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def _before(seq: Tensor, first: Tensor, reverse: bool, n: int) -> Tensor:
    """Row t: the row of `seq` processed just before step t (`first` for the first step)."""
    head = expand_dims(first, 0)
    if n == 1:
        return head
    return concatenate([seq[1:], head]) if reverse else concatenate([head, seq[:-1]])


def node_count(outputs: Sequence[Tensor]) -> int:
    """Nodes in the graph of `outputs`, counting the bodies of scans (recursively) too."""
    total = 0
    for node in toposort(outputs):
        total += 1
        if isinstance(node.op, Scan):
            total += node.op.body.size()
    return total


def _lift(out: Tensor, own: set) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    """Close a body: each outer tensor the step read becomes a constant input (outer, placeholder)."""
    inner: set[Tensor] = set()
    for node in toposort([out]):
        if node in own or any(i in inner for i in node.inputs):
            inner.add(node)
    read = [out] + [i for node in toposort([out]) if node in inner for i in node.inputs]
    free = list({id(t): t for t in read if t not in inner and not isinstance(t.op, Constant)}.values())
    holes = [placeholder(f.shape, f.dtype, name=f"lifted{i}") for i, f in enumerate(free)]
    (closed,) = substitute([out], dict(zip(free, holes)))
    return closed, free, holes


def scan(step: Callable[..., Tensor | Sequence[Tensor]], init: Tensor | Sequence[Tensor],
         xs: Sequence[Tensor] = (), length: int | None = None, reverse: bool = False) -> Tensor | list[Tensor]:
    """Loop `carry = step(carry, *x_t)` over the leading axis of each of `xs`.

    Returns the carries after every step, stacked as `(T, *carry.shape)` (row t is
    the carry after step t, also with `reverse=True`, which runs t = T-1 .. 0). The
    carry may be a list of tensors that share all but their last axis (e.g. an
    LSTM's (h, c)); then `step` gets and returns lists, and scan returns a list.
    Parameters and outer tensors used in `step` become inputs of the loop.
    """
    xs = [xs] if isinstance(xs, Tensor) else list(xs)
    many = not isinstance(init, Tensor)
    carries = list(init) if many else [init]
    n = _trip_count(xs, length)
    widths = _check_carries(carries)
    packed = carries[0] if len(carries) == 1 else concatenate(carries, axis=-1)
    carry_in = placeholder(packed.shape, packed.dtype, name="carry")
    steps = [placeholder(x.shape[1:], x.dtype, name=f"x{i}") for i, x in enumerate(xs)]
    result = step(_unpack(carry_in, widths) if many else carry_in, *steps)
    new = list(result) if many else [result]
    if len(new) != len(carries) or any(not isinstance(t, Tensor) for t in new):
        raise ShapeError(f"scan: the step must return {len(carries)} tensor(s) like its carry, got {result!r:.80}")
    _check_carries(new, like=carries)
    out = new[0] if len(new) == 1 else concatenate(new, axis=-1)
    out, outer, holes = _lift(out, {carry_in, *steps})
    stacked = Tensor.make(Scan(Body(carry_in, steps, holes, out), n, reverse), [packed, *xs, *outer])
    return _unpack(stacked, widths) if many else stacked


def _trip_count(xs: list[Tensor], length: int | None) -> int:
    sizes = {x.shape[0] if x.ndim else "scalar" for x in xs} | ({length} if length is not None else set())
    if len(sizes) != 1 or None in sizes or "scalar" in sizes:
        raise ShapeError(f"scan: needs one static trip count; sequences {desc(*xs) if xs else '(none)'}, "
                         f"length={length}",
                         fix="give the sequences a fixed leading size (not None), or pass length= without sequences")
    return int(sizes.pop())


def _check_carries(carries: list[Tensor], like: list[Tensor] | None = None) -> list[int]:
    """The last-axis widths of several carries (empty for one), after checking they can be packed."""
    for c, ref in zip(carries, like or carries):
        ok = c.dtype == ref.dtype and _fits(c.shape, ref.shape)
        if len(carries) > 1:
            ok = ok and c.ndim >= 1 and c.ndim == carries[0].ndim and c.shape[-1] is not None and \
                _fits(c.shape[:-1], carries[0].shape[:-1])
        if not ok:
            what = "the step returned" if like is not None else "the carries are"
            raise ShapeError(f"scan: {what} {desc(*carries)}"
                             + (f", the initial carries are {desc(*like)}" if like is not None else ""),
                             fix="return carries of the initial carries' shapes and dtypes; several carries "
                                 "must share all but their (fixed-size) last axis")
    return [c.shape[-1] for c in carries] if len(carries) > 1 else []


def _unpack(packed: Tensor, widths: list[int]) -> list[Tensor]:
    out, start = [], 0
    for w in widths:
        out.append(packed[..., start: start + w])
        start += w
    return out
