"""Every op: forward values against NumPy (broadcasting, size-1 and empty dims) and
gradients against central finite differences in float64."""
import numpy as np
import pytest

import graphc as gc
from graphc.testing import check_grad
from conftest import evaluate, tol

# name -> (graphc function, numpy function, sampler of valid inputs)
def _any(rng, shape): return rng.standard_normal(shape)
def _pos(rng, shape): return rng.uniform(0.2, 3.0, shape)
def _unit(rng, shape): return rng.uniform(-0.9, 0.9, shape)
def _away0(rng, shape): return rng.choice([-1, 1], shape) * rng.uniform(0.2, 2.0, shape)

UNARY = {
    "negative": (gc.negative, np.negative, _any),
    "exp": (gc.exp, np.exp, _any),
    "log": (gc.log, np.log, _pos),
    "log1p": (gc.log1p, np.log1p, _unit),
    "expm1": (gc.expm1, np.expm1, _any),
    "sqrt": (gc.sqrt, np.sqrt, _pos),
    "abs": (gc.abs, np.abs, _away0),
    "square": (gc.square, np.square, _any),
    "sin": (gc.sin, np.sin, _any),
    "cos": (gc.cos, np.cos, _any),
    "tanh": (gc.tanh, np.tanh, _any),
    "sigmoid": (gc.sigmoid, lambda x: 1 / (1 + np.exp(-x)), _any),
    "softplus": (gc.softplus, lambda x: np.log1p(np.exp(x)), _any),
    "relu": (gc.relu, lambda x: np.maximum(x, 0), _away0),
    "reciprocal": (lambda x: 1.0 / x, lambda x: 1.0 / x, _away0),
    "pow_const": (lambda x: x ** 3, lambda x: x ** 3, _any),
    "pow_frac": (lambda x: x ** 1.5, lambda x: x ** 1.5, _pos),
    "clip": (lambda x: gc.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7), _any),
}
NONDIFF_UNARY = {
    "sign": (gc.sign, np.sign, _any),
    "floor": (gc.floor, np.floor, _any),
}
BINARY = {
    "add": (gc.add, np.add, _any, _any),
    "subtract": (gc.subtract, np.subtract, _any, _any),
    "multiply": (gc.multiply, np.multiply, _any, _any),
    "divide": (gc.divide, np.divide, _any, _away0),
    "power": (gc.power, np.power, _pos, _any),
    "maximum": (gc.maximum, np.maximum, _any, _any),
    "minimum": (gc.minimum, np.minimum, _any, _any),
}
COMPARE = {
    "less": (lambda a, b: a < b, np.less), "less_equal": (lambda a, b: a <= b, np.less_equal),
    "greater": (lambda a, b: a > b, np.greater), "greater_equal": (lambda a, b: a >= b, np.greater_equal),
    "equal": (lambda a, b: a == b, np.equal), "not_equal": (lambda a, b: a != b, np.not_equal),
}
BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (3,)), ((1,), (5,)),
                   ((0, 3), (3,)), ((4, 1), (1, 0))]


@pytest.mark.parametrize("name", sorted(UNARY) + sorted(NONDIFF_UNARY))
@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (0, 4)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary_forward(name, shape, dtype, rng, backend):
    f, ref, sample = {**UNARY, **NONDIFF_UNARY}[name]
    x = sample(rng, shape).astype(dtype)
    got = evaluate(f, x, backend=backend)
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_allclose(got, ref(x), **tol(backend, dtype))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_grad(name, rng, backend):
    f, _, sample = UNARY[name]
    check_grad(lambda x: gc.sum(f(x) * np.arange(1.0, 7.0).reshape(2, 3)), [sample(rng, (2, 3))], backend=backend)


