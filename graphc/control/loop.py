"""`scan`: a loop with a static trip count whose body is a graphc subgraph.

A long sequence would otherwise unroll into a graph (and a gradient graph) that
grows with its length; a `Scan` node holds one copy of the step instead. The
body is closed: its inputs are placeholders for the carry, for the per-step
slices of the sequences, and for constants (the parameters and outer tensors
the step used are lifted out as extra inputs, so gradients reach them).

The body's output is the new carry, optionally followed by extra columns on
the last axis: per-step values that are stacked but not carried. The node's
value is the stack of those outputs after each step, `(T, *out)` with row t the
output of step t (or only the final carry with `last=True`).

The forward rule (jvp) is one scan too: its carry is the state and its tangent
stacked on a new leading axis, its step the body's own jvp (`graphc.autodiff.jvp`),
mapping each sequence together with its tangent.

The reverse rule is one reverse scan built from the body's own gradient
(`graphc.autodiff.vjp`): it carries the adjoint of the carry and emits, as
extra columns, each sequence's per-step gradient and the per-step factors of
the constants' gradients. A constant's gradient is a sum over steps; where it
is a sum of matrix products (a weight multiplying the carry), the sum runs
after the loop as one large product over all steps instead of many small
ones inside it, like PyTorch and JAX do for recurrent weights. Only gradients
that fit neither pattern get a scan of their own. Second derivatives follow
the same way.
"""
from __future__ import annotations

import itertools
from typing import Callable, Sequence

import numpy as np

from ..autodiff import jvp, vjp
from ..ir import Constant, Tensor, placeholder, remake, substitute, toposort
from ..ir.dtypes import is_float
from ..ir.errors import DTypeError, ShapeError
from ..ir.node import Op
from ..ops.elementwise import ADD, COS, ERF, EXP, EXPM1, LOG, LOG1P, SIGMOID, SIN, SOFTPLUS, TANH, Elementwise
from ..ops.index import Slice
from ..ops.linalg import MatMul, matmul
from ..ops.operands import desc
from ..ops.reduce import Sum
from ..ops.reduce import sum as reduce_sum
from ..ops.shape import (BroadcastTo, Concatenate, ExpandDims, Reshape, Squeeze, Transpose, concatenate, expand_dims,
                         reshape, stack, transpose, zeros_like)

_UIDS = itertools.count()


class Body:
    """A closed subgraph: (carry, per-step slices, constants) placeholders -> the new carry, possibly
    followed by `extra` per-step columns on the last axis."""

    def __init__(self, carry: Tensor, steps: Sequence[Tensor], consts: Sequence[Tensor], out: Tensor,
                 extends: "Body | None" = None):
        self.carry, self.steps, self.consts, self.out = carry, tuple(steps), tuple(consts), out
        self.extends = extends  # a body whose output columns this one's start with (passes merge the two loops)
        self.uid = next(_UIDS)
        self.sizes_checked: set[tuple] = set()  # operand sizes its ops were inferred for (Scan._check_sizes)
        known = carry.ndim and out.ndim == carry.ndim and carry.shape[-1] is not None
        self.extra = out.shape[-1] - carry.shape[-1] if known else 0  # a free carry width: no columns (_fits_row)
        assert out.dtype == carry.dtype and self.extra >= 0 and (self.extra or _fits(out.shape, carry.shape)), \
            (out, carry)
        own = {carry, *self.steps, *self.consts}
        self.order = [n for n in toposort([out]) if n not in own]
        stray = [n for n in self.order if n.op.is_leaf and not isinstance(n.op, Constant)]
        if stray:
            raise ShapeError(f"scan: the step reads {stray[0]!r}, which is not one of its inputs",
                             fix="build the body with gc.scan, which lifts outer tensors into inputs")

    def run(self, carry: np.ndarray, steps: Sequence[np.ndarray], consts: Sequence[np.ndarray]) -> np.ndarray:
        """One step's output, interpreting the body with each op's NumPy rule."""
        env = dict(zip((self.carry, *self.steps, *self.consts), (carry, *steps, *consts)))
        for node in self.order:
            if isinstance(node.op, Constant):
                env[node] = node.op.value
                continue
            val = np.asarray(node.op.numpy(*[env[i] for i in node.inputs]))
            env[node] = val if val.dtype.name == node.dtype else val.astype(node.dtype)
        return env[self.out]

    def carried(self, out):
        """The carry part of an output row (or of a stack of them): all of it without extra columns."""
        return out[..., : out.shape[-1] - self.extra] if self.extra else out

    def size(self) -> int:
        """Nodes in the body, nested bodies included."""
        return node_count([self.out])


