"""Graphs printed as math: one formula per output, shared subexpressions named once.

The text is a small Python/NumPy program: `t0 = ...` lines bind every subexpression used more than
once (leaves print by their names), then one line per output. What the builders insert only to make
shapes line up prints as what it means: the rank alignment and broadcasts of an elementwise operand
are left to NumPy's broadcasting, a multiplication by one is its other factor, the element count of
a mean over free dims is `x.size`, and the sum that undoes a broadcast is a plain `sum(g, axis=0)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from .ir import Tensor, toposort
from .ir.leaves import Constant
from .ops.elementwise import MUL, Elementwise
from .ops.index import Slice
from .ops.linalg import MatMul
from .ops.reduce import Count, Reduce
from .ops.shape import BroadcastLike, BroadcastTo, ExpandDims, Squeeze, Transpose, scalar_const

#: How tightly each printed form binds, as in Python: a lower-precedence operand gets parentheses.
#: `@` binds as `*` in Python; printed a step looser, a product beside it always gets parentheses.
#: A number or list is an operand of any operator, but `(1)[None]` and `([1, 2]).T` need parentheses.
ATOM, NUMBER, POWER, UNARY, PRODUCT, MATMUL, SUM, COMPARE = 9, 8, 7, 6, 5, 4, 3, 2
INFIX = {"**": POWER, "*": PRODUCT, "/": PRODUCT, "+": SUM, "-": SUM,
         "<": COMPARE, "<=": COMPARE, ">": COMPARE, ">=": COMPARE, "==": COMPARE, "!=": COMPARE}


@dataclass(frozen=True)
class _Piece:
    """Printed text and the precedence of its outermost operator."""

    text: str
    prec: int = ATOM

    def at(self, prec: int) -> str:
        """The text as an operand of an operator binding at `prec`."""
        return self.text if self.prec >= prec else f"({self.text})"


@dataclass
class _Form:
    """How a node prints: the tensors its text shows (`refs`), those it reads only the shape of
    (`shape_refs`), and how their pieces join."""

    refs: Sequence[Tensor]
    render: Callable[[list[_Piece], list[_Piece]], _Piece]
    shape_refs: Sequence[Tensor] = field(default_factory=tuple)


def _is_alignment(t: Tensor) -> bool:
    """A broadcast, or size-1 axes added in front: what NumPy's broadcasting does by itself."""
    if isinstance(t.op, ExpandDims):
        return t.op.axes == tuple(range(len(t.op.axes)))
    return isinstance(t.op, (BroadcastTo, BroadcastLike))


def _broadcast(shapes: Iterable[tuple]) -> tuple:
    """NumPy's broadcast of `shapes` (right-aligned); a free dim (None) wins over 1."""
    shapes = list(shapes)
    rank = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    return tuple(next((d for d in dims if d != 1), 1) for dims in zip(*padded))


def _operands(t: Tensor, see: Callable[[Tensor], Tensor] = lambda x: x) -> list[Tensor]:
    """An elementwise node's operands (as `see` shows them), each with the alignment NumPy would do
    peeled off where the operands then still broadcast to the node's shape."""
    operands = [see(x) for x in t.inputs]
    for i, x in enumerate(operands):
        while _is_alignment(x):
            x = see(x.inputs[0])
        trial = operands[:i] + [x] + operands[i + 1:]
        if _broadcast(o.shape for o in trial) == t.shape:
            operands = trial
    return operands


def _alias(t: Tensor) -> Tensor:
    """The node `t` prints as: `1 * x` and `x * 1` print as `x`."""
    while t.op is MUL:
        a, b = _operands(t)
        if scalar_const(a) == 1 and b.shape == t.shape:
            t = b
        elif scalar_const(b) == 1 and a.shape == t.shape:
            t = a
        else:
            break
    return t


def _axis(axes: tuple) -> str:
    return str(axes[0]) if len(axes) == 1 else str(axes)


def _call(name: str, args: Iterable[str]) -> _Piece:
    return _Piece(f"{name}({', '.join(args)})")


def _leaf(t: Tensor) -> _Form:
    text = t.op.format([])
    number = isinstance(t.op, Constant) and text[0] in "0123456789["
    prec = UNARY if text.startswith("-") else NUMBER if number else ATOM
    return _Form((), lambda a, s: _Piece(text, prec))


def _elementwise(t: Tensor) -> _Form:
    op, args = t.op, _operands(t, _alias)
    if op.symbol in INFIX and len(args) == 2:
        p = INFIX[op.symbol]
        if op.symbol == "**":  # right-associative; a negative exponent needs no parentheses
            return _Form(args, lambda a, s: _Piece(f"{a[0].at(p + 1)} ** {a[1].at(UNARY)}", p))
        right = p + 1
        left = p + 1 if p == COMPARE else p  # comparisons chain in Python: parenthesize both sides
        return _Form(args, lambda a, s: _Piece(f"{a[0].at(left)} {op.symbol} {a[1].at(right)}", p))
    if op.symbol and len(args) == 1:
        return _Form(args, lambda a, s: _Piece(f"{op.symbol}{a[0].at(POWER)}", UNARY))
    return _Form(args, lambda a, s: _Piece(op.format([x.text for x in a])))


