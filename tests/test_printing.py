"""gc.pprint / gc.pformat: exact text on small graphs, and the text run as NumPy equals the compiled value."""
import numpy as np
import pytest

import graphc as gc

#: What the printed names mean in NumPy: the printed program runs in this namespace.
NUMPY = {"tanh": np.tanh, "exp": np.exp, "sqrt": np.sqrt, "square": np.square, "sum": np.sum,
         "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "broadcast_to": np.broadcast_to, "where": np.where,
         "relu": lambda v: np.maximum(v, 0), "reshape": lambda v, shape: np.reshape(v, shape)}


def run_printed(outputs: dict, leaves: dict) -> dict:
    """Execute pformat's text (every line an assignment) with the leaves bound to arrays."""
    scope = dict(NUMPY, **leaves)
    exec(gc.pformat(outputs), scope)  # noqa: S102 - the text under test, built from our own graphs
    return {k: scope[k] for k in outputs}


def test_a_shared_subexpression_is_bound_once():
    x = gc.placeholder((3,), "float64", name="x")
    assert gc.pformat(gc.grad(gc.sum(gc.tanh(x) ** 2), x)) == "t0 = tanh(x)\n2 * t0 * (1 - square(t0))"


def test_plumbing_prints_as_what_it_means():
    """No expand_dims, broadcast_like, count or `1 *`: broadcasting, x.size, sum over the batch."""
    x = gc.placeholder((None, 2), name="x")
    y = gc.placeholder((None, 1), name="y")
    w = gc.parameter(np.zeros((2, 1), np.float32), name="w")
    b = gc.parameter(np.zeros(1, np.float32), name="b")
    dw, db = gc.grad(gc.mean(gc.square(x @ w + b - y)), [w, b])
    assert gc.pformat(dw) == "x.T @ (2 * (1 / y.size * (x @ w + b - y)))"
    assert gc.pformat({"dw": dw, "db": db}) == (
        "t0 = 2 * (1 / y.size * (x @ w + b - y))\n"
        "dw = x.T @ t0\n"
        "db = sum(t0, axis=0)")