class Scan(Op):
    """Inputs (init, *sequences, *constants); the outputs of each of `length` steps, stacked."""

    name = "scan"

    def __init__(self, body: Body, length: int, reverse: bool = False, last: bool = False):
        assert not (last and body.extra), "a scan with extra columns stacks its outputs"
        self.body, self.length, self.reverse, self.last = body, length, reverse, last

    def attrs(self):
        return (self.body.uid, self.length, self.reverse, self.last)

    def describe_attrs(self):
        return {"length": self.length, "reverse": self.reverse, "last": self.last, "extra": self.body.extra,
                "body_nodes": self.body.size()}

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
        for s, _ in zip(seqs, b.steps):
            if s.ndim == 0 or s.shape[0] != self.length:
                raise ShapeError(f"scan: sequence {desc(s)} does not have the trip count {self.length} "
                                 f"on its leading axis", fix="give every sequence the same static length")
        rows = [(s.shape[1:], s.dtype, s) for s in seqs]
        for (shape, dtype, outer), inner in [((o.shape, o.dtype, o), i) for o, i in pairs] + list(zip(rows, b.steps)):
            if dtype != inner.dtype or not _fits(shape, inner.shape):
                raise DTypeError(f"scan: operand {desc(outer)} does not fit the body input {desc(inner)}",
                                 fix="pass operands of the shapes and dtypes the step was built with")
        self._check_sizes(b, [init.shape] + [r[0] for r in rows] + [c.shape for c in consts])
        row = init.shape[:-1] + b.out.shape[-1:] if b.extra else init.shape
        return (row if self.last else (self.length,) + row), init.dtype

    @staticmethod
    def _check_sizes(b: Body, shapes: list[tuple]) -> None:
        """Operands of known sizes where the body has free dims must also fit the body's own ops (a
        carry of 6 times a row of 3): its nodes are inferred again for those sizes, so a mismatch is
        the ShapeError of the op in the step, on every backend, once per set of sizes."""
        inputs = (b.carry, *b.steps, *b.consts)
        sized = [(i, s) for i, (x, s) in enumerate(zip(inputs, shapes)) if s != x.shape and None not in s]
        key = tuple(sized)
        if not sized or key in b.sizes_checked:
            return
        x = [inputs[i] for i, _ in sized]
        (out,) = substitute([b.out], {t: placeholder(s, t.dtype, name=t.name) for t, (_, s) in zip(x, sized)})
        carry = shapes[0]
        if not b.extra and not _fits(out.shape, carry):
            raise ShapeError(f"scan: at these sizes the step returns {out.type_str()} for a carry of "
                             f"{list(carry)} (free dims that broadcast in the step)", loc=b.out.loc,
                             fix="give the carry and the step's rows equal sizes at every call")
        b.sizes_checked.add(key)

    def numpy(self, init, *rest):
        _, seqs, consts = self.split((init,) + rest)
        steps = range(self.length - 1, -1, -1) if self.reverse else range(self.length)
        carry, out, stacked = init, init, None
        for t in steps:
            out = self.body.run(carry, [s[t] for s in seqs], consts)
            carry = self.body.carried(out)
            if not self.last:
                if stacked is None:
                    stacked = np.empty((self.length,) + out.shape, out.dtype)
                stacked[t] = out
        if self.last or self.length == 0:
            return np.array(carry, copy=True) if self.last else np.empty((0,) + init.shape, init.dtype)
        return stacked

    def pullback(self, node, g):
        if self.last:  # the stacked scan, seeded only in the row of the final carry
            full = Tensor.make(Scan(self.body, self.length, self.reverse), node.inputs)
            row = full[0 if self.reverse else self.length - 1]
            (seed,) = row.op.pullback(row, g)
            return full.op.pullback(full, seed)
        return _Reverse(self, node, g).grads()

    def jvp(self, node, tangents):
        return _tangent_scan(self, node, tangents)


