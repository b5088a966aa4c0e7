"""Randomly composed expressions: values against NumPy, gradients against finite differences.

Each test runs per backend; LLVM compiles cost more than NumPy interpretation, so it draws fewer examples.
"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc as gc
from graphc.testing import check_grad

# (graphc, numpy) pairs that are smooth and finite on all reals (exp is tamed by tanh first).
UNARY = {
    "sin": (gc.sin, np.sin), "cos": (gc.cos, np.cos), "tanh": (gc.tanh, np.tanh),
    "sigmoid": (gc.sigmoid, lambda x: 1 / (1 + np.exp(-x))), "softplus": (gc.softplus, lambda x: np.logaddexp(0, x)),
    "square": (gc.square, np.square), "exp_tanh": (lambda x: gc.exp(gc.tanh(x)), lambda x: np.exp(np.tanh(x))),
    "neg": (gc.negative, np.negative), "sum_keep": (lambda x: gc.sum(x, axis=-1, keepdims=True),
                                                    lambda x: np.sum(x, axis=-1, keepdims=True)),
    "softmax": (lambda x: gc.softmax(x, -1), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    "T": (lambda x: x.T, lambda x: x.T),
}
BINARY = {
    "add": (gc.add, np.add), "sub": (gc.subtract, np.subtract), "mul": (gc.multiply, np.multiply),
    "div_safe": (lambda a, b: a / (1.0 + b * b), lambda a, b: a / (1.0 + b * b)),
}
LEAVES = ["x", "y", "c"]
#: backend -> (examples for values, examples for gradients)
EXAMPLES = {"numpy": (60, 40), "llvm": (30, 20), "llvm-checked": (30, 20), "cuda-host": (30, 20)}


def expressions():
    leaf = st.sampled_from(LEAVES)
    return st.recursive(
        leaf,
        lambda sub: st.one_of(st.tuples(st.sampled_from(sorted(UNARY)), sub),
                              st.tuples(st.sampled_from(sorted(BINARY)), sub, sub)),
        max_leaves=8)


def build(expr, env, table_index):
    if isinstance(expr, str):
        return env[expr]
    op, *args = expr
    fn = (UNARY if len(args) == 1 else BINARY)[op][table_index]
    return fn(*[build(a, env, table_index) for a in args])


def arrays(rng):
    # x is (3, 3), y broadcasts as a row, c is a constant column: transposes keep shapes compatible.
    return rng.standard_normal((3, 3)), rng.standard_normal((3,)), rng.standard_normal((3, 1))


def test_random_expressions_match_numpy(backend):
    @settings(max_examples=EXAMPLES[backend][0], deadline=None)
    @given(expressions(), st.integers(0, 2**31 - 1))
    def check(expr, seed):
        xv, yv, cv = arrays(np.random.default_rng(seed))
        x, y = gc.placeholder((3, 3), "float64", "x"), gc.placeholder((3,), "float64", "y")
        out = build(expr, {"x": x, "y": y, "c": gc.constant(cv)}, 0)
        want = build(expr, {"x": xv, "y": yv, "c": cv}, 1)
        np.testing.assert_allclose(gc.function([x, y], out, backend=backend)(xv, yv), want, rtol=1e-10, atol=1e-12)
    check()


def test_random_expressions_gradients(backend):
    @settings(max_examples=EXAMPLES[backend][1], deadline=None)
    @given(expressions(), st.integers(0, 2**31 - 1))
    def check(expr, seed):
        xv, yv, cv = arrays(np.random.default_rng(seed))
        weights = np.random.default_rng(seed + 1).standard_normal((3, 3))

        def cost(x, y):
            out = build(expr, {"x": x, "y": y, "c": gc.constant(cv)}, 0)
            return gc.sum(gc.broadcast_to(out, (3, 3)) * weights) + 0.0 * gc.sum(x) + 0.0 * gc.sum(y)

        check_grad(cost, [xv, yv], rtol=1e-5, atol=1e-6, backend=backend)
    check()
