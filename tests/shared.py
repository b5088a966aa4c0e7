"""Graphs, data and checks that several test modules share (one place, imported as `shared`)."""
import os
import shutil
import sys

import numpy as np
from hypothesis import strategies as st

import graphc as gc

#: float tolerances of the cuda backends against the NumPy reference (only the math library differs)
TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-12)}


# -- a small training step (the LLVM caches) ---------------------------------------------------

def step(act="tanh", backend="llvm"):
    """A small training step (matmul, activation, mean, SGD update) with its own weights."""
    rng = np.random.default_rng(0)
    x = gc.placeholder((8, 3), name="x")
    w = gc.parameter(rng.standard_normal((3, 2)).astype(np.float32), name="w")
    loss = gc.mean(gc.square(getattr(gc, act)(x @ w) - 0.5))
    return gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w))], backend=backend)


X = np.linspace(-1, 1, 24, dtype=np.float32).reshape(8, 3)


def losses(fn, n=3, x=X):
    return [float(fn(x)) for _ in range(n)]


# -- an MLP's SGD step --------------------------------------------------------------------------

def mlp_step(backend="numpy", optimize="O2", batch=16, hidden=8):
    """A 2 -> hidden -> 1 sigmoid MLP's SGD step, and its parameters."""
    rng = np.random.default_rng(0)
    x = gc.placeholder((batch, 2), "float32", "x")
    y = gc.placeholder((batch, 1), "float32", "y")
    params = [gc.parameter(rng.standard_normal(s).astype(np.float32) * 0.5, n)
              for s, n in [((2, hidden), "W1"), ((hidden,), "b1"), ((hidden, 1), "W2"), ((1,), "b2")]]
    W1, b1, W2, b2 = params
    h = gc.sigmoid(x @ W1 + b1)
    loss = gc.mean(gc.square(h @ W2 + b2 - y))
    grads = gc.grad(loss, params)
    updates = [(p, p - 0.5 * g) for p, g in zip(params, grads)]
    return gc.function([x, y], loss, updates=updates, backend=backend, optimize=optimize), params


# -- random expressions (O2 against O0, kernel programs against graphs) ------------------------

UNARY = [gc.sin, gc.tanh, gc.sigmoid, gc.softplus, gc.square, gc.negative, lambda t: gc.exp(gc.tanh(t)),
         lambda t: gc.log(1.0 + gc.square(t)), lambda t: gc.sum(t, axis=0, keepdims=True),
         lambda t: gc.softmax(t, axis=1), lambda t: gc.max(t, axis=1, keepdims=True), lambda t: t.T.T,
         lambda t: t * 1.0 + 0.0, lambda t: gc.log(gc.sigmoid(t)), lambda t: gc.exp(t * 0.1) - 1.0]
BINARY = [gc.add, gc.subtract, gc.multiply, lambda a, b: a / (1.0 + b * b), gc.maximum,
          lambda a, b: gc.broadcast_to(a, (3, 3)) @ gc.transpose(gc.broadcast_to(b, (3, 3))) * 0.1]


def expressions():
    return st.recursive(st.sampled_from(["x", "y"]),
                        lambda sub: st.one_of(st.tuples(st.integers(0, len(UNARY) - 1), sub),
                                              st.tuples(st.integers(0, len(BINARY) - 1), sub, sub)),
                        max_leaves=10)


def build_expression(expr, env):
    if isinstance(expr, str):
        return env[expr]
    i, *args = expr
    fn = UNARY[i] if len(args) == 1 else BINARY[i]
    return fn(*[build_expression(a, env) for a in args])


def fuzz_case(expr, seed):
    """A random graph's cost and gradients, its inputs, and input values."""
    rng = np.random.default_rng(seed)
    xv, yv = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    x, y = gc.placeholder((3, 3), "float64", "x"), gc.placeholder((3, 3), "float64", "y")
    out = build_expression(expr, {"x": x, "y": y})
    cost = gc.sum(gc.broadcast_to(out, (3, 3)) * gc.constant(rng.standard_normal((3, 3))))
    return [x, y], [cost] + gc.grad(cost, [x, y], disconnected="zero"), (xv, yv)


# -- one graph per kernel kind (the cuda backends) -----------------------------------------------

def _conv(x, w, **window):
    """conv2d, max pooling (patches) and both convolution gradients (col2im, unpatches)."""
    y = gc.conv2d(x, w, **window)
    loss = gc.sum(gc.square(gc.max_pool2d(gc.relu(y), 2))) + gc.sum(y * 0.5)
    return (y, *gc.grad(loss, [x, w]))


def _scan(x):
    return gc.scan(lambda h, xt: h * 0.5 + xt, x, gc.zeros_like(x[0]))


def _take_grad(t, i):
    loss = gc.sum(gc.square(gc.take(t, i, axis=0))) + gc.sum(gc.tanh(t[1:3, ::2]))
    return gc.grad(loss, [t])[0]


def _rng(key, x):
    return gc.random_uniform(key, x) + gc.random_uniform(key, (3, 5), "float64", stream=1).sum()