def _tangent_scan(op: Scan, node: Tensor, tangents: Sequence[Tensor | None]) -> Tensor | None:
    """The jvp of a scan: forward mode through a loop is a loop. Its carry is (state, tangent of the
    state) stacked on a new leading axis, which fits every carry shape (scalars, free dims); its step
    is the body's jvp, reading each moving sequence's row and its tangent's row, and the tangents of
    moving constants as constants. The step recomputes the primal state, which its tangent needs."""
    b = op.body
    if not is_float(b.carry.dtype):
        return None
    init, seqs, consts = op.split(node.inputs)
    t_init, t_seqs, t_consts = op.split(tuple(tangents))
    moving_seqs = [(p, t) for p, t in zip(b.steps, t_seqs) if t is not None]
    moving_consts = [(p, t) for p, t in zip(b.consts, t_consts) if t is not None]
    d_carry = placeholder(b.carry.shape, b.carry.dtype, name="tangent")
    d_steps = [placeholder(p.shape, p.dtype, name=f"d{p.op.label}") for p, _ in moving_seqs]
    d_consts = [placeholder(p.shape, p.dtype, name=f"d{p.op.label}") for p, _ in moving_consts]
    d_out = jvp(b.out, [b.carry, *(p for p, _ in moving_seqs), *(p for p, _ in moving_consts)],
                [d_carry, *d_steps, *d_consts])
    pair = placeholder((2, *b.carry.shape), b.carry.dtype, name="carry_and_tangent")
    (out,) = substitute([stack([b.out, d_out])], {b.carry: pair[0], d_carry: pair[1]})
    start = stack([init, zeros_like(init) if t_init is None else t_init])
    both = closed_scan(pair, [*b.steps, *d_steps], [*b.consts, *d_consts], out, op.length, op.reverse,
                       [start, *seqs, *(t for _, t in moving_seqs)], [*consts, *(t for _, t in moving_consts)],
                       last=op.last)
    return both[1] if op.last else both[:, 1]


