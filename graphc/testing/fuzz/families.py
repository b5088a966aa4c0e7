"""The op families: each draws operands from a `Gen` and returns one line (expression, lo, hi, bits).

A family returns None when the operand it drew does not suit it; `Gen.step` then
tries again. Intervals are conservative; bits (see gen.py) is None once a
value is rounded.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

import graphc as gc

from .gen import Gen, Line, Val, exact_bits, fits, free_size, hull, is_float


def _mono(f):
    """The interval rule of an increasing function."""
    return lambda lo, hi: (f(lo), f(hi))


def _square(lo: float, hi: float) -> tuple[float, float]:
    return (0.0 if lo <= 0 <= hi else min(lo * lo, hi * hi)), max(lo * lo, hi * hi)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _within(f, lo_ok: float, hi_ok: float):
    """The interval rule of an increasing f whose domain (or the part the fuzzer draws) is [lo_ok, hi_ok]."""
    return lambda lo, hi: (f(lo), f(hi)) if lo_ok <= lo and hi <= hi_ok else None


def _cosh(lo: float, hi: float) -> tuple[float, float] | None:
    if max(-lo, hi) > 6:
        return None
    return (1.0 if lo <= 0 <= hi else min(math.cosh(lo), math.cosh(hi))), max(math.cosh(lo), math.cosh(hi))


def _squashed(f):
    """The interval rule of f(0.9 tanh(x)) for an increasing f on (-1, 1)."""
    return lambda lo, hi: (f(0.9 * math.tanh(lo)), f(0.9 * math.tanh(hi)))


def _shifted_square(shift: float, f):
    """The interval rule of f(x**2 + shift) for an increasing f."""
    return lambda lo, hi: _mono(f)(*[s + shift for s in _square(lo, hi)])


# name: (template, interval rule (None: out of domain), exactness: "keep" | "need" | "lose")
UNARY = {
    "exp": ("gc.exp({})", lambda lo, hi: (math.exp(lo), math.exp(hi)) if hi <= 6 else None, "lose"),
    "expm1": ("gc.expm1({})", lambda lo, hi: (math.expm1(lo), math.expm1(hi)) if hi <= 6 else None, "lose"),
    "tanh": ("gc.tanh({})", _mono(math.tanh), "lose"),
    "sigmoid": ("gc.sigmoid({})", _mono(_sigmoid), "lose"),
    "sin": ("gc.sin({})", lambda lo, hi: (-1.0, 1.0), "lose"),
    "cos": ("gc.cos({})", lambda lo, hi: (-1.0, 1.0), "lose"),
    "erf": ("gc.erf({})", _mono(math.erf), "lose"),
    "softplus": ("gc.softplus({})", _mono(_softplus), "lose"),
    "square": ("gc.square({})", _square, "lose"),
    "log": ("gc.log(gc.square({}) + 0.5)", lambda lo, hi: _mono(math.log)(*[s + 0.5 for s in _square(lo, hi)]), "lose"),
    "log+": ("gc.log({})", lambda lo, hi: _mono(math.log)(lo, hi) if lo >= 0.25 else None, "lose"),
    "sqrt": ("gc.sqrt(gc.square({}) + 0.5)",
             lambda lo, hi: _mono(math.sqrt)(*[s + 0.5 for s in _square(lo, hi)]), "lose"),
    "log1p": ("gc.log1p(gc.square({}))", lambda lo, hi: _mono(math.log1p)(*_square(lo, hi)), "lose"),
    "power": ("gc.power(gc.square({}) + 0.5, 1.5)", lambda lo, hi: _mono(lambda s: (s + 0.5) ** 1.5)(*_square(lo, hi)),
              "lose"),
    "pow": ("{} ** 2", _square, "lose"),
    "negative": ("-{}", lambda lo, hi: (-hi, -lo), "keep"),
    "abs": ("gc.abs({})", lambda lo, hi: (_square(lo, hi)[0] ** 0.5, max(-lo, hi)), "keep"),
    "relu": ("gc.relu({})", lambda lo, hi: (max(lo, 0.0), max(hi, 0.0)), "keep"),
    "clip": ("gc.clip({}, -1.5, 1.0)", lambda lo, hi: (min(max(lo, -1.5), 1.0), min(max(hi, -1.5), 1.0)), "keep"),
    "tan": ("gc.tan({})", _within(math.tan, -1.3, 1.3), "lose"),
    "tan~": ("gc.tan(gc.tanh({}) * 1.3)", _mono(lambda x: math.tan(1.3 * math.tanh(x))), "lose"),
    "asin": ("gc.asin(0.9 * gc.tanh({}))", _squashed(math.asin), "lose"),
    "acos": ("gc.acos(0.9 * gc.tanh({}))", lambda lo, hi: _squashed(math.acos)(hi, lo), "lose"),
    "atan": ("gc.atan({})", _mono(math.atan), "lose"),
    "sinh": ("gc.sinh({})", _within(math.sinh, -6, 6), "lose"),
    "cosh": ("gc.cosh({})", _cosh, "lose"),
    "asinh": ("gc.asinh({})", _mono(math.asinh), "lose"),
    "acosh": ("gc.acosh(gc.square({}) + 1.25)", _shifted_square(1.25, math.acosh), "lose"),
    "atanh": ("gc.atanh(0.9 * gc.tanh({}))", _squashed(math.atanh), "lose"),
    "reciprocal": ("gc.reciprocal(gc.square({}) + 0.5)",
                   lambda lo, hi: _shifted_square(0.5, lambda s: 1 / s)(lo, hi)[::-1], "lose"),
    "floor": ("gc.floor({})", _mono(math.floor), "need"),
    "ceil": ("gc.ceil({})", _mono(math.ceil), "need"),
    "round": ("gc.round({})", _mono(round), "need"),  # Python's round is half to even too
    "trunc": ("gc.trunc({})", _mono(math.trunc), "need"),
    "sign": ("gc.sign({})", lambda lo, hi: (-1.0, 1.0), "need"),
}


def unary(g: Gen) -> Line | None:
    name = g.choice(list(UNARY))
    template, rule, exactness = UNARY[name]
    scalars = f"{name}-scalar" not in g.exclude
    x = g.operand(lambda v: v.t.dtype != "bool" and (exactness == "need") <= v.exact and (scalars or v.t.ndim > 0))
    v = g.vals[x]
    bounds = rule(v.lo, v.hi)
    if bounds is None:
        return None
    bits = 0 if template.startswith(("gc.floor", "gc.sign", "gc.ceil", "gc.round", "gc.trunc")) else \
        (v.bits if exactness != "lose" and v.exact else None)
    return (template.format(x), *bounds, bits)


BINARY = ("{} + {}", "{} - {}", "{} * {}", "gc.maximum({}, {})", "gc.minimum({}, {})", "gc.divide({}, {})",
          "gc.atan2({}, {})")


def binary(g: Gen) -> Line | None:
    op = g.choice(BINARY)
    a = g.operand()
    b = g.partner(a)
    va, vb = g.vals[a], g.vals[b]
    if ("maximum" in op or "minimum" in op) and not (va.exact and vb.exact):
        op = "{} + {}"  # which operand wins is a discontinuity: exact values only (as for max in `reduce`)
    if op == "gc.atan2({}, {})":  # x > 0: no branch cut, no singular point
        return (f"gc.atan2({a}, gc.square({b}) + 0.5)", -math.pi / 2, math.pi / 2, None)
    if op == "gc.divide({}, {})":
        if vb.lo <= 0.25 and vb.hi >= -0.25:   # keep the denominator away from 0
            lo, hi = _square(vb.lo, vb.hi)
            b, vb = f"(gc.square({b}) + 0.5)", Val(vb.t, lo + 0.5, hi + 0.5, None)
        q = [x / y for x in (va.lo, va.hi) for y in (vb.lo, vb.hi)]
        return (op.format(a, b), *hull(*q), None)
    if op == "{} * {}":
        p = [x * y for x in (va.lo, va.hi) for y in (vb.lo, vb.hi)]
        bits = None if exact_bits(va, vb) is None else va.bits + vb.bits
        return (op.format(a, b), *hull(*p), bits)
    if op == "{} + {}":
        lo, hi = va.lo + vb.lo, va.hi + vb.hi
    elif op == "{} - {}":
        lo, hi = va.lo - vb.hi, va.hi - vb.lo
    elif "maximum" in op:
        lo, hi = max(va.lo, vb.lo), max(va.hi, vb.hi)
    else:
        lo, hi = min(va.lo, vb.lo), min(va.hi, vb.hi)
    return (op.format(a, b), lo, hi, exact_bits(va, vb))


def scalar(g: Gen) -> Line | None:
    """An op with a Python scalar, which is weakly typed (an int tensor times 1.5 is float32)."""
    x = g.operand(lambda v: v.t.dtype != "bool")
    v = g.vals[x]
    c = g.choice([0.5, -1.5, 2, 3, 0.25, -1])
    cbits = {0.5: 1, -1.5: 1, 0.25: 2}.get(c, 0)
    form = g.choice(["{} * {}", "{} + {}", "{} - {}", "{1} - {0}"])
    if form == "{} * {}":
        lo, hi = hull(v.lo * c, v.hi * c)
        bits = None if v.bits is None else v.bits + cbits
    elif form == "{} + {}":
        lo, hi, bits = v.lo + c, v.hi + c, None if v.bits is None else max(v.bits, cbits)
    elif form == "{} - {}":
        lo, hi, bits = v.lo - c, v.hi - c, None if v.bits is None else max(v.bits, cbits)
    else:
        lo, hi, bits = c - v.hi, c - v.lo, None if v.bits is None else max(v.bits, cbits)
    return (form.format(x, c), lo, hi, bits)


def compare(g: Gen) -> Line | None:
    """Comparisons and logic on exact values, and where."""
    kind = g.choice(["compare", "logical", "not", "where", "classify"])
    if kind == "classify":
        a = g.operand(is_float)
        return (f"{g.choice(['gc.isnan', 'gc.isinf'])}({a})", 0.0, 0.0, 0)
    if kind == "compare":
        a = g.operand(lambda v: v.exact)
        b = g.partner(a, lambda v: v.exact)
        op = g.choice(["gc.less", "gc.greater_equal", "gc.equal", "gc.not_equal", "gc.greater", "gc.less_equal"])
        return (f"{op}({a}, {b})", 0.0, 1.0, 0)
    if kind in ("logical", "not"):
        a = g.operand(lambda v: v.t.dtype == "bool", dtype="bool")
        if kind == "not":
            return (f"gc.logical_not({a})", 0.0, 1.0, 0)
        b = g.partner(a, lambda v: v.t.dtype == "bool", dtype="bool")
        return (f"{g.choice(['gc.logical_and', 'gc.logical_or'])}({a}, {b})", 0.0, 1.0, 0)
    c = g.operand(lambda v: v.t.dtype == "bool", dtype="bool")
    a = g.partner(c)
    b = g.partner(a)
    va, vb = g.vals[a], g.vals[b]
    return (f"gc.where({c}, {a}, {b})", min(va.lo, vb.lo), max(va.hi, vb.hi), exact_bits(va, vb))


def cast(g: Gen) -> Line | None:
    """A cast to any dtype, of values the target holds (out of range, casts saturate: tests/test_dtypes.py)."""
    to = g.choice(gc.DTYPES)
    x = g.operand(lambda v: v.exact or (is_float(v) and gc.ir.is_float(to)))
    v = g.vals[x]
    if to == "bool":
        return (f'gc.cast({x}, "bool")', 0.0, 1.0, 0)
    if gc.ir.is_int(to):
        lo, hi = float(math.trunc(v.lo)), float(math.trunc(v.hi))
        return (f'gc.cast({x}, "{to}")', lo, hi, 0) if fits(to, lo, hi) else None
    return (f'gc.cast({x}, "{to}")', v.lo, v.hi, v.bits if v.exact else None)


def _magnitude_bits(v: Val) -> int:
    """m with every value of v in [-2**m, 2**m)."""
    return int(max(abs(v.lo), abs(v.hi) + 1)).bit_length()


def integer(g: Gen) -> Line | None:
    """floor_divide, mod and fmod (ints, and exact floats: all are discontinuous), bit ops and shifts on
    ints."""
    kind = g.choice(["mod", "fmod", "mod-tensor", "floordiv", "bitwise", "not", "shift"])
    if kind == "floordiv":   # by a constant: the quotient of exact values is exact or rounds the same
        a = g.operand(lambda v: v.t.dtype != "bool" and v.exact)
        va = g.vals[a]
        k = g.choice([2, 4, 3, -2] if not va.t.dtype.startswith("uint") else [2, 3, 4])
        q = [math.floor(va.lo / k), math.floor(va.hi / k)]
        return (f"{a} // {k}", float(min(q)), float(max(q)), 0)
    if kind.startswith(("mod", "fmod")):
        a = g.operand(lambda v: v.t.dtype != "bool" and v.exact)
        va = g.vals[a]
        if kind == "mod-tensor":   # a divisor >= 1 of a's kind
            b = g.partner(a, lambda v: v.t.dtype != "bool" and v.exact and v.lo >= 0 and is_float(v) == is_float(va))
            k = g.vals[b].hi + 1
            return (f"gc.mod({a}, {b} + 1)", 0.0, k, exact_bits(va, g.vals[b]))
        k = g.choice([2, 3, 5, -3] if not va.t.dtype.startswith("uint") else [2, 3, 5])
        if kind == "mod":
            return (f"gc.mod({a}, {k})", *hull(0.0, k), va.bits)
        return (f"gc.fmod({a}, {k})", max(min(va.lo, 0.0), -abs(k)), min(max(va.hi, 0.0), abs(k)), va.bits)
    a = g.operand(lambda v: gc.ir.is_int(v.t.dtype))
    va = g.vals[a]
    if kind == "not":
        return (f"gc.bitwise_not({a})", -va.hi - 1, -va.lo - 1, 0)
    if kind == "shift":
        n = g.choice([0, 1, 2, 3, gc.ir.dtypes.bits(va.t.dtype), 70])
        width = gc.ir.dtypes.bits(va.t.dtype)
        if g.chance(0.5):
            return (f"gc.left_shift({a}, {n})", *((va.lo * 2 ** n, va.hi * 2 ** n) if n < width else (0.0, 0.0)), 0)
        if n >= width:
            return (f"gc.right_shift({a}, {n})", -1.0 if va.lo < 0 else 0.0, 0.0, 0)
        return (f"gc.right_shift({a}, {n})", float(math.floor(va.lo / 2 ** n)), float(math.floor(va.hi / 2 ** n)), 0)
    b = g.partner(a, lambda v: gc.ir.is_int(v.t.dtype))
    m = max(_magnitude_bits(va), _magnitude_bits(g.vals[b]))
    op = g.choice(["gc.bitwise_and", "gc.bitwise_or", "gc.bitwise_xor", "{} & {}", "{} | {}", "{} ^ {}"])
    expr = op.format(a, b) if "{}" in op else f"{op}({a}, {b})"
    return (expr, -(2.0 ** m), 2.0 ** m - 1, 0)


REDUCTIONS = ("sum", "mean", "max", "min", "prod", "var", "std", "logsumexp", "argmax", "argmin")


def reduce(g: Gen) -> Line | None:
    op = g.choice(REDUCTIONS)
    # which element wins a max or min is a discontinuity: values that are equal in exact arithmetic
    # (BCE at x and -x) round apart differently per backend, so these reduce exact values only
    x = g.operand(lambda v: v.t.ndim > 0 and (op not in ("argmax", "argmin", "max", "min") or v.exact))
    v = g.vals[x]
    nd = v.t.ndim
    if op in ("argmax", "argmin"):
        axis = None if g.chance(0.3) else int(g.rng.integers(-nd, nd))
        n = free_size(v.t.shape if axis is None else (v.t.shape[axis],))
        keep = "" if axis is None or g.chance(0.6) else ", keepdims=True"
        return (f"gc.{op}({x}, axis={axis}{keep})", 0.0, float(max(n - 1, 0)), 0)
    r = g.rng.random()
    if r < 0.25:
        axis, axes = "None", tuple(range(nd))
    elif r < 0.55:
        a = int(g.rng.integers(-nd, nd))
        axis, axes = str(a), (a % nd,)
    else:
        axes = tuple(sorted(int(a) for a in g.rng.choice(nd, size=int(g.rng.integers(0, nd + 1)), replace=False)))
        axis = repr(axes)
    n = free_size(v.t.shape[a] for a in axes)
    keep = ", keepdims=True" if g.chance(0.4) else ""
    bits = v.bits if v.exact else None
    bounds = {
        "sum": (min(0.0, n * v.lo), max(0.0, n * v.hi), bits),
        "mean": (v.lo, v.hi, None),
        "max": (v.lo, v.hi, bits), "min": (v.lo, v.hi, bits),
        "prod": (-max(v.mag, 1.0) ** n, max(v.mag, 1.0) ** n, None if bits is None else bits * n),
        "var": (0.0, (v.hi - v.lo) ** 2, None), "std": (0.0, v.hi - v.lo, None),
        "logsumexp": (v.lo, v.hi + math.log(max(n, 1)), None),
    }[op]
    return (f"gc.{op}({x}, axis={axis}{keep})", *bounds)


def softmax(g: Gen) -> Line | None:
    x = g.operand(lambda v: is_float(v) and v.t.ndim > 0, dtype=g.fdt)
    v = g.vals[x]
    axis = int(g.rng.integers(-v.t.ndim, v.t.ndim))
    n = free_size((v.t.shape[axis],))
    if not g.allows((v.t.shape[axis],), "softmax"):
        return None
    if g.chance(0.5):
        return (f"gc.softmax({x}, axis={axis})", 0.0, 1.0, None)
    return (f"gc.log_softmax({x}, axis={axis})", v.lo - v.hi - math.log(max(n, 1)), 0.0, None)


def _keep(v: Val, expr: str) -> Line:
    """A line that moves `v`'s elements around: same interval and exactness."""
    return (expr, v.lo, v.hi, v.bits if v.exact else None)