@pytest.mark.parametrize("name", sorted(NONDIFF_UNARY))
def test_nondifferentiable_ops_give_zero_gradient(name, rng, backend):
    f = NONDIFF_UNARY[name][0]
    x = gc.placeholder((3,), "float64")
    g = gc.grad(gc.sum(f(x) * x), x)
    xv = rng.uniform(0.1, 2.0, 3)
    np.testing.assert_allclose(gc.function([x], g, backend=backend)(xv), f_np := NONDIFF_UNARY[name][1](xv))
    assert f_np.shape == (3,)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_binary_forward_broadcasting(name, shapes, rng, backend):
    f, ref, sa, sb = BINARY[name]
    a, b = sa(rng, shapes[0]), sb(rng, shapes[1])
    got = evaluate(f, a, b, backend=backend)
    want = ref(a, b)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, **tol(backend))


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", [s for s in BROADCAST_PAIRS if 0 not in s[0] + s[1]], ids=str)
def test_binary_grad_broadcasting(name, shapes, rng, backend):
    f, _, sa, sb = BINARY[name]
    a, b = sa(rng, shapes[0]), sb(rng, shapes[1])
    if name in ("maximum", "minimum"):  # keep away from ties, where the derivative jumps
        b = a.mean() + np.where(rng.random(shapes[1]) < 0.5, -1, 1) * rng.uniform(0.5, 1.0, shapes[1])
    check_grad(lambda x, y: gc.sum(gc.sin(f(x, y))), [a, b], backend=backend)


@pytest.mark.parametrize("name", sorted(COMPARE))
def test_comparisons(name, rng, backend):
    f, ref = COMPARE[name]
    a = rng.integers(0, 3, (4, 3)).astype("float32")
    b = rng.integers(0, 3, (3,)).astype("float32")
    got = evaluate(f, a, b, backend=backend)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, ref(a, b))


def test_logical_and_where(rng, backend):
    a, b = rng.random((3, 4)) > 0.5, rng.random((4,)) > 0.5
    np.testing.assert_array_equal(evaluate(gc.logical_and, a, b, backend=backend), a & b)
    np.testing.assert_array_equal(evaluate(gc.logical_or, a, b, backend=backend), a | b)
    np.testing.assert_array_equal(evaluate(gc.logical_not, a, backend=backend), ~a)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((1, 4))
    np.testing.assert_allclose(evaluate(lambda c, p, q: gc.where(c, p, q), a, x, y, backend=backend), np.where(a, x, y))
    check_grad(lambda p, q: gc.sum(gc.where(gc.constant(a), p, q) ** 2), [x, y], backend=backend)


def test_where_pairs_with_ints_and_scalars(rng, backend):
    c = rng.random(5) > 0.5
    np.testing.assert_array_equal(evaluate(lambda m: gc.where(m, 1, 0), c, backend=backend), np.where(c, 1, 0))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "bool"])
@pytest.mark.parametrize("to", ["float32", "float64", "int32", "int64", "bool"])
def test_cast(dtype, to, rng, backend):
    x = (rng.standard_normal(6) * 3).astype(dtype)
    got = evaluate(lambda t: gc.cast(t, to), x, backend=backend)
    assert got.dtype == to
    np.testing.assert_array_equal(got, x.astype(to))


def test_cast_gradient_between_floats(rng, backend):
    check_grad(lambda x: gc.sum(gc.cast(gc.cast(x, "float32"), "float64") ** 2), [rng.standard_normal(4)],
               rtol=1e-3, atol=1e-3, eps=1e-2, backend=backend)