def _reduce(t: Tensor, x: Tensor, axes: tuple, keepdims: bool) -> _Form:
    extra = ([] if axes == tuple(range(x.ndim)) else [f"axis={_axis(axes)}"]) + (["keepdims=True"] if keepdims else [])
    return _Form([_alias(x)], lambda a, s: _call(t.op.name, [a[0].text, *extra]))


def _squeeze(t: Tensor) -> _Form:
    (x,) = t.inputs
    if isinstance(x.op, Reduce) and x.op.fields == ("axes", "keepdims") and x.op.keepdims and x.op.axes == t.op.axes:
        return _reduce(x, x.inputs[0], x.op.axes, False)  # the sum that undoes a broadcast, keeping no axes
    return _Form([_alias(x)], lambda a, s: _call("squeeze", [a[0].text, f"axis={_axis(t.op.axes)}"]))


def _expand_dims(t: Tensor) -> _Form:
    key = ["None" if i in t.op.axes else ":" for i in range(t.ndim)]
    while key[-1] == ":":
        key.pop()
    return _Form([_alias(t.inputs[0])], lambda a, s: _Piece(f"{a[0].at(ATOM)}[{', '.join(key)}]"))


def _transpose(t: Tensor) -> _Form:
    if t.op.perm == (1, 0):
        return _Form([_alias(t.inputs[0])], lambda a, s: _Piece(f"{a[0].at(ATOM)}.T"))
    return _Form([_alias(t.inputs[0])], lambda a, s: _call("transpose", [a[0].text, str(t.op.perm)]))


def _broadcast_to(t: Tensor) -> _Form:
    """`broadcast_to(x, shape)`, with `x`'s leading size-1 axes left to NumPy's right alignment."""
    x = _alias(t.inputs[0])
    while isinstance(x.op, ExpandDims) and _is_alignment(x):
        x = _alias(x.inputs[0])
    if isinstance(t.op, BroadcastTo):
        return _Form([x], lambda a, s: _call("broadcast_to", [a[0].text, str(t.op.shape)]))
    return _Form([x], lambda a, s: _call("broadcast_to", [a[0].text, f"{s[0].at(ATOM)}.shape"]), [t.inputs[1]])


def _count(t: Tensor) -> _Form:
    """The number of elements along the axes: `x.size`, or a product of `x.shape[i]`."""
    (x,), axes = t.inputs, t.op.axes
    if axes == tuple(range(x.ndim)):
        return _Form((), lambda a, s: _Piece(f"{s[0].at(ATOM)}.size"), [x])
    dims = [f"{{}}.shape[{i}]" for i in axes]
    return _Form((), lambda a, s: _Piece(" * ".join(d.format(s[0].at(ATOM)) for d in dims),
                                       PRODUCT if len(dims) > 1 else ATOM), [x])


def _form(t: Tensor) -> _Form:
    op = t.op
    if op.is_leaf:
        return _leaf(t)
    if isinstance(op, Elementwise):
        return _elementwise(t)
    if isinstance(op, MatMul):
        return _Form([_alias(x) for x in t.inputs], lambda a, s: _Piece(f"{a[0].at(UNARY)} @ {a[1].at(UNARY)}", MATMUL))
    if isinstance(op, Reduce) and op.fields == ("axes", "keepdims"):
        return _reduce(t, t.inputs[0], op.axes, op.keepdims)
    if isinstance(op, Squeeze):
        return _squeeze(t)
    if isinstance(op, ExpandDims):
        return _expand_dims(t)
    if isinstance(op, Transpose):
        return _transpose(t)
    if isinstance(op, Count):
        return _count(t)
    if isinstance(op, (BroadcastTo, BroadcastLike)):
        return _broadcast_to(t)
    if isinstance(op, Slice):
        return _Form([_alias(t.inputs[0])], lambda a, s: _Piece(op.format([a[0].at(ATOM)])))
    return _Form([_alias(x) for x in t.inputs], lambda a, s: _Piece(op.format([x.text for x in a])))


def _same_shape_inputs(t: Tensor) -> list[Tensor]:
    """Inputs of an elementwise node with exactly its shape: their runtime shape is the node's too."""
    if not isinstance(t.op, Elementwise):
        return []
    return [x for x in t.inputs if x.shape == t.shape]


def _shape_source(t: Tensor, named: Callable[[Tensor], bool]) -> Tensor:
    """Something of `t`'s shape that prints short: a leaf, else a named node, else `t` itself."""
    queue, seen, first_named = [t], {id(t)}, None
    while queue:
        n = _alias(queue.pop(0))
        if n.op.is_leaf:
            return n
        if first_named is None and named(n):
            first_named = n
        for x in _same_shape_inputs(n):
            if id(x) not in seen:
                seen.add(id(x))
                queue.append(x)
    return t if first_named is None else first_named


