"""graphc.onnx.export: graphc graphs (forward models, gradient graphs, training steps) written as ONNX
models that pass onnx.checker's full check, run in onnxruntime to graphc's outputs on the backend each
test id names, and keep the placeholders' and parameters' names. Every graphc op class has a converter
(exercised numerically by a sample graph here) or a reason it has none."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="graphc.onnx.export needs the onnx package: pip install 'graphc[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="the exported models are run by onnxruntime")

import graphc as gc  # noqa: E402
from graphc.ir.node import Op  # noqa: E402
from graphc.onnx import ExportError, export  # noqa: E402
from graphc.onnx.export_registry import LEAVES, UNEXPORTABLE  # noqa: E402
from graphc.onnx.exporter import converters  # noqa: E402

BACKENDS = ["numpy", "llvm"]
#: onnxruntime against graphc: float32 kernels differ in summation order and libm, a few ulp; atol is
#: relative to the output's largest magnitude (a gradient's small entries are differences of large terms)
TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-10, atol=1e-12)}


def run_onnx(model, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def assert_same(model, inputs: list, outputs: list, args: list, backend: str, dtype: str = "float32",
                updates=None) -> None:
    """onnxruntime on the exported model gives what gc.function gives on `backend`."""
    want = gc.function(inputs, outputs, backend=backend)(*args) if updates is None else None
    if updates is not None:  # a training step: the new parameter values, before the step changes them
        step = gc.function(inputs, outputs, updates=updates, backend=backend)
        got = run_onnx(model, {t.name: a for t, a in zip(inputs, args)})
        want = step(*args)
        want = list(want) + [np.array(p.value) for p, _ in updates]
    else:
        got = run_onnx(model, {t.name: a for t, a in zip(inputs, args)})
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == np.shape(w) and g.dtype == np.asarray(w).dtype, i
        scale = max(1.0, float(np.max(np.abs(w), initial=0.0))) if np.asarray(w).dtype.kind == "f" else 1.0
        tol = TOL[dtype]
        np.testing.assert_allclose(g, w, rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=f"output {i}")


def _mlp(rng):
    x = gc.placeholder((None, 6), "float32", name="x")
    net = gc.nn.MLP([6, 16, 8, 3], activation="gelu", rng=rng)
    return x, net(x), net


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_mlp_runs_in_onnxruntime_as_in_graphc(backend):
    rng = np.random.default_rng(0)
    x, y, net = _mlp(rng)
    model = export(y, names=["logits"])
    assert [i.name for i in model.graph.input] == ["x"] and [o.name for o in model.graph.output] == ["logits"]
    names = {t.name for t in model.graph.initializer}
    assert {p.name for p in net.parameters()} <= names  # parameters keep their graphc names
    assert_same(model, [x], [y], [rng.standard_normal((5, 6)).astype(np.float32)], backend)


def _cnn(rng, training: bool):
    x = gc.placeholder((None, 2, 9, 9), "float32", name="images")
    labels = gc.placeholder((None,), "int64", name="labels")
    net = gc.nn.Sequential(
        gc.nn.Conv2d(2, 4, 3, padding=1, rng=rng), gc.nn.BatchNorm(4), gc.nn.ReLU(), gc.nn.MaxPool2d(2),
        gc.nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=1, groups=2, rng=rng), gc.nn.AvgPool2d(2, padding=1),
        gc.nn.Flatten(), gc.nn.Dense(6 * 2 * 2, 3, rng=rng))
    net.train(training)
    logits = net(x)
    loss = gc.mean(gc.softmax_cross_entropy(logits, gc.one_hot(labels, 3)))
    return x, labels, logits, loss, net


def _images(rng, n=3):
    return rng.standard_normal((n, 2, 9, 9)).astype(np.float32), rng.integers(0, 3, n)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_a_cnn_with_batchnorm_and_pooling_and_its_loss(backend, training):
    rng = np.random.default_rng(1)
    x, labels, logits, loss, net = _cnn(rng, training)
    for p in net.parameters():  # running statistics and affine terms away from their 0/1 start
        p.value = p.value + rng.uniform(0.1, 0.5, p.value.shape).astype(np.float32)
    model = export([logits, loss], inputs=[x, labels], names=["logits", "loss"])
    assert_same(model, [x, labels], [logits, loss], list(_images(rng)), backend)


def test_a_forward_model_pools_with_onnx_pooling_ops():
    """Pooling and means are graphc compositions (max over im2col windows, sum over count); a forward
    model is written with ONNX's MaxPool, AveragePool and ReduceMean instead of their parts."""
    x, _, logits, _, _ = _cnn(np.random.default_rng(7), training=True)
    ops = {n.op_type for n in export(logits).graph.node}
    assert {"MaxPool", "AveragePool", "ReduceMean", "Conv"} <= ops
    assert not ops & {"Slice", "ReduceMax", "Concat"}, ops


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_gradient_graph_of_a_cnn_loss_runs_in_onnxruntime(backend):
    """conv2d_grad_input/weight (grouped too), unpatches (col2im) of max and average pooling, the
    unbroadcast sums, batchnorm's statistics, the one-hot and the softmax cross-entropy's gradient."""
    rng = np.random.default_rng(2)
    x, labels, _, loss, net = _cnn(rng, training=True)
    params = net.parameters()
    grads = gc.grad(loss, params, disconnected="zero")
    model = export([loss, *grads], inputs=[x, labels])
    onnx.checker.check_model(model, full_check=True)
    assert_same(model, [x, labels], [loss, *grads], list(_images(rng)), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_training_step_exports_its_updates_as_outputs(backend):
    rng = np.random.default_rng(3)
    x, y, net = _mlp(rng)
    t = gc.placeholder((None, 3), "float32", name="targets")
    loss = gc.mean(gc.square(y - t))
    opt = gc.optim.Adam(net.parameters(), lr=0.01)
    updates = opt.updates(loss)
    model = export(loss, inputs=[x, t], updates=updates, names=["loss"])
    outs = [o.name for o in model.graph.output]
    assert outs[0] == "loss" and len(outs) == 1 + len(updates)
    assert all(name.endswith(".updated") for name in outs[1:])
    assert_same(model, [x, t], [loss], [rng.standard_normal((4, 6)).astype(np.float32),
                                        rng.standard_normal((4, 3)).astype(np.float32)], backend, updates=updates)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_attention_block_and_its_gradient(backend):
    """In float64: the gradient of the key projection's bias is 0 in exact arithmetic (softmax ignores a
    shift), so in float32 both sides would compare rounding noise."""
    rng = np.random.default_rng(4)
    x = gc.placeholder((2, 5, 8), "float64", name="tokens")
    layer = gc.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, rng=rng, dtype="float64")
    y = layer(x)
    loss = gc.sum(gc.square(y))
    grads = gc.grad(loss, [x] + layer.parameters())
    model = export([y, *grads], inputs=[x])
    assert_same(model, [x], [y, *grads], [rng.standard_normal((2, 5, 8))], backend, "float64")