REDUCTIONS = {
    "sum": (gc.sum, np.sum), "mean": (gc.mean, np.mean), "max": (gc.max, np.max), "min": (gc.min, np.min),
    "prod": (gc.prod, np.prod), "var": (gc.var, np.var), "std": (gc.std, np.std),
    "logsumexp": (gc.logsumexp, lambda x, axis=None, keepdims=False:
                  np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))),
}
AXES = [None, 0, -1, (0, 2), (1,)]


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_forward(name, axis, keepdims, rng, backend):
    f, ref = REDUCTIONS[name]
    x = rng.uniform(0.5, 1.5, (2, 3, 4))
    got = evaluate(lambda t: f(t, axis=axis, keepdims=keepdims), x, backend=backend)
    want = ref(x, axis=axis, keepdims=keepdims)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got, want, **tol(backend))


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis", [None, 1, (0, 2)], ids=str)
def test_reduction_grad(name, axis, rng, backend):
    f, _ = REDUCTIONS[name]
    x = rng.uniform(0.5, 1.5, (2, 3, 4))
    weights = rng.standard_normal(np.shape(np.sum(x, axis=axis)))
    check_grad(lambda t: gc.sum(f(t, axis=axis) * weights), [x], backend=backend)


def test_sum_of_empty_and_prod_with_zeros(rng, backend):
    np.testing.assert_array_equal(evaluate(lambda t: gc.sum(t, axis=0), np.zeros((0, 3)), backend=backend), np.zeros(3))
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.5], [1.0, 2.0, 4.0]])
    # d prod / d x_i = product of the others, exactly, also at zeros.
    g = evaluate(lambda t: gc.grad(gc.sum(gc.prod(t, axis=1)), t), x, backend=backend)
    np.testing.assert_allclose(g, [[0, 6, 0], [0, 0, 0], [8, 4, 2]])


def test_max_gradient_splits_ties(backend):
    g = evaluate(lambda t: gc.grad(gc.max(t), t), np.array([1.0, 3.0, 3.0, 2.0]), backend=backend)
    np.testing.assert_allclose(g, [0, 0.5, 0.5, 0])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_argmax_argmin(axis, rng, backend):
    x = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(evaluate(lambda t: gc.argmax(t, axis), x, backend=backend), np.argmax(x, axis))
    np.testing.assert_array_equal(evaluate(lambda t: gc.argmin(t, axis), x, backend=backend), np.argmin(x, axis))
    assert evaluate(gc.argmax, x, backend=backend) == np.argmax(x)


@pytest.mark.parametrize("fn,ref", [(gc.softmax, lambda z: np.exp(z) / np.exp(z).sum(-1, keepdims=True)),
                                    (gc.log_softmax, lambda z: z - np.log(np.exp(z).sum(-1, keepdims=True)))])
def test_softmax_family(fn, ref, rng, backend):
    x = rng.standard_normal((3, 5))
    np.testing.assert_allclose(evaluate(fn, x, backend=backend), ref(x), **tol(backend))
    check_grad(lambda t: gc.sum(fn(t) * np.arange(15.0).reshape(3, 5)), [x], backend=backend)
    check_grad(lambda t: gc.sum(fn(t, axis=0) * np.arange(15.0).reshape(3, 5)), [x], backend=backend)


def test_softmax_family_is_stable_for_huge_logits(backend):
    x = np.array([[1e4, 0.0, -1e4]], np.float32)
    np.testing.assert_allclose(evaluate(gc.softmax, x, backend=backend), [[1, 0, 0]])
    np.testing.assert_allclose(evaluate(gc.log_softmax, x, backend=backend), [[0, -1e4, -2e4]])
    np.testing.assert_allclose(evaluate(lambda t: gc.logsumexp(t, axis=1), x, backend=backend), [1e4])


MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
                 ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,)),
                 ((0, 4), (4, 2))]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes, rng, backend):
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    np.testing.assert_allclose(evaluate(gc.matmul, a, b, backend=backend), a @ b, **tol(backend))
    if 0 not in shapes[0]:
        check_grad(lambda x, y: gc.sum(gc.tanh(x @ y)), [a, b], backend=backend)


def test_matmul_ints_and_operator(rng, backend):
    a, b = rng.integers(-3, 3, (2, 3)), rng.integers(-3, 3, (3, 2))
    got = evaluate(lambda x, y: x @ y, a, b, backend=backend)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, a @ b)


