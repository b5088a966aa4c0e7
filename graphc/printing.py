"""Graphs printed as math: one formula per output, shared subexpressions named once."""
from __future__ import annotations

from typing import Iterable

from .ir import Tensor, toposort


def pformat(outputs: Tensor | Iterable[Tensor], inline_uses: int = 1) -> str:
    """Text formulas for `outputs`; a node used more than `inline_uses` times gets a name."""
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    order = toposort(outs)
    out_ids = {id(o) for o in outs}
    uses: dict[Tensor, int] = {}
    for n in order:
        for i in n.inputs:
            uses[i] = uses.get(i, 0) + 1
    text: dict[Tensor, str] = {}
    lines = []
    for n in order:
        s = n.op.format([text[i] for i in n.inputs])
        if not n.op.is_leaf and uses.get(n, 0) > inline_uses and id(n) not in out_ids:
            name = f"t{len(lines)}"
            lines.append(f"{name} = {s}")
            s = name
        text[n] = s
    lines += [f"out{i} = {text[o]}" if len(outs) > 1 else text[o] for i, o in enumerate(outs)]
    return "\n".join(lines)


def pprint(outputs: Tensor | Iterable[Tensor]) -> None:
    print(pformat(outputs))