def test_a_compiled_function_exports_with_its_inputs_outputs_and_updates(tmp_path):
    rng = np.random.default_rng(5)
    x = gc.placeholder((None, 3), "float64", name="x")
    w = gc.parameter(rng.standard_normal((3, 2)), name="w")
    loss = gc.sum(gc.log1p(gc.square(x @ w)))
    step = gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w))])
    path = tmp_path / "step.onnx"
    model = export(step, path)
    assert onnx.load(str(path)) == model
    assert [o.name for o in model.graph.output] == ["output0", "w.updated"]
    xv = rng.standard_normal((4, 3))
    got_loss, got_w = run_onnx(model, {"x": xv})
    want_loss = step(xv)
    np.testing.assert_allclose(got_loss, want_loss, **TOL["float64"])
    np.testing.assert_allclose(got_w, w.value, **TOL["float64"])
    assert list(tmp_path.iterdir()) == [path]  # the temporary file was renamed, none is left


def test_params_as_inputs_lets_the_runtime_feed_new_values():
    w = gc.parameter(np.ones((2, 2), np.float32), name="w")
    x = gc.placeholder((2,), "float32", name="x")
    model = export(x @ w, params_as_inputs=True)
    assert [i.name for i in model.graph.input] == ["x", "w"]
    got, = run_onnx(model, {"x": np.ones(2, np.float32), "w": np.full((2, 2), 3, np.float32)})
    np.testing.assert_array_equal(got, [6, 6])