SHAPE_OPS = {
    "reshape": (lambda x: gc.reshape(x, (4, -1)), lambda x: x.reshape(4, -1)),
    "reshape_method": (lambda x: x.reshape(2, 12), lambda x: x.reshape(2, 12)),
    "transpose": (gc.transpose, np.transpose),
    "transpose_perm": (lambda x: gc.transpose(x, (1, 0, 2)), lambda x: x.transpose(1, 0, 2)),
    "T": (lambda x: x.T, lambda x: x.T),
    "swapaxes": (lambda x: gc.swapaxes(x, 0, 2), lambda x: np.swapaxes(x, 0, 2)),
    "broadcast_to": (lambda x: gc.broadcast_to(x[:, :1], (5, 2, 1, 4)),
                     lambda x: np.broadcast_to(x[:, :1], (5, 2, 1, 4))),
    "expand_dims": (lambda x: gc.expand_dims(x, (0, -1)), lambda x: np.expand_dims(x, (0, -1))),
    "squeeze": (lambda x: gc.squeeze(x[:, :1]), lambda x: np.squeeze(x[:, :1])),
    "flatten": (gc.flatten, lambda x: x.reshape(2, -1)),
    "slice": (lambda x: x[1:, ::-2, None, 1], lambda x: x[1:, ::-2, None, 1]),
    "slice_ellipsis": (lambda x: x[..., 1:3], lambda x: x[..., 1:3]),
    "index_int": (lambda x: x[-1], lambda x: x[-1]),
    "take": (lambda x: gc.take(x, np.array([[2, 0], [1, 2]]), axis=1),
             lambda x: np.take(x, np.array([[2, 0], [1, 2]]), axis=1)),
    "getitem_tensor": (lambda x: x[:, np.array([0, 0, 2])], lambda x: x[:, np.array([0, 0, 2])]),
    "concatenate": (lambda x: gc.concatenate([x, 2 * x[:, :1]], axis=1),
                    lambda x: np.concatenate([x, 2 * x[:, :1]], axis=1)),
    "stack": (lambda x: gc.stack([x, x * x], axis=-1), lambda x: np.stack([x, x * x], axis=-1)),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_and_index_ops(name, rng, backend):
    f, ref = SHAPE_OPS[name]
    x = rng.standard_normal((2, 3, 4))
    got = evaluate(f, x, backend=backend)
    want = ref(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want)
    w = rng.standard_normal(want.shape)
    check_grad(lambda t: gc.sum(f(t) * w), [x], backend=backend)


def test_one_hot(backend):
    got = evaluate(lambda i: gc.one_hot(i, 4), np.array([0, 3, 1, 7]), backend=backend)
    np.testing.assert_array_equal(got, np.eye(4, dtype=np.float32)[[0, 3, 1]].tolist() + [[0, 0, 0, 0]])
    assert got.dtype == np.float32


def test_take_gradient_adds_repeats(backend):
    g = evaluate(lambda e: gc.grad(gc.sum(gc.take(e, np.array([1, 1, 0]))), e), np.zeros((3, 2)), backend=backend)
    np.testing.assert_array_equal(g, [[1, 1], [2, 2], [0, 0]])


def test_python_scalars_are_weakly_typed():
    x = gc.placeholder((3,), "float32")
    assert (x * 2.0).dtype == "float32" and (2 + x).dtype == "float32"
    i = gc.placeholder((3,), "int32")
    assert (i * 2).dtype == "int32" and (i * 2.5).dtype == "float32" and (i / 2).dtype == "float32"
    assert (x + i).dtype == "float32" and (gc.placeholder((), "float64") + x).dtype == "float64"


def test_ndarray_operands_on_either_side(rng, backend):
    a = rng.standard_normal(3)
    x = gc.placeholder((3,), "float64")
    f = gc.function([x], [a + x, x - a, a * x], backend=backend)
    np.testing.assert_allclose(f(a), [2 * a, 0 * a, a * a])