class _Reverse:
    """The reverse rule of a stacked scan (see the module docstring).

    Per-step placeholders of the reverse body: the carry before step t (from the
    forward stack), each sequence's row t, `seed` (the cotangent of output row
    t) and, in scans of their own only, `adjoint` at step t. The main reverse
    scan carries `adjoint`: d loss / d (carry after step t) through later steps.
    """

    def __init__(self, op: Scan, node: Tensor, g: Tensor):
        self.op, b, n = op, op.body, op.length
        self.init, self.seqs, self.consts = op.split(node.inputs)
        self.adjoint = placeholder(b.carry.shape, b.carry.dtype, name="adjoint")
        self.seed = placeholder(b.out.shape, b.out.dtype, name="seed")
        direct = b.carried(self.seed) + self.adjoint
        cot = concatenate([direct, self.seed[..., b.carry.shape[-1]:]], axis=-1) if b.extra else direct
        local = vjp([b.out], [cot], [b.carry, *b.steps, *b.consts])
        self.stacks = {b.carry: _before(b.carried(node), self.init, op.reverse, n), self.seed: g,
                       **dict(zip(b.steps, self.seqs))}
        self.extras: list[Tensor] = []  # per-step tensors the main reverse scan emits as extra columns
        self.residuals: list[Tensor] = []  # the per-step placeholder of the stashed forward values, if any
        self.local = self._stash(node, local)

    def _stash(self, node: Tensor, local: list[Tensor | None]) -> list[Tensor | None]:
        """Residuals: the forward step's values the gradient reads are emitted as extra columns by a
        forward scan over the same operands, which passes merge with the original loop, so the reverse
        loop reads them instead of recomputing. Products and other non-elementwise values are
        stashed, as in JAX's `dots_saveable` policy, and so are transcendental activations (an LSTM's
        gates): the reverse loop then multiplies them, where recomputing would evaluate each
        sigmoid and tanh again (and their derivatives' sigmoid(-x)). Cheap elementwise chains and
        views are recomputed, fused into the reverse loop's own kernels."""
        b = self.op.body
        forward = set(b.order)
        grads = [d for d in local if d is not None]
        order = toposort(grads)
        wanted = {i for x in order if x not in forward for at, i in enumerate(x.inputs)
                  if i in forward and at not in x.op.donors}
        for v in reversed(order):  # consumers first: views and elementwise chains are recomputed
            if v in wanted and isinstance(v.op, _RECOMPUTED) and v.op not in _STASHED:
                wanted.discard(v)
                wanted.update(v.inputs)
        residuals = [v for v in order if v in wanted and v in forward and not isinstance(v.op, Constant)
                     and self._fits_row(v)]
        mapping: dict[Tensor, Tensor] = {}
        if residuals:
            wide = Body(b.carry, b.steps, b.consts, concatenate([b.out, *residuals], axis=-1), extends=b)
            stashed = Tensor.make(Scan(wide, self.op.length, self.op.reverse), node.inputs)
            row = placeholder(b.carry.shape[:-1] + wide.out.shape[-1:], b.carry.dtype, name="residuals")
            self.residuals.append(row)  # the whole row (dense in the stack), sliced in the body
            self.stacks[row] = stashed
            at = b.out.shape[-1]
            for r in residuals:
                mapping[r] = row[..., at: at + r.shape[-1]]
                at += r.shape[-1]

        def shape_only(v: Tensor, inputs: tuple[Tensor, ...]) -> Tensor:
            """A forward value a gradient node reads only for its shape becomes zeros of that shape, so the
            reverse loop does not compute it (a gate's scatter would recompute the product otherwise)."""
            if v not in forward:
                inputs = tuple(zeros_like(x) if at in v.op.donors and x in forward and None not in x.shape
                               else y for at, (x, y) in enumerate(zip(v.inputs, inputs)))
            return remake(v, inputs)
        new = iter(substitute(grads, mapping, rebuild=shape_only))
        return [None if d is None else next(new) for d in local]

    def _fits_row(self, v: Tensor) -> bool:
        """Whether v can be a column block of an output row: the carry's leading dims and dtype, and
        known widths (the columns after the carry's are found by its width)."""
        carry = self.op.body.carry
        return bool(carry.ndim) and v.ndim == carry.ndim and v.dtype == carry.dtype and \
            None not in (v.shape[-1], carry.shape[-1]) and _fits(v.shape[:-1], carry.shape[:-1])

    def grads(self) -> list[Tensor | None]:
        b, n = self.op.body, self.op.length
        n_seq = len(self.seqs)
        seq_plans = [None if d is None else self._stacked(d) for d in self.local[1: 1 + n_seq]]
        const_plans = [None if d is None else self._summed(d) for d in self.local[1 + n_seq:]]
        d_carry = self.local[0] if self.local[0] is not None else zeros_like(self.adjoint)
        out = concatenate([d_carry, *self.extras], axis=-1) if self.extras else d_carry
        step_in = [b.carry, *b.steps, self.seed, *self.residuals]
        main = closed_scan(self.adjoint, step_in, b.consts, out, n, not self.op.reverse,
                           [zeros_like(self.init), *(self.stacks[s] for s in step_in)], self.consts)
        width = b.carry.shape[-1] if b.carry.ndim else None
        adjoints = main[..., :width] if self.extras else main
        self.stacks[self.adjoint] = _before(adjoints, zeros_like(self.init), not self.op.reverse, n)
        at = width or 0
        for e in self.extras:
            self.stacks[e] = main[..., at: at + e.shape[-1]]
            at += e.shape[-1]
        grads: list[Tensor | None] = [adjoints[n - 1] if self.op.reverse else adjoints[0]]
        for d, plan, seq in zip(self.local[1: 1 + n_seq], seq_plans, self.seqs):
            grads.append(None if d is None else plan(self.stacks) if plan else self._own_scan(d, seq[0], False))
        for d, plan, const in zip(self.local[1 + n_seq:], const_plans, self.consts):
            grads.append(None if d is None else plan(self.stacks) if plan else self._own_scan(d, const, True))
        return grads

    def _stacked(self, v: Tensor):
        """stacks -> v at every step, stacked `(T, *v)`; None when neither available nor emittable."""
        if v in self.stacks:
            return lambda stacks: stacks[v]
        if isinstance(v.op, Slice):
            inner = self._stacked(v.inputs[0])
            key = (("slice", None, None, None),) + v.op.key
            return inner and (lambda stacks: Tensor.make(Slice(key), [inner(stacks)]))
        if self._fits_row(v):
            if not any(v is e for e in self.extras):
                self.extras.append(v)
            return lambda stacks: stacks[v]
        return None

    def _summed(self, d: Tensor):
        """stacks -> the sum of d over all steps, with products of per-step matrices as one product over
        all steps; None when d fits no pattern."""
        op = d.op
        if isinstance(op, Transpose) or (op is ADD and all(i.shape == d.shape and _product(i) for i in d.inputs)):
            parts = [self._summed(i) for i in d.inputs]  # the sum of a transpose, or of products one by one
            if all(parts):
                return lambda stacks: Tensor.make(op, [p(stacks) for p in parts])
        if isinstance(op, Sum):  # a reduction of per-step values: all steps' values reduced at once
            rows = self._stacked(d.inputs[0])
            if rows:
                return lambda stacks: Tensor.make(op, [reduce_sum(rows(stacks), axis=0)])
        if isinstance(op, MatMul) and d.inputs[0].ndim == 2 and d.inputs[1].ndim == 2:
            a, q = d.inputs
            q_rows = self._stacked(q)
            if isinstance(a.op, Transpose):  # sum_t u_t^T q_t = U^T Q, U and Q the steps' rows stacked
                u_rows = self._stacked(a.inputs[0])
                if u_rows and q_rows:
                    return lambda stacks: matmul(transpose(_rows(u_rows(stacks))), _rows(q_rows(stacks)))
            elif a.shape[0] is not None:  # sum_t a_t q_t = [a_0 a_1 ...] [q_0; q_1; ...]
                a_cols = self._stacked(a)
                if a_cols and q_rows:
                    return lambda stacks: matmul(reshape(transpose(a_cols(stacks), (1, 0, 2)), (a.shape[0], -1)),
                                                 _rows(q_rows(stacks)))
        rows = self._stacked(d)
        return rows and (lambda stacks: reduce_sum(rows(stacks), axis=0))

    def _own_scan(self, d: Tensor, like: Tensor, total: bool) -> Tensor:
        """A scan of its own over all per-step values: d stacked (a sequence's gradient), or summed."""
        b, n = self.op.body, self.op.length
        step_in = [b.carry, *b.steps, self.seed, *self.residuals, self.adjoint]
        per_step = [self.stacks[s] for s in step_in]
        acc = placeholder(d.shape, d.dtype, name="total" if total else "unused")
        return closed_scan(acc, step_in, b.consts, acc + d if total else d, n, self.op.reverse,
                           [zeros_like(like), *per_step], self.consts, last=total)