def test_unexportable_ops_are_all_named_at_once_also_inside_loops():
    from graphc.ops import fused
    x = gc.placeholder((4,), "float32", name="x")
    drop = gc.nn.Dropout(0.5)
    drop.train()
    looped = gc.scan(lambda c: drop(c) * 2.0, x, length=3)
    with pytest.raises(ExportError) as err:
        export([drop(x) + 1.0, looped])
    text = str(err.value)
    assert text.count("random_uniform") == 1 and "Philox" in text and "test_onnx_export.py" in text
    assert "fusion pass" in UNEXPORTABLE[fused.FusedElementwise]


@pytest.mark.parametrize("backend", BACKENDS)
def test_loops_export_as_onnx_loop_with_their_gradients(backend):
    """gc.scan (forward, reverse, two carries, a scan inside a scan's step) and an LSTM, with the reverse
    scans of their gradients."""
    rng = np.random.default_rng(9)
    xs = gc.placeholder((5, 3, 4), "float32", name="xs")
    h0 = gc.placeholder((3, 4), "float32", name="h0")
    w = gc.parameter(rng.uniform(-0.5, 0.5, (4, 4)).astype(np.float32), name="w")
    forward = gc.scan(lambda h, x: gc.tanh(h @ w + x), h0, xs=[xs])
    backward = gc.scan(lambda h, x: gc.sigmoid(h * x) - h * 0.5, h0, xs=[xs], reverse=True)
    pair = gc.scan(lambda hc, x: [gc.tanh(hc[0] + x), hc[1] * gc.sigmoid(x)], [h0, h0 * 0.5], xs=[xs])[1]
    nested = gc.scan(lambda h, x: gc.scan(lambda c, r: gc.tanh(c + r), h, xs=[x])[-1] * 0.9, h0, xs=[xs])
    lstm = gc.nn.LSTM(4, 6, rng=rng)
    out, (hn, cn) = lstm(xs)
    loss = gc.sum(gc.square(forward)) + gc.sum(backward[0]) + gc.sum(pair * pair) + gc.sum(out * out) + gc.sum(cn) \
        + gc.sum(nested * nested)
    grads = gc.grad(loss, [xs, h0, w] + lstm.parameters())
    outputs = [forward, backward, pair, nested, out, hn, loss, *grads]
    model = export(outputs, inputs=[xs, h0])
    assert "Loop" in {n.op_type for n in model.graph.node}
    assert_same(model, [xs, h0], outputs, [rng.standard_normal((5, 3, 4)).astype(np.float32),
                                           rng.standard_normal((3, 4)).astype(np.float32)], backend)


def test_bad_arguments_are_clear_errors():
    x = gc.placeholder((3,), "float32", name="x")
    y = gc.placeholder((3,), "float32", name="y")
    with pytest.raises(ExportError, match="not among `inputs`: y"):
        export(x + y, inputs=[x])
    with pytest.raises(ExportError, match="opset 7"):
        export(x + y, opset=7)
    with pytest.raises(ExportError, match="one name per output"):
        export([x, y], names=["a"])
    with pytest.raises(ExportError, match="already the name of an input"):
        export(x + y, names=["x"])


# -- every op class: a converter exercised by a sample graph, or a reason ---------------------------------

def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _op_classes() -> list[type]:
    import graphc.control  # noqa: F401 - scan's op class
    import graphc.distributed.collective  # noqa: F401 - allreduce's op class
    import graphc.ops.fused  # noqa: F401 - the fusion pass's op classes
    classes = {c for c in _subclasses(Op) if c.__module__.startswith("graphc.") and not issubclass(c, LEAVES)}
    return sorted(classes - _bases(), key=lambda c: c.__module__ + c.__name__)


def _bases() -> set:
    """The abstract op classes: no node is ever made of them."""
    from graphc.ir.leaves import Leaf
    from graphc.ops import axes, conv, elementwise, fused, index, reduce
    return {Leaf, elementwise.Elementwise, axes.Reduce, axes.Monoid, reduce.Extremum, reduce.ArgExtremum,
            index._Keyed, conv.WindowOp, fused.FusedBase, fused._OverDomain}