class _Printer:
    """One graph's forms, use counts and names."""

    def __init__(self, outputs: list[Tensor], names: Mapping[Tensor, str], inline_uses: int):
        self.names, self.inline_uses = names, inline_uses
        self.forms: dict[Tensor, _Form] = {}
        self.shapes: dict[tuple[int, int], Tensor] = {}  # (node id, shape ref index) -> what it prints
        self.uses: dict[Tensor, int] = {}
        self.outputs = [_alias(o) for o in outputs]
        for o in self.outputs:
            self.visit(o)
        self.resolve_shapes()

    def visit(self, root: Tensor) -> None:
        """Make the forms of `root` and of what its text shows, counting each shown use."""
        stack = [root]
        while stack:
            t = stack.pop()
            if t in self.forms:
                continue
            form = self.forms[t] = _form(t)
            for r in form.refs:
                self.uses[r] = self.uses.get(r, 0) + 1
                stack.append(r)

    def named(self, t: Tensor) -> bool:
        return not t.op.is_leaf and (self.uses.get(t, 0) > self.inline_uses or t in self.names)

    def resolve_shapes(self) -> None:
        """Point each shape reference at a short text of that shape, counting it as a use."""
        done: set[Tensor] = set()
        while len(done) < len(self.forms):
            for t in [t for t in self.forms if t not in done]:
                done.add(t)
                for i, s in enumerate(self.forms[t].shape_refs):
                    src = self.shapes[id(t), i] = _shape_source(s, self.named)
                    self.uses[src] = self.uses.get(src, 0) + 1
                    self.visit(src)

    def lines(self, labels: list[str | None]) -> list[str]:
        taken = set(self.names.values()) | {lb for lb in labels if lb} | \
            {t.op.format([]) for t in self.forms if t.op.is_leaf}
        fresh = (f"t{i}" for i in range(len(self.forms) + len(taken) + 1) if f"t{i}" not in taken)
        outs = {id(o) for o in self.outputs}
        text: dict[Tensor, _Piece] = {}
        lines = []
        for t in toposort(self.outputs):
            form = self.forms.get(t)
            if form is None:
                continue
            piece = form.render([text[r] for r in form.refs],
                                [text[self.shapes[id(t), i]] for i in range(len(form.shape_refs))])
            if t.op.is_leaf and t in self.names:
                piece = _Piece(self.names[t])
            elif self.named(t) or (id(t) in outs and self.uses.get(t, 0) and not t.op.is_leaf):
                name = self.names.get(t) or next(fresh)
                lines.append(f"{name} = {piece.text}")
                piece = _Piece(name)
            text[t] = piece
        for label, o in zip(labels, self.outputs):
            lines.append(f"{label} = {text[o].text}" if label else text[o].text)
        return lines


def _leaf_names(outputs: list[Tensor], names: Mapping[Tensor, str]) -> dict[Tensor, str]:
    """Leaves that share a label (every Dense's weight is 'Dense.weight') get `_2`, `_3`, ... in order."""
    out = dict(names)
    count: dict[str, int] = {}
    for t in toposort(outputs):
        if t.op.is_leaf and t not in out and not isinstance(t.op, Constant):
            label = t.op.format([])
            count[label] = count.get(label, 0) + 1
            if count[label] > 1:
                out[t] = f"{label}_{count[label]}"
    return out


def pformat(outputs: Tensor | Iterable[Tensor] | Mapping[str, Tensor], inline_uses: int = 1,
            names: Mapping[str, Tensor] | None = None) -> str:
    """The text `pprint` prints: `t0 = ...` bindings, then one line per output.

    `outputs` is a tensor, a list (printed as `out0 = ...`, `out1 = ...`) or a dict from names to
    tensors. A non-leaf node used more than `inline_uses` times is bound to a name (`t0`, `t1`, ...).
    `names` maps display names to tensors, e.g. `dict(model.named_parameters())`; leaves otherwise
    print by their own names (`name=` when declared), with `_2`, `_3` on repeated names.
    """
    if isinstance(outputs, Tensor):
        labels, outs = [None], [outputs]
    elif isinstance(outputs, Mapping):
        labels, outs = list(outputs), list(outputs.values())
    else:
        outs = list(outputs)
        labels = [f"out{i}" for i in range(len(outs))] if len(outs) > 1 else [None]
    by_tensor = {t: n for n, t in (names or {}).items()}
    printer = _Printer(outs, _leaf_names(outs, by_tensor), inline_uses)
    return "\n".join(printer.lines(labels))


def pprint(outputs: Tensor | Iterable[Tensor] | Mapping[str, Tensor], inline_uses: int = 1,
           names: Mapping[str, Tensor] | None = None) -> None:
    """Print a graph as formulas (see `pformat`): what `gc.grad` derived, readable as math."""
    print(pformat(outputs, inline_uses, names))