def reshape(g: Gen) -> Line | None:
    x = g.operand()
    v = g.vals[x]
    s, nd = v.t.shape, v.t.ndim
    kind = g.choice(["reshape", "transpose", "swapaxes", "expand_dims", "squeeze", "broadcast_to", "flatten"])
    if kind == "reshape":
        if None in s:
            return _keep(v, f"gc.reshape({x}, (-1,))")
        total = free_size(s)
        dims = [total] if total else [0, int(g.rng.integers(1, 3))]
        for _ in range(int(g.rng.integers(0, 2))):
            f = next((k for k in (2, 3) if dims[0] and dims[0] % k == 0), None)
            if f:
                dims = [dims[0] // f, f] + dims[1:]
        order = list(g.rng.permutation(len(dims)))
        shape = tuple(dims[i] for i in order)
        if g.chance(0.3) and total:
            shape = (-1,) + shape[1:]
        return _keep(v, f"gc.reshape({x}, {shape!r})")
    if kind in ("transpose", "swapaxes") and nd < 2:
        return None
    if kind == "transpose":
        return _keep(v, f"gc.transpose({x}, {tuple(int(i) for i in g.rng.permutation(nd))!r})")
    if kind == "swapaxes":
        a, b = (int(i) for i in g.rng.choice(nd, 2, replace=False))
        return _keep(v, f"gc.swapaxes({x}, {a}, {b})")
    if kind == "expand_dims":
        return _keep(v, f"gc.expand_dims({x}, {int(g.rng.integers(-nd - 1, nd + 1))})")
    if kind == "squeeze":
        ones = [i for i, d in enumerate(s) if d == 1]
        return _keep(v, f"gc.squeeze({x}, {g.choice(ones)})") if ones else None
    if kind == "flatten":
        return _keep(v, f"gc.flatten({x})")
    if None in s:
        return None
    shape = tuple(g.choice([2, 3]) if d == 1 and g.chance(0.6) else d for d in s)
    return _keep(v, f"gc.broadcast_to({x}, {(g.choice([1, 2]),) * g.chance(0.5) + shape!r})")


def _slice(g: Gen, d: int | None) -> str:
    """A slice of a dim of size d (with "index-empty" excluded, one that keeps every non-empty dim so)."""
    if "index-empty" in g.exclude:
        return g.choice([":", "::-1"]) if not d else f"{int(g.rng.integers(d))}::{g.choice([1, -1])}"
    if d is None:
        return g.choice([":", "1:", "::-1", ":1"])
    start, stop = (int(i) for i in g.rng.integers(-d - 1, d + 2, 2))
    step = g.choice([1, 1, 2, -1, -2])
    return f"{start}:{stop}:{step}"


def index(g: Gen) -> Line | None:
    kind = g.choice(["getitem", "getitem", "slice_axis", "take", "one_hot"])
    if kind == "one_hot":
        depth = int(g.rng.integers(1, 5))
        i = g.operand(lambda v: gc.ir.is_int(v.t.dtype) and v.lo >= 0 and v.hi < depth,
                      dtype=g.choice(["int32", "int64"]))
        return (f"gc.one_hot({i}, {depth}, {g.choice(['float32', 'float64', 'int32'])!r})", 0.0, 1.0, 0)
    x = g.operand(lambda v: v.t.ndim > 0)
    v = g.vals[x]
    s, nd = v.t.shape, v.t.ndim
    if kind == "getitem":
        items = []
        for d in s[: int(g.rng.integers(1, nd + 1))]:
            items.append(str(int(g.rng.integers(-d, d))) if d and g.chance(0.25) else _slice(g, d))
        return _keep(v, f"{x}[{', '.join(items)}]")
    axis = int(g.rng.integers(nd))
    d = s[axis]
    if kind == "slice_axis":
        if d is None:
            return None
        start, stop = sorted(int(i) for i in g.rng.integers(0, d + 1, 2))
        if "index-empty" in g.exclude and start == stop:
            return None
        return _keep(v, f"gc.slice_axis({x}, {axis}, {start}, {stop}, {g.choice([1, 2])})")
    if not d:
        return None
    high = d if g.chance(0.03) else d - 1       # now and then an index out of range, deliberately
    i = g.fresh(g.shape(int(g.rng.integers(0, 3))), g.choice(["int32", "int64"]), 0, high)
    if axis == 0 and g.chance(0.3):
        return _keep(v, f"{x}[{i}]")
    return _keep(v, f"gc.take({x}, {i}, axis={axis})")


def join(g: Gen) -> Line | None:
    a = g.operand(lambda v: v.t.ndim > 0)
    va = g.vals[a]
    s = va.t.shape
    stack = g.chance(0.3)
    axis = int(g.rng.integers(-len(s) - stack, len(s) + stack))
    if stack:
        want = lambda v: v.t.shape == s  # noqa: E731
        like = s
    else:
        k = axis % len(s)
        want = lambda v: v.t.ndim == len(s) and all(x == y for i, (x, y) in enumerate(zip(v.t.shape, s)) if i != k)  # noqa: E731
        like = s[:k] + (g.choice([0, 1, 2]),) + s[k + 1:]
    b = g.pick(want) if g.chance(0.6) else None
    b = b or g.fresh(like, va.t.dtype)
    vb = g.vals[b]
    op = "stack" if stack else "concatenate"
    return (f"gc.{op}([{a}, {b}], axis={axis})", min(va.lo, vb.lo), max(va.hi, vb.hi), exact_bits(va, vb))


def matmul(g: Gen) -> Line | None:
    a = g.operand(lambda v: v.t.ndim > 0 and v.t.dtype != "bool")
    va = g.vals[a]
    s = va.t.shape
    k, n = s[-1], g.choice([1, 2, 3, 0])
    if len(s) == 1 or g.chance(0.5):
        shape = (k, n) if g.chance(0.8) else (k,)
    else:
        shape = tuple(d if g.chance(0.6) else 1 for d in s[:-2]) + (k, n)
    b = g.fresh(shape, va.t.dtype if g.chance(0.8) else g.fdt)
    vb = g.vals[b]
    p = [x * y for x in (va.lo, va.hi) for y in (vb.lo, vb.hi)]
    terms = free_size((k,))
    bits = None if exact_bits(va, vb) is None else va.bits + vb.bits
    form = g.choice(["{} @ {}", "gc.matmul({}, {})", "gc.dot({}, {})"])
    return (form.format(a, b), terms * min(0.0, *p), terms * max(0.0, *p), bits)


def _per_axis(g: Gen, rank: int, values: Sequence[int]) -> tuple[int, ...]:
    """One size for every spatial axis (often), or one each."""
    if g.chance(0.6):
        return (g.choice(values),) * rank
    return tuple(g.choice(values) for _ in range(rank))


def _spec(sizes: tuple[int, ...]) -> str:
    """sizes as an argument: one int where they agree."""
    return str(sizes[0]) if len(set(sizes)) == 1 else str(sizes)


def _pads(g: Gen, most: tuple[int, ...]) -> str:
    """A padding argument: an int, or a (low, high) pair per axis, each side at most `most` on its axis."""
    if g.chance(0.4):
        return str(int(g.rng.integers(0, min(most) + 1)))
    return str(tuple((int(g.rng.integers(0, m + 1)), int(g.rng.integers(0, m + 1))) for m in most))


def conv(g: Gen) -> Line | None:
    """Convolutions, transposed convolutions, pools and im2col/col2im over 1 to 3 spatial axes, with strides,
    dilations, asymmetric padding (past half the kernel where it cannot leave a window empty), ceil_mode."""
    kind = g.choice(["conv", "conv", "conv_transpose", "max_pool", "avg_pool", "im2col", "fold",
                     "global_avg_pool2d"])
    rank = 2 if kind == "global_avg_pool2d" else g.choice([1, 2, 2, 3])
    batch = None if g.free and g.chance(0.4) and kind not in ("conv_transpose", "fold") else g.choice([1, 2])
    like = (batch, g.choice([1, 2, 3])) + tuple(g.choice([1, 2, 3, 4, 5]) for _ in range(rank))
    x = g.operand(lambda v: is_float(v) and v.t.ndim == rank + 2 and None not in v.t.shape[1:]
                  and 0 not in v.t.shape[1:], dtype=g.fdt, shape=like)
    v = g.vals[x]
    c = v.t.shape[1]
    k = _per_axis(g, rank, [1, 2, 3])
    stride = _per_axis(g, rank, [1, 2])
    if kind == "global_avg_pool2d":
        return (f"gc.global_avg_pool2d({x})", v.lo, v.hi, None)
    ceil = g.chance(0.3)
    if kind in ("max_pool", "avg_pool"):
        include = kind == "avg_pool" and g.chance(0.5)
        dilation = _per_axis(g, rank, [1, 2]) if include or g.chance(0.5) else (1,) * rank
        # no window may hold only padding: sides below the kernel at dilation 1 (a dilated max pool unpadded)
        most = k if include else tuple(0 if d > 1 else n - 1 for n, d in zip(k, dilation))
        opts = f"stride={_spec(stride)}, padding={_pads(g, most)}, dilation={_spec(dilation)}, ceil_mode={ceil}"
        if kind == "avg_pool":
            opts += f", count_include_pad={include}"
        exact = kind == "max_pool" and v.exact
        return (f"gc.{kind}{rank}d({x}, {_spec(k)}, {opts})", min(v.lo, 0.0), max(v.hi, 0.0),
                v.bits if exact else None)
    dilation = _per_axis(g, rank, [1, 2])
    window = f"{_spec(k)}, {_spec(stride)}, {_pads(g, k)}, {_spec(dilation)}"
    if kind == "im2col":
        return (f"gc.im2col({x}, {window})", min(v.lo, 0.0), max(v.hi, 0.0), v.bits if v.exact else None)
    if kind == "fold":
        terms = int(np.prod(k))
        spatial = tuple(v.t.shape[2:])
        return (f"gc.col2im(gc.im2col({x}, {window}), {spatial}, {window})", -v.mag * terms, v.mag * terms, None)
    groups = c if c > 1 and g.chance(0.3) else 1
    out = groups * g.choice([1, 2])
    if kind == "conv_transpose":
        w = g.fresh((c, out // groups) + k, v.t.dtype)
        extra = tuple(g.choice(range(max(s, d))) for s, d in zip(stride, dilation))
        opts = f"{_spec(stride)}, {_spec(tuple(n // 2 for n in k))}, {_spec(extra)}, {groups}, {_spec(dilation)}"
        line = f"gc.conv_transpose{rank}d({x}, {w}, {opts})"
        terms = (c // groups) * int(np.prod(k))
    else:
        w = g.fresh((out, c // groups) + k, v.t.dtype)
        opts = [f"stride={_spec(stride)}", f"padding={g.choice([_pads(g, k), PAD_SAME])}",
                f"dilation={_spec(dilation)}"]
        opts = [o for o in opts if g.chance(0.4)] + ([f"groups={groups}"] if groups > 1 else [])
        line = f"gc.conv{rank}d({x}, {w}{''.join(', ' + o for o in opts)})"
        terms = (c // groups) * int(np.prod(k))
    m = v.mag * g.vals[w].mag * terms
    bits = None if exact_bits(v, g.vals[w]) is None else v.bits + g.vals[w].bits
    return (line, -m, m, bits)


PAD_SAME = '"same"'


def scan(g: Gen) -> Line | None:
    """gc.scan over a fresh sequence, with the step bodies of small RNNs (one carry or two, as an LSTM)."""
    init = g.operand(lambda v: is_float(v) and v.t.ndim <= 2 and v.mag <= 10 and g.allows(v.t.shape, "scan"),
                     dtype=g.fdt)
    v = g.vals[init]
    steps = g.choice([1, 2, 3])
    rev = ", reverse=True" if g.chance(0.3) else ""
    body = g.choice(["tanh", "gate", "sin", "pair"])
    if body == "sin":
        return (f"gc.scan(lambda c: gc.sin(c) * 1.5, {init}, length={steps})", -1.5, 1.5, None)
    if body == "pair" and v.t.ndim == 0:
        return None
    seq = g.fresh((steps,) + v.t.shape, v.t.dtype, -1.0, 1.0)
    if body == "tanh":
        w = g.pick(lambda u: is_float(u) and u.mag <= 10 and _fits_carry(u, v)) or "0.5"
        return (f"gc.scan(lambda c, s: gc.tanh(c * {w} + s), {init}, xs=[{seq}]{rev})", -1.0, 1.0, None)
    if body == "gate":
        return (f"gc.scan(lambda c, s: c * gc.sigmoid(s) + 0.5, {init}, xs=[{seq}]{rev})",
                -v.mag - 0.5 * steps, v.mag + 0.5 * steps, None)
    return (f"gc.scan(lambda cs, s: [gc.tanh(cs[0] + cs[1] * s), cs[1] * gc.sigmoid(s)], [{init}, {init} * 0.5], "
            f"xs=[{seq}]{rev})[0]", -1.0, 1.0, None)


def _fits_carry(u: Val, carry: Val) -> bool:
    """`u` can multiply the carry without changing its shape."""
    return u.t.ndim <= carry.t.ndim and all(a == b or a == 1 for a, b in zip(reversed(u.t.shape),
                                                                              reversed(carry.t.shape)))


def loss(g: Gen) -> Line | None:
    a = g.operand(is_float, dtype=g.fdt)
    b = g.partner(a, is_float)
    if g.chance(0.5) or g.vals[a].t.ndim == 0:
        return (f"gc.binary_cross_entropy(gc.sigmoid(gc.tanh({a}) * 3), gc.sigmoid({b}))", 0.0, 4.0, None)
    v = g.vals[a]
    n = free_size(v.t.shape[-1:])
    if not g.allows(v.t.shape[-1:] + g.vals[b].t.shape[-1:], "softmax"):
        return None
    return (f"gc.softmax_cross_entropy({a}, gc.softmax({b}))", 0.0, v.hi - v.lo + math.log(max(n, 1)) + 1, None)


#: (name, family, weight): the names are what --exclude takes.
FAMILIES = [
    ("unary", unary, 5.0), ("binary", binary, 5.0), ("scalar", scalar, 2.0), ("compare", compare, 3.0),
    ("cast", cast, 1.0), ("integer", integer, 1.5), ("reduce", reduce, 4.0), ("softmax", softmax, 2.0),
    ("reshape", reshape, 3.0),
    ("index", index, 3.0), ("join", join, 2.0), ("matmul", matmul, 2.0), ("conv", conv, 1.5),
    ("scan", scan, 1.0), ("loss", loss, 0.7),
]