R = np.random.default_rng(5)
F32 = R.standard_normal((6, 7)).astype(np.float32)
#: name -> (graph builder over placeholders, input arrays); together they cover every kernel kind
CASES = {
    "elementwise": (lambda x: gc.exp(x) * gc.sigmoid(x) + gc.where(x > 0, gc.log1p(gc.abs(x)), gc.tanh(x)), (F32,)),
    "elementwise_math": (lambda x: (gc.erf(x) + gc.expm1(x) * gc.sin(x) - gc.cos(x) * gc.sqrt(gc.abs(x)),
                                    gc.softplus(x) + gc.floor(x) * gc.sign(x), gc.maximum(x, 0.5) ** 3),
                         (F32,)),
    "elementwise_math_f64": (lambda x: (gc.erf(x) + gc.expm1(x) * gc.sin(x) - gc.cos(x) * gc.sqrt(gc.abs(x)),
                                        gc.softplus(x) - gc.log(gc.abs(x) + 1) * gc.tanh(x)),
                             (F32.astype(np.float64),)),
    "elementwise_f64_broadcast": (lambda x, y: gc.power(gc.abs(x) + 1, y) / (y + 2), (F32.astype(np.float64),
                                                                                      np.arange(7.0))),
    "reduce": (lambda x: (gc.sum(x, axis=0), gc.max(x, axis=1), gc.prod(x[:3], axis=1), gc.mean(gc.square(x))),
               (F32,)),
    "reduce_cooperative": (lambda x: (gc.sum(x, axis=1), gc.max(gc.cast(x, "float64")), gc.mean(gc.exp(x))),
                           (R.standard_normal((3, 700)).astype(np.float32),)),
    "argextremum": (lambda x: (gc.argmax(x, axis=1), gc.argmin(x, axis=0)), (F32,)),
    "softmax": (lambda x: (gc.softmax(x), gc.log_softmax(x), gc.logsumexp(x, axis=0)), (F32,)),
    "softmax_cross_entropy": (lambda x, y: gc.softmax_cross_entropy(x, y), (F32, np.eye(7, dtype=np.float32)[:6])),
    "matmul": (lambda a, b: (gc.matmul(a, b), gc.relu(gc.matmul(gc.transpose(a), a) + 1.0)),
               (F32, R.standard_normal((7, 3)).astype(np.float32))),
    "matmul_batched_vector": (lambda a, v: gc.matmul(a, v) * 2.0, (R.standard_normal((2, 4, 5)), np.arange(5.0))),
    "take_scatter": (_take_grad, (R.standard_normal((5, 4)), np.array([0, 2, 2, -1], np.int64))),
    "copy": (lambda x: (gc.concatenate([x, x * 2.0], axis=1), gc.reshape(gc.transpose(x), (3, 14)) + 1.0), (F32,)),
    "rng": (_rng, (np.array([42, 7], np.int64), F32)),
    "conv": (lambda x, w: _conv(x, w, stride=2, padding=1), (R.standard_normal((2, 3, 9, 9)).astype(np.float32),
                                                             R.standard_normal((4, 3, 3, 3)).astype(np.float32))),
    "conv_dilated_f64": (lambda x, w: _conv(x, w, padding=(1, 2), dilation=2), (R.standard_normal((2, 2, 7, 8)),
                                                                               R.standard_normal((3, 2, 2, 3)))),
    "loop": (_scan, (R.standard_normal((4, 3)),)),
}


def case_function(case: str, backend: str):
    build, arrays = CASES[case]
    xs = [gc.placeholder(np.shape(a), np.asarray(a).dtype.name, name=f"a{i}") for i, a in enumerate(arrays)]
    return gc.function(xs, build(*xs), backend=backend), arrays


def _listed(v):
    return v if isinstance(v, (list, tuple)) else [v]


def assert_same(got, want):
    for g, w in zip(_listed(got), _listed(want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype
        if w.dtype.kind == "f":
            np.testing.assert_allclose(g, w, **TOL[w.dtype.name])
        else:
            np.testing.assert_array_equal(g, w)


def adam_run(backend):
    rng = np.random.default_rng(3)
    xv = rng.standard_normal((32, 20)).astype(np.float32)
    yv = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 32)]
    model = gc.nn.MLP([20, 16, 5], activation="relu", rng=3)
    x, y = gc.placeholder((32, 20), "float32"), gc.placeholder((32, 5), "float32")
    loss = gc.losses.cross_entropy(model(x), y)
    step = gc.function([x, y], loss, updates=gc.optim.Adam(model, lr=1e-2).updates(loss), backend=backend)
    losses = [float(np.asarray(step(xv, yv))) for _ in range(4)]
    return losses, model.parameters()


# -- MPI jobs started from a test ---------------------------------------------------------------

#: the mpiexec of this interpreter's environment (the mpich wheel of graphc[mpi] puts it beside python)
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


def mpiexec_env(**extra: str) -> dict:
    """The environment for an mpiexec job of its own: this process's, without the variables of the MPI job
    this test may be running in (the launcher's PMI and Hydra settings), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_", "MPIR_", "MPI_LOCAL"))}
    return {**env, **extra}