def _sample_graphs():
    """(inputs, outputs, argument arrays) of small graphs that together hold every convertible op class (and
    the edges: integer division by 0, shifts by negative amounts and by the width or more, float to int
    casts out of range)."""
    rng = np.random.default_rng(6)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    a = gc.placeholder((3, 4), "float32", name="a")
    b = gc.placeholder((4,), "float32", name="b")
    u = gc.placeholder((3, 4), "float32", name="u")  # in (-0.9, 0.9)
    i = gc.placeholder((5,), "int64", name="i")
    av, bv, uv, iv = f32(3, 4), f32(4), rng.uniform(-0.9, 0.9, (3, 4)).astype(np.float32), np.array([0, 2, -1, 1, 2])
    pos = gc.abs(a) + 0.5
    unary = [gc.exp(a), gc.log(pos), gc.log1p(pos), gc.expm1(a), gc.sqrt(pos), gc.square(a), gc.abs(a), gc.sign(a),
             gc.sin(a), gc.cos(a), gc.tan(u), gc.asin(u), gc.acos(u), gc.atan(a), gc.sinh(a), gc.cosh(a), gc.asinh(a),
             gc.acosh(pos + 1.0), gc.atanh(u), gc.erf(a), gc.tanh(a), gc.sigmoid(a), gc.softplus(a), gc.relu(a),
             gc.floor(a * 3), gc.ceil(a * 3), gc.round(a * 3), gc.trunc(a * 3), gc.reciprocal(pos), -a,
             gc.relu(gc.cast(a * 3, "int32")), gc.atan2(a, b), gc.binary_cross_entropy(gc.sigmoid(a), gc.sigmoid(u))]
    logic = [gc.where(gc.logical_and(a < b, gc.logical_or(a >= u, gc.logical_not(a > 0.5))), a, b),
             gc.cast(gc.logical_or(gc.equal(a, a), a != u), "float32"), gc.cast(a <= u, "int64"),
             gc.cast(gc.isnan(gc.log(a)), "int32"), gc.cast(gc.isinf(gc.reciprocal(gc.floor(a))), "int32"),
             gc.cast(gc.less(gc.greater(a, 0.0), gc.greater(u, 0.0)), "int32")]
    binary = [a + b, a - b, a * b, a / b, gc.power(pos, b), gc.maximum(a, b), gc.minimum(a, u), a @ b,
              gc.scan(lambda c, r: gc.tanh(c * 0.5 + r), b, xs=[a], reverse=True)]
    reduce = [gc.sum(a, 1), gc.prod(a, 0, keepdims=True), gc.max(a), gc.min(a, 1), gc.argmax(a, 1), gc.argmin(a, 0),
              gc.logsumexp(a, 1), gc.softmax(a, 0), gc.log_softmax(a), gc.softmax_cross_entropy(a, gc.softmax(u)),
              gc.max(gc.cast(a > 0, "bool"), 1)]
    shapes = [gc.reshape(a, (2, -1)), gc.expand_dims(b, 0), gc.squeeze(gc.expand_dims(b, 1)),
              gc.broadcast_to(b, (2, 4)), gc.transpose(a), gc.concatenate([a, u], 1), a[1:, ::-2], a[-1, None, 1:3],
              gc.take(a, i, axis=1), gc.one_hot(i, 3)]
    grads = gc.grad(gc.sum(gc.take(a, i, axis=1) * 2.0) + gc.sum(a[::2, 1:3] * 3.0) + gc.sum(a[-1] * a[0]), [a])
    x = gc.placeholder((2, 2, 6, 5), "float32", name="x")
    w = gc.placeholder((4, 1, 3, 2), "float32", name="w")
    xv, wv = f32(2, 2, 6, 5), f32(4, 1, 3, 2)
    y = gc.conv2d(x, w, stride=(2, 1), padding=((1, 0), (1, 1)), dilation=(1, 2), groups=2)
    pooled = gc.max_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 1)) + 0.0
    averaged = gc.avg_pool2d(x, 3, stride=2, padding=1)
    conv = [y, pooled, averaged, gc.global_avg_pool2d(x)]
    conv += gc.grad(gc.sum(y * y) + gc.sum(pooled * pooled) + gc.sum(averaged * averaged), [x, w])
    # 1-D and 3-D windows, ceil mode, dilated and over-padded pools, pads left out of the count, transposed convs
    v = gc.placeholder((1, 2, 5, 4, 6), "float32", name="v")
    k3 = gc.placeholder((2, 2, 2, 3, 2), "float32", name="k3")
    vv, k3v = f32(1, 2, 5, 4, 6), f32(2, 2, 2, 3, 2)
    y3 = gc.conv3d(v, k3, stride=(1, 2, 1), padding=((1, 0), (1, 1), (0, 2)), dilation=(2, 1, 1))
    windows = [gc.max_pool2d(x, 3, stride=2, padding=2, dilation=(1, 2), ceil_mode=True),
               gc.avg_pool2d(x, 2, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
               gc.avg_pool3d(v, 2, ceil_mode=True), gc.max_pool1d(x[:, :, 0], 3, stride=2, padding=1),
               gc.conv1d(x[:, :, 1], w[:2, :, 0], padding=(2, 1), groups=2),
               gc.conv_transpose2d(x, w[:2], stride=2, padding=1, output_padding=1)]
    conv_nd = [y3, *windows] + gc.grad(gc.sum(y3 * y3) + sum(gc.sum(t * t) for t in windows), [x, w, v, k3])
    free = gc.placeholder((None, 4), "float32", name="free")  # free dims: count, broadcast_like
    fv = f32(3, 4)
    dyn = [gc.mean(free, 0), gc.var(free, 0, ddof=1)] + gc.grad(gc.sum(gc.mean(free, 1) * 2.0), [free])
    k = gc.placeholder((9,), "int32", name="k")
    n = gc.placeholder((9,), "int32", name="n")
    kv = np.array([-2 ** 31, -7, -1, 0, 1, 5, 100, 2 ** 31 - 1, 9], np.int32)
    nv = np.array([-3, 0, 1, 2, 3, 31, 32, 40, 1], np.int32)
    ints = [gc.bitwise_and(k, n), gc.bitwise_or(k, n), gc.bitwise_xor(k, n), gc.bitwise_not(k), gc.left_shift(k, n),
            gc.right_shift(k, n), gc.mod(k, n), gc.fmod(k, n), gc.mod(a, b), gc.fmod(a, b),
            gc.floor_divide(k, n), gc.floor_divide(a, b), gc.floor_divide(a * 10.0, 0.1),
            gc.cast(a * 1e10, "int32"), gc.cast(a * 300, "uint8")]
    return [([a, b, u], unary, [av, bv, uv]), ([a, b, u], logic + binary, [av, bv, uv]),
            ([a, b, i, u], reduce + shapes + grads, [av, bv, iv, uv]), ([x, w], conv, [xv, wv]), ([free], dyn, [fv]),
            ([x, w, v, k3], conv_nd, [xv, wv, vv, k3v]),
            ([a, b, k, n], ints, [av, bv, kv, nv])]


def test_every_op_class_has_a_converter_or_a_reason():
    classes = _op_classes()
    assert len(classes) > 70
    registered = converters()
    missing = [c.__name__ for c in classes if c not in registered and c not in UNEXPORTABLE]
    assert not missing, f"op classes export neither maps nor lists as unexportable: {missing}"
    assert all(len(reason) > 30 for reason in UNEXPORTABLE.values())


def test_the_samples_exercise_every_converter():
    from graphc.ir.graph import toposort
    seen = set()
    for _, outputs, _ in _sample_graphs():
        seen |= {type(t.op) for t in toposort(outputs)}
    missing = sorted(c.__name__ for c in converters() if c not in seen)
    assert not missing, f"converters no sample graph exercises: {missing}"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sample", range(7))
def test_each_converter_matches_graphc(sample, backend):
    inputs, outputs, args = _sample_graphs()[sample]
    model = export(outputs, inputs=inputs)
    with np.errstate(all="ignore"):
        assert_same(model, inputs, outputs, args, backend)


# -- accuracy of the forms export writes ------------------------------------------------------------------

FUNCTIONS = {"tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh,
             "cosh": np.cosh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "log1p": np.log1p,
             "expm1": np.expm1, "trunc": np.trunc, "round": np.rint, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
             "softplus": lambda v: np.logaddexp(0, v), "erf": None}


@pytest.mark.parametrize("dtype", ["int8", "int16", "uint16", "uint32", "int64", "uint64"])
def test_integer_ops_are_bit_exact_in_every_width(dtype):
    """Mod, fmod, bit ops and shifts as graphc computes them (NumPy's rules at the edges), in widths where
    onnxruntime's Where and BitShift kernels are missing or unsigned only."""
    info = np.iinfo(dtype)
    xv = np.array([info.min, info.min + 1, 7, 1, 0, 5, 100, info.max], dtype)
    nv = np.array([info.max if info.min == 0 else -3, 0, 1, 2, 3, info.bits - 1, info.bits, 1], dtype)
    x, n = gc.placeholder(xv.shape, dtype, name="x"), gc.placeholder(nv.shape, dtype, name="n")
    outs = [gc.bitwise_and(x, n), gc.bitwise_xor(x, n), gc.bitwise_not(x), gc.left_shift(x, n), gc.right_shift(x, n),
            gc.mod(x, n), gc.fmod(x, n), gc.floor_divide(x, n), gc.where(x > n, x, n)]
    got = run_onnx(export(outs, inputs=[x, n]), {"x": xv, "n": nv})
    for g, w in zip(got, gc.function([x, n], outs, backend="numpy")(xv, nv)):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_functions_keep_their_accuracy_over_the_whole_domain(dtype):
    """The forms for what ONNX lacks (log1p, expm1, trunc, atan2), for what onnxruntime computes loosely
    (sigmoid, softplus for x << 0) and, in float64, for what it has no float64 kernel for (tan, the
    inverse and hyperbolic functions, erf): within a few ulp of NumPy, edge values included."""
    import math
    edges = [-np.inf, -1e30, -100, -89.5, -10, -2.5, -1, -0.5, -1e-8, -1e-30, 0, 1e-30, 1e-10, 0.3, 0.5, 0.75,
             1, 1.5, 2.5, 5.9, 6.1, 30, 88, 100, 1e30, np.inf, np.nan]
    xv = np.concatenate([edges, np.linspace(-3, 3, 61)]).astype(dtype)
    x = gc.placeholder(xv.shape, dtype, name="x")
    outs = [getattr(gc, n)(x) for n in FUNCTIONS] + [gc.atan2(x, x[::-1])]
    got = run_onnx(export(outs), {"x": xv})
    with np.errstate(all="ignore"):
        want = [f(xv) if f is not None else np.vectorize(math.erf)(xv.astype(np.float64)).astype(dtype)
                for f in FUNCTIONS.values()] + [np.arctan2(xv, xv[::-1])]
    for name, g, w in zip([*FUNCTIONS, "atan2"], got, want):
        np.testing.assert_allclose(g, w, rtol=2e-6 if dtype == "float32" else 1e-13, atol=0, err_msg=name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_exported_gradient_graph_loads_back_into_graphc(backend):
    """export then graphc.onnx.load: a forward CNN and an MLP loss's gradient graph, imported, compute what
    they did (the importer folds the exported Shape chains once it knows the input shapes)."""
    from graphc.onnx import load
    rng = np.random.default_rng(8)
    x, labels, logits, _, _ = _cnn(rng, training=False)
    images, _ = _images(rng)
    model = load(export(logits, inputs=[x]), input_shapes={"images": images.shape})
    np.testing.assert_allclose(model.function(backend=backend)(images)[0],
                               gc.function([x], logits, backend=backend)(images), rtol=2e-5, atol=2e-6)
    x, y, net = _mlp(rng)
    loss = gc.mean(gc.square(y))
    grads = gc.grad(loss, net.parameters())
    xv = rng.standard_normal((4, 6)).astype(np.float32)
    model = load(export([loss, *grads], inputs=[x]), input_shapes={"x": xv.shape})
    assert [t.name for t in model.inputs] == ["x"]
    for g, w in zip(model.function(backend=backend)(xv), gc.function([x], [loss, *grads], backend=backend)(xv)):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6 * max(1.0, float(np.max(np.abs(w)))))
