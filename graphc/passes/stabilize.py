"""Numerical stabilization: rewrite formulas that overflow or cancel into stable ops.

These run on the whole compiled graph, gradients included, so they also catch
the unstable ratios that differentiating an unstable form produces (the
pullback of log(softmax(z)) divides by a softmax that may underflow to 0).
"""
from __future__ import annotations

from ..ir import Graph, Tensor
from ..ops import elementwise as ew
from ..ops.reduce import LogSoftmax, Softmax, Sum, log_softmax, softmax, softmax_cross_entropy
from .patterns import filled, is_const, positive_valued, same_type_as
from .rewrite import RewriteStats, RuleSet, rewrite

STABILIZE = RuleSet("stabilize")


@STABILIZE.rule(ew.Log, name="log(softmax)")
def log_of_softmax(node: Tensor):
    x = node.inputs[0]
    return log_softmax(x.inputs[0], x.op.axis) if type(x.op) is Softmax else None


@STABILIZE.rule(ew.Log, name="log(sigmoid)")
def log_of_sigmoid(node: Tensor):
    """log(sigmoid(x)) = -softplus(-x): finite where sigmoid underflows to 0."""
    x = node.inputs[0]
    return ew.negative(ew.softplus(ew.negative(x.inputs[0]))) if x.op is ew.SIGMOID else None


@STABILIZE.rule(ew.Log, name="log(1+x)")
def log_one_plus(node: Tensor):
    x = node.inputs[0]
    if x.op is not ew.ADD:
        return None
    a, b = x.inputs
    for one, rest in ((a, b), (b, a)):
        if is_const(one, 1) and rest.shape == node.shape:
            return ew.log1p(rest)
    return None


@STABILIZE.rule(ew.Subtract, name="exp(x)-1")
def exp_minus_one(node: Tensor):
    a, b = node.inputs
    return ew.expm1(a.inputs[0]) if a.op is ew.EXP and is_const(b, 1) and a.shape == node.shape else None


@STABILIZE.rule(ew.Subtract, name="1-sigmoid(x)")
def one_minus_sigmoid(node: Tensor):
    """1 - sigmoid(x) = sigmoid(-x): keeps the tiny tail that 1 - 0.99999... rounds away."""
    a, b = node.inputs
    if is_const(a, 1) and b.op is ew.SIGMOID and b.shape == node.shape:
        return ew.sigmoid(ew.negative(b.inputs[0]))
    return None


@STABILIZE.rule(ew.Exp, name="exp(log_softmax)")
def exp_of_log_softmax(node: Tensor):
    x = node.inputs[0]
    return softmax(x.inputs[0], x.op.axis) if type(x.op) is LogSoftmax else None


@STABILIZE.rule(Sum, name="softmax cross-entropy")
def softmax_xent(node: Tensor):
    """sum(t * log_softmax(z), axis) = -softmax_cross_entropy(z, t): one op, gradient softmax - t."""
    x = node.inputs[0]
    if x.op is not ew.MUL or node.op.keepdims or len(node.op.axes) != 1:
        return None
    for t, ls in (x.inputs, reversed(x.inputs)):
        if type(ls.op) is LogSoftmax and ls.op.axis == node.op.axes[0] and t.shape == ls.shape:
            return ew.negative(softmax_cross_entropy(ls.inputs[0], t, ls.op.axis))
    return None


def _factors(t: Tensor, num: list, den: list, depth: int = 0) -> None:
    """Split a product/quotient tree into numerator and denominator factors."""
    if depth < 8 and t.op is ew.MUL:
        _factors(t.inputs[0], num, den, depth + 1)
        _factors(t.inputs[1], num, den, depth + 1)
    elif depth < 8 and t.op is ew.DIV:
        _factors(t.inputs[0], num, den, depth + 1)
        _factors(t.inputs[1], den, num, depth + 1)
    else:
        num.append(t)


def _cancel(node: Tensor) -> Tensor | None:
    num: list[Tensor] = []
    den: list[Tensor] = []
    _factors(node, num, den)
    kept_den, cancelled = [], []
    for f in den:
        match = next((i for i, n in enumerate(num) if n is f), None) if positive_valued(f) else None
        if match is None:
            kept_den.append(f)
        else:
            cancelled.append(num.pop(match))
    if not cancelled:
        return None
    den = kept_den
    out = num[0] if num else filled(node, 1.0)
    for f in num[1:]:
        out = ew.mul(out, f)
    for f in den:
        out = ew.divide(out, f)
    for f in cancelled:  # a NaN factor still makes the result NaN, as (y / s) * s does
        out = ew.where(ew.equal(f, f), out, f)
    return same_type_as(out, node)


@STABILIZE.rule(ew.Multiply, ew.Divide, name="cancel s/s")
def cancel_positive_factors(node: Tensor):
    """(y / s) * s = y for s = exp/sigmoid/softmax: exact where s underflows to 0 (0 * inf = nan), and
    the limit y where s is 0 or inf because its input is -inf or inf; NaN where s is NaN."""
    return _cancel(node)


@STABILIZE.rule(ew.Multiply, name="s*(y/s - z)")
def distribute_to_cancel(node: Tensor):
    """s * (y/s - z) = y - s*z: the shape of a softmax/sigmoid pullback fed by a log."""
    for s, diff in (node.inputs, reversed(node.inputs)):
        if not positive_valued(s) or diff.op not in (ew.SUB, ew.ADD):
            continue
        left = _cancel(ew.mul(s, diff.inputs[0])) if diff.inputs[0].shape == node.shape else None
        if left is not None:
            combine = ew.subtract if diff.op is ew.SUB else ew.add
            return combine(left, ew.mul(s, diff.inputs[1]))
    return None


def stabilize(graph: Graph, stats: RewriteStats) -> Graph:
    return rewrite(graph, STABILIZE, stats)