#: ops a reverse loop recomputes from their inputs rather than reading stashed: views, elementwise ops
_RECOMPUTED = (Slice, Transpose, Reshape, ExpandDims, Squeeze, BroadcastTo, Concatenate, Elementwise)
#: elementwise ops a reverse loop reads stashed all the same: each costs tens of operations per element
_STASHED = (SIGMOID, TANH, EXP, EXPM1, LOG, LOG1P, SOFTPLUS, ERF, SIN, COS)


def merge_scans(roots: Sequence[Tensor]) -> dict[Tensor, Tensor]:
    """Scan nodes to replace: a loop whose body another loop over the same operands extends becomes
    the leading columns of that one, so both run as one loop (see `Body.extends`)."""
    wider: dict[tuple, Tensor] = {}
    scans = [n for n in toposort(roots) if isinstance(n.op, Scan)]
    for n in scans:
        if n.op.body.extends is not None:
            wider.setdefault(_loop_key(n, n.op.body.extends), n)
    replace = {}
    for n in scans:
        w = wider.get(_loop_key(n, n.op.body))
        if w is not None and not n.op.last:
            replace[n] = w[..., : n.shape[-1]]
    return replace


def _loop_key(n: Tensor, body: Body) -> tuple:
    return (body.uid, n.op.length, n.op.reverse, n.op.last, tuple(id(i) for i in n.inputs))