def _mlp():
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(4, 8)), "b1": rng.normal(size=8),
              "W2": rng.normal(size=(8, 3)), "b2": rng.normal(size=3)}
    p = {k: gc.parameter(v, name=k) for k, v in params.items()}
    X, Y = gc.placeholder((None, 4), "float64", name="X"), gc.placeholder((None, 3), "float64", name="Y")
    loss = gc.mean(gc.square(gc.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"] - Y))
    return p, params, X, Y, dict(zip(["dW1", "db1", "dW2", "db2"], gc.grad(loss, list(p.values()))))


def test_mlp_gradient_text():
    grads = _mlp()[-1]
    assert gc.pformat(grads) == """\
t0 = tanh(X @ W1 + b1)
t1 = 2 * (1 / Y.size * (t0 @ W2 + b2 - Y))
t2 = (t1 @ W2.T) * (1 - square(t0))
dW1 = X.T @ t2
db1 = sum(t2, axis=0)
dW2 = t0.T @ t1
db2 = sum(t1, axis=0)"""


def test_outputs_list_and_a_shared_output():
    x = gc.placeholder((3,), "float64", name="x")
    t = gc.tanh(x)
    assert gc.pformat([t, gc.sum(t)]) == "t0 = tanh(x)\nout0 = t0\nout1 = sum(t0)"
    assert gc.pformat([t, gc.sum(t)], inline_uses=2) == "t0 = tanh(x)\nout0 = t0\nout1 = sum(t0)"
    assert gc.pformat(gc.exp(t) + t, inline_uses=2) == "exp(tanh(x)) + tanh(x)"


def test_names_and_repeated_labels():
    model = gc.nn.MLP([2, 3, 1], "tanh", rng=0)
    x = gc.placeholder((None, 2), name="x")
    out = model(x)
    assert gc.pformat(out) == "tanh(x @ Dense.weight + Dense.bias) @ Dense.weight_2 + Dense.bias_2"
    assert gc.pformat(out, names=dict(model.named_parameters())) == \
        "tanh(x @ 0.weight + 0.bias) @ 1.weight + 1.bias"


def test_bindings_never_take_a_leaf_name():
    t0 = gc.placeholder((3,), "float64", name="t0")
    e = gc.exp(t0)
    assert gc.pformat(e * e) == "t1 = exp(t0)\nt1 * t1"


def test_constants_print_their_values():
    x = gc.placeholder((3,), "float64", name="x")
    assert gc.pformat(x * np.array([1.5, 2.0, 3.0]) + np.full(3, 0.25)) == "x * [1.5, 2.0, 3.0] + full((3,), 0.25)"
    assert gc.pformat(gc.reshape(x, (1, 3)) + np.zeros((2, 3))) == "reshape(x, shape=(1, 3)) + full((2, 3), 0)"


PRECEDENCE = {
    "(a + b) * c": lambda a, b, c: (a + b) * c,
    "a - (b - c)": lambda a, b, c: a - (b - c),
    "a - b - c": lambda a, b, c: a - b - c,
    "a / (b * c)": lambda a, b, c: a / (b * c),
    "(-a) ** 2": lambda a, b, c: gc.power(-a, 2.0),
    "-a ** 2": lambda a, b, c: -gc.power(a, 2.0),
    "a ** (b ** c)": lambda a, b, c: gc.power(gc.abs(a), gc.power(gc.abs(b), c)),
    "(a ** b) ** c": lambda a, b, c: gc.power(gc.power(gc.abs(a), b), c),
    "a - (-b)": lambda a, b, c: a - (-b),
    "matmul": lambda a, b, c: (gc.reshape(a, (1, 3)) * 2.0) @ gc.reshape(b + c, (3, 1)),
}


@pytest.mark.parametrize("name", list(PRECEDENCE))
def test_parentheses_keep_the_meaning(name):
    """The printed text, run by NumPy, gives what the compiled graph gives."""
    rng = np.random.default_rng(1)
    values = {k: rng.uniform(0.5, 2.0, 3) for k in "abc"}
    leaves = {k: gc.placeholder((3,), "float64", name=k) for k in "abc"}
    out = PRECEDENCE[name](*leaves.values())
    ours = gc.function(list(leaves.values()), out)(*values.values())
    np.testing.assert_allclose(run_printed({"out": out}, dict(values, abs=np.abs))["out"], ours, rtol=1e-12)


def test_printed_gradients_evaluate_to_the_compiled_ones():
    """The MLP's gradient text, a mean over free dims and layer norm's gradient, run by NumPy."""
    p, values, X, Y, grads = _mlp()
    rng = np.random.default_rng(2)
    xv, yv = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    z = gc.placeholder((None, 3), "float64", name="z")
    zv = rng.normal(size=(4, 3))
    outputs = dict(grads, dmean=gc.grad(gc.sum(gc.mean(z, axis=0) ** 2), z),
                   dnorm=gc.grad(gc.sum(gc.nn.layer_norm(z, 1, None, None, 1e-5) * np.arange(3.0)), z),
                   dsum=gc.grad(gc.sum(z), z))
    compiled = gc.function([X, Y, z], list(outputs.values()))(xv, yv, zv)
    printed = run_printed(outputs, dict(values, X=xv, Y=yv, z=zv))
    for (name, value), want in zip(printed.items(), compiled):
        np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-14, err_msg=name)


def test_slices_print_as_numpy_indexing():
    y = gc.placeholder((4, 6), "float64", name="y")
    outputs = {"a": y[1:3], "b": y[:, ::2], "c": y[-1], "d": (y + 1)[::-1, 2], "e": y[None, :, 1:]}
    assert gc.pformat(outputs) == "a = y[1:3]\nb = y[:, ::2]\nc = y[-1]\nd = (y + 1)[::-1, 2]\ne = y[None, :, 1:]"
    yv = np.arange(24.0).reshape(4, 6)
    compiled = gc.function([y], list(outputs.values()))(yv)
    for value, want in zip(run_printed(outputs, {"y": yv}).values(), compiled):
        np.testing.assert_array_equal(value, want)


def test_a_loop_gradient_prints():
    """An LSTM's gradient: scan nodes print by their format, the shapes they donate as `t.shape`."""
    model = gc.nn.LSTM(3, 4, batch_first=True)
    x = gc.placeholder((None, 5, 3), name="x")
    params = dict(model.named_parameters())
    text = gc.pformat(dict(zip(params, gc.grad(gc.mean(model(x)[0]), list(params.values())))))
    assert text.count("scan(") == 3 and "t0 = transpose(x, (1, 0, 2))" in text
    assert text.splitlines()[-4:] == ["weight_ih_l0 = (reshape(t0, shape=(-1, 3)).T @ t10).T",
                                      "weight_hh_l0 = (reshape(t7[:, :, 0:4], shape=(-1, 4)).T @ t10).T",
                                      "bias_ih_l0 = sum(t9, axis=(0, 1))",
                                      "bias_hh_l0 = sum(sum(t9, axis=0), axis=0)"]
