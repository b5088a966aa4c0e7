"""An elementwise op is one definition: defined outside graphc, it differentiates and compiles natively.

The ops here live in this test module, not in graphc: `define` is the whole contract. Softsign is a
plain SymPy expression of primitives; mish's stable form is an `Opaque` function whose expansion uses
another (softplus), which no code generator has heard of. Every backend must agree with NumPy's closed
forms, and the compiled backends must run the op's kernels natively: a kernel the printers could not
emit would run through the NumPy callback and be listed in `lowered.fallbacks`, failing these tests.
"""
import numpy as np
import pytest
import sympy as sp

import graphc as gc
from conftest import tol
from graphc.ir.node import Op
from graphc.ops import elementwise as ew
from graphc.ops import scalar as S
from graphc.ops.elementwise import FLOAT, TRANSCENDENTAL, apply, define

SOFTSIGN = define("softsign", 1, lambda x: x / (1 + np.abs(x)), lambda x: x / (1 + sp.Abs(x)), kind=FLOAT)


class mish_stable(S.Opaque):  # noqa: N801 - a SymPy function name
    """x tanh(softplus(x)), softplus written stably: kernels compute this, never log(1 + exp(x))."""

    nargs = 1

    @staticmethod
    def expansion(x):
        return x * sp.tanh(S.softplus(x))


def _np_mish(x):
    return x * np.tanh(np.logaddexp(0, x))


MISH = define("mish", 1, _np_mish, lambda x: x * sp.tanh(sp.log(1 + sp.exp(x))), kernel=mish_stable, kind=FLOAT,
              cost=TRANSCENDENTAL)


def _np_mish_slope(x):
    sp_ = np.logaddexp(0, x)
    return np.tanh(sp_) + x * (1 - np.tanh(sp_) ** 2) / (1 + np.exp(-x))


#: op -> (closed form, its derivative)
CASES = {
    "softsign": (SOFTSIGN, lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2),
    "mish": (MISH, _np_mish, _np_mish_slope),
}
EVERY = ["numpy", "numpy-kernels", "llvm", "llvm-checked", "cuda-emulate"]


def _native(fn) -> dict:
    """The kernels of fn's last variant that run through the NumPy callback instead of native code."""
    return fn.variant().executable.lowered.fallbacks


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(CASES))
def test_an_op_defined_outside_graphc_runs_and_differentiates_on(case, dtype, backend):
    op, value, slope = CASES[case]
    xv = np.linspace(-6, 6, 37).astype(dtype)
    x = gc.placeholder(xv.shape, dtype, name="x")
    y = apply(op, x) * 2.0 + 1.0  # fused with its neighbours
    f = gc.function([x], [y, gc.grad(gc.sum(y), x)], backend=backend)
    got, got_slope = f(xv)
    np.testing.assert_allclose(got, value(xv.astype(np.float64)) * 2 + 1, **tol(backend, dtype))
    np.testing.assert_allclose(got_slope, slope(xv.astype(np.float64)) * 2, **tol(backend, dtype))
    if backend not in ("numpy", "numpy-kernels"):
        assert _native(f) == {}


def test_a_kernel_the_printers_cannot_emit_is_reported_as_a_fallback():
    """The check above can fail: an opaque function whose expansion holds a non-primitive (sec) runs
    through the NumPy callback on llvm, and `lowered.fallbacks` names why."""

    class sec_opaque(S.Opaque):  # noqa: N801
        nargs = 1

        @staticmethod
        def expansion(x):
            return sp.sec(x)

    assert S.unknown(sec_opaque(sp.Symbol("x"))) == {sp.sec}
    op = define("sec_like", 1, lambda a: 1 / np.cos(a), sp.sec, kernel=sec_opaque, kind=FLOAT)
    x = gc.placeholder((4,), "float64", name="x")
    f = gc.function([x], apply(op, x) + 1.0, backend="llvm")
    np.testing.assert_allclose(f(np.arange(4.0)), 1 / np.cos(np.arange(4.0)) + 1)
    assert "sec" in " ".join(_native(f).values())


