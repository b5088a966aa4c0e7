"""Forward mode: Jacobian-vector products as graphs.

Ops may give a `jvp` rule; those that do not get one derived from their reverse
rule by transposition: the pullback is linear in its seed `u`, so
jvp = d/du <pullback(u), tangents>, which no longer depends on `u`'s values
(it may still read `u` for its shape, where dims are free: the node itself,
which has that shape, stands in).
"""
from __future__ import annotations

from typing import Sequence

from ..ir import Tensor, placeholder, substitute, toposort
from ..ir.dtypes import is_float
from ..ir.errors import GradientError, ShapeError
from ..ops import add, mul, ones_like, sum, zeros_like
from .reverse import vjp


def _transposed_jvp(node: Tensor, tangents: Sequence[Tensor | None]) -> Tensor | None:
    u = placeholder(tuple(node.shape), node.dtype, name="u")
    pulled = node.op.pullback(node, u)
    total = None
    for gi, t in zip(pulled, tangents):
        if gi is None or t is None:
            continue
        term = sum(mul(gi, t))
        total = term if total is None else add(total, term)
    if total is None:
        return None
    (out,) = vjp([total], [ones_like(total)], [u])
    if out is None:
        return None
    valued = {u}  # the nodes whose values (not just shapes) depend on u's
    for n in toposort([out]):
        if any(i in valued and k not in n.op.donors for k, i in enumerate(n.inputs)):
            valued.add(n)
    if out in valued:
        raise GradientError(f"jvp: {node.op.name} has no forward rule, and its reverse rule is not linear in "
                            f"its seed, so none can be derived", loc=node.loc,
                            fix=f"give {type(node.op).__name__} a jvp method, or differentiate in reverse mode "
                                f"(gc.grad, gc.vjp)")
    (out,) = substitute([out], {u: node})
    return out


def jvp(outputs, inputs, tangents):
    """Tangents of `outputs` when `inputs` move along `tangents` (forward mode).

    Each argument may be a tensor or a list; the result matches `outputs`.
    An output that does not depend on the inputs gets a zero tangent.
    """
    single = isinstance(outputs, Tensor)
    outs = [outputs] if single else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    tans = [tangents] if isinstance(tangents, Tensor) else list(tangents)
    if len(ins) != len(tans):
        raise ShapeError(f"jvp: {len(ins)} inputs but {len(tans)} tangents")
    for x, t in zip(ins, tans):
        if not is_float(x.dtype):
            raise GradientError(f"jvp: cannot differentiate with respect to {x!r}: its dtype is {x.dtype}")
        if t.shape != x.shape:
            raise ShapeError(f"jvp: tangent {t.type_str()} does not match input {x.type_str()}",
                             fix="each tangent needs its input's shape")
    tangent: dict[Tensor, Tensor] = dict(zip(ins, tans))
    for node in toposort(outs):
        if node in tangent or node.op.is_leaf or not node.op.differentiable:
            continue
        in_t = [tangent.get(i) if is_float(i.dtype) else None for i in node.inputs]
        if all(t is None for t in in_t):
            continue
        t = node.op.jvp(node, in_t)
        if t is NotImplemented:
            t = _transposed_jvp(node, in_t)
        if t is not None:
            tangent[node] = t
    result = [tangent.get(o) if tangent.get(o) is not None else zeros_like(o) for o in outs]
    return result[0] if single else result