def _product(t: Tensor) -> bool:
    """A (transposed) matrix product, whose sum over steps `_Reverse._summed` turns into one product."""
    while isinstance(t.op, Transpose):
        t = t.inputs[0]
    return isinstance(t.op, MatMul)


def _rows(stacked: Tensor) -> Tensor:
    """(T, k, m) -> (T k, m): every step's rows, one after another."""
    return reshape(stacked, (-1, stacked.shape[-1]))


def closed_scan(carry: Tensor, steps: Sequence[Tensor], consts: Sequence[Tensor], out: Tensor, length: int,
                reverse: bool, operands: Sequence[Tensor], outer: Sequence[Tensor], last: bool = False) -> Tensor:
    """The scan node of a body, `operands` (init and sequences) and `outer` (the constants' values).

    Loop-invariant code motion first: the body's parts that read constants only
    (a transposed weight, a product of two constants) become constants
    themselves, computed once before the loop instead of at every step."""
    fixed = set(consts)
    invariant: set[Tensor] = set(consts)
    nodes = toposort([out])
    for node in nodes:
        if node.inputs and all(i in invariant for i in node.inputs):
            invariant.add(node)
    hoist = {i for node in nodes if node not in invariant for i in node.inputs if i in invariant and i not in fixed}
    hoist = [n for n in nodes if n in hoist]  # a deterministic order
    if hoist:
        holes = [placeholder(h.shape, h.dtype, name=f"invariant{i}") for i, h in enumerate(hoist)]
        values = substitute(hoist, dict(zip(consts, outer)))
        (out,) = substitute([out], dict(zip(hoist, holes)))
        consts, outer = [*consts, *holes], [*outer, *values]
    read = set(toposort([out]))  # operands the body does not read are dropped (not copied per loop)
    seqs = [(p, s) for p, s in zip(steps, operands[1:]) if p in read]
    used = [(p, c) for p, c in zip(consts, outer) if p in read]
    body = Body(carry, [p for p, _ in seqs], [p for p, _ in used], out)
    return Tensor.make(Scan(body, length, reverse, last), [operands[0], *(s for _, s in seqs), *(c for _, c in used)])


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
    stacked = closed_scan(carry_in, steps, holes, out, n, reverse, [packed, *xs], outer)
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