def test_every_graphc_elementwise_kernel_is_written_in_primitives():
    """What the printers implement is the closed set `scalar.PRIMITIVES` (plus opaque expansions)."""
    xs = sp.symbols("a b c", real=True)
    ops = [v for v in vars(ew).values() if isinstance(v, ew.Elementwise)]
    assert len(ops) > 30
    for op in ops:
        assert S.unknown(op.kernel_body(*xs[:op.arity])) == set(), op.name


def test_op_classes_have_real_names_exposed_by_the_module():
    """`greater_equal` is the class GreaterEqual of graphc.ops.elementwise, reachable under that name,
    so rules key on `ew.GreaterEqual`; a class defined elsewhere says where it was defined."""
    for op in [v for v in vars(ew).values() if isinstance(v, ew.Elementwise)]:
        cls = type(op)
        assert cls.__name__ == cls.__qualname__ == "".join(p.capitalize() for p in op.name.split("_")), op.name
        assert cls.__module__ == "graphc.ops.elementwise" and getattr(ew, cls.__name__) is cls, op.name
    assert type(ew.GREATER_EQUAL).__name__ == "GreaterEqual" and ew.LogicalAnd is type(ew.AND)
    assert type(SOFTSIGN).__name__ == "Softsign" and type(SOFTSIGN).__module__ == __name__


def test_cost_says_what_a_loop_pays_to_recompute():
    assert Op.cost is None  # ops that are never recomputed
    assert ew.ADD.cost == ew.WHERE.cost == 1
    assert {op.name for op in vars(ew).values() if isinstance(op, ew.Elementwise) and op.cost > 1} == {
        "sigmoid", "tanh", "exp", "expm1", "log", "log1p", "softplus", "erf", "sin", "cos", "tan", "asin", "acos",
        "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh"}
    assert MISH.cost == TRANSCENDENTAL


def test_opaque_functions_are_not_simplified_through():
    """SymPy never evaluates an opaque call, so fusion cannot rewrite the stable form into the plain one."""
    x = sp.Symbol("x", real=True)
    assert S.sigmoid(x) - S.sigmoid(x) == 0  # same call: still cancels exactly
    body = S.softplus(sp.log(x))
    assert isinstance(body, S.softplus) and body.args == (sp.log(x),)
    assert S.softplus(x).expanded() == sp.Max(x, 0) + S.log1p(sp.exp(-sp.Abs(x)))


def _opaque(name: str, expansion) -> type:
    """An Opaque subclass named `name` (as a user's module would define it)."""
    return type(name, (S.Opaque,), {"nargs": 1, "expansion": staticmethod(expansion)})


def test_the_compile_caches_key_what_a_users_op_computes():
    """graphc's source is in the caches' keys, a user's is not: two functions named alike with different
    expansions get different IR keys, and a graph holding an op class defined outside graphc is not
    step-cached (its key would not change with the op's code)."""
    from graphc.backends.llvm import ircache, stepcache
    x = gc.placeholder((4,), "float64", name="x")
    keys = []
    for expansion in (lambda v: v * 2, lambda v: v * 3):
        op = define("twice", 1, lambda a: a * 2, lambda a: a * 2, kernel=_opaque("twice", expansion), kind=FLOAT)
        keys.append(ircache.fingerprint(gc.function([x], apply(op, x) + 1.0).kernel_program(), 64))
    assert None not in keys and keys[0] != keys[1]
    user = gc.function([x], apply(SOFTSIGN, x) + 1.0)
    builtin = gc.function([x], gc.tanh(x) + 1.0)
    assert stepcache.graph_key(user.specialize((x.shape,)), "O2") is None
    assert stepcache.graph_key(builtin.specialize((x.shape,)), "O2") is not None
