"""graphc.onnx.load beyond the conformance suite: names and locations kept, every unsupported node in one
error, shape sub-graphs folded, gradients through an imported model, local functions, run_node."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")

import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import graphc as gc  # noqa: E402
import graphc.onnx  # noqa: E402
from graphc.onnx.backend import GraphcBackend  # noqa: E402

BACKENDS = ["numpy", "llvm"]
F = TensorProto.FLOAT


def _model(nodes, inputs, outputs, inits=(), opset=17, functions=()):
    graph = helper.make_graph(nodes, "m", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], functions=list(functions))


def _dense(rng):
    w = numpy_helper.from_array(rng.standard_normal((4, 3)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "b")
    return _model([helper.make_node("Gemm", ["x", "W", "b"], ["z"], name="dense"),
                   helper.make_node("Sigmoid", ["z"], ["y"], name="act")],
                  [helper.make_tensor_value_info("x", F, ["n", 4])], [helper.make_tensor_value_info("y", F, ["n", 3])],
                  [w, b])


def test_names_are_kept_on_inputs_parameters_and_ops():
    model = graphc.onnx.load(_dense(np.random.default_rng(0)))
    assert [x.name for x in model.inputs] == ["x"] and model.inputs[0].shape == (None, 4)
    assert sorted(model.params) == ["W", "b"] and model.params["W"].name == "W"
    loc = model.outputs[0].loc
    assert (loc.op_type, loc.node, loc.lineno) == ("Sigmoid", "act", 1)
    assert "Sigmoid 'act'" in loc.describe()
    assert model.tensor("z").loc.node == "dense"


def test_a_shape_error_names_the_onnx_node():
    bad = _model([helper.make_node("MatMul", ["a", "b"], ["c"], name="proj")],
                 [helper.make_tensor_value_info("a", F, [2, 3]), helper.make_tensor_value_info("b", F, [4, 5])],
                 [helper.make_tensor_value_info("c", F, None)])
    with pytest.raises(gc.ShapeError, match="MatMul 'proj'"):
        graphc.onnx.load(bad)


def test_every_unsupported_node_is_listed_at_once():
    bad = _model([helper.make_node("NonZero", ["x"], ["i"], name="nz"),
                  helper.make_node("Det", ["m"], ["d"], name="det"),
                  helper.make_node("Relu", ["d"], ["r"], name="after_det"),
                  helper.make_node("Col2Im", ["m", "s", "s"], ["c"], name="c2i", domain="com.example")],
                 [helper.make_tensor_value_info("x", F, [3]), helper.make_tensor_value_info("m", F, [2, 2]),
                  helper.make_tensor_value_info("s", TensorProto.INT64, [2]),
                  helper.make_tensor_value_info("h", TensorProto.STRING, [2])],
                 [helper.make_tensor_value_info(n, F, None) for n in ("i", "r", "c")])
    with pytest.raises(graphc.onnx.OnnxUnsupportedError) as e:
        graphc.onnx.load(bad)
    gaps = {g.node: g for g in e.value.gaps}
    assert set(gaps) == {"nz", "det", "c2i", "h"}  # Relu after an unsupported node is not reported
    assert "depends on input values" in gaps["nz"].what and gaps["nz"].opset == 17
    assert "no converter" in gaps["det"].what and "STRING" in gaps["h"].what
    assert "com.example" in str(e.value) and "4 node(s)" in str(e.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_torch_style_shape_chain_folds_when_the_input_shape_is_known(backend):
    """x.view(x.size(0), -1) as torch exports it: Shape -> Gather -> Unsqueeze -> Concat -> Reshape."""
    proto = _model([helper.make_node("Shape", ["x"], ["s"]),
                    helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.array(0))),
                    helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
                    helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
                    helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
                    helper.make_node("Reshape", ["x", "shape"], ["y"], name="flatten")],
                   [helper.make_tensor_value_info("x", F, ["batch", 3, 4])],
                   [helper.make_tensor_value_info("y", F, None)],
                   [numpy_helper.from_array(np.array([0]), "axes"), numpy_helper.from_array(np.array([-1]), "minus1")])
    with pytest.raises(graphc.onnx.OnnxUnsupportedError, match="input_shapes"):
        graphc.onnx.load(proto)
    model = graphc.onnx.load(proto, input_shapes={"x": (2, 3, 4)})
    assert model.tensor("shape").op.name == "constant"
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    (y,) = model.function(backend=backend)(x)
    np.testing.assert_array_equal(y, x.reshape(2, 12))


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradients_flow_through_an_imported_model(backend):
    rng = np.random.default_rng(1)
    proto = _dense(rng)
    model = graphc.onnx.load(proto)
    w, b = (numpy_helper.to_array(i) for i in proto.graph.initializer)
    loss = gc.sum(model.outputs[0])
    grads = gc.grad(loss, [model.params["W"], model.params["b"]])
    x = rng.standard_normal((5, 4)).astype(np.float32)
    gw, gb = gc.function(model.inputs, grads, backend=backend)(x)
    s = 1 / (1 + np.exp(-(x @ w + b)))
    np.testing.assert_allclose(gw, x.T @ (s * (1 - s)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gb, (s * (1 - s)).sum(0), rtol=1e-5, atol=1e-6)


def test_trainable_false_makes_initializers_constants():
    model = graphc.onnx.load(_dense(np.random.default_rng(0)), trainable=False)
    assert model.params == {}


@pytest.mark.parametrize("backend", BACKENDS)
def test_local_functions_are_expanded_with_their_attributes(backend):
    scaled = helper.make_function("local", "Scaled", ["a"], ["b"],
                                  [helper.make_node("Constant", [], ["k"], value_float=0.0),
                                   helper.make_node("LeakyRelu", ["a"], ["b"], name="leaky")],
                                  [helper.make_opsetid("", 17)], attributes=[])
    leaky = scaled.node[1]
    leaky.attribute.append(helper.make_attribute_ref("alpha", helper.AttributeProto.FLOAT))
    scaled.attribute.append("alpha")
    proto = _model([helper.make_node("Scaled", ["x"], ["y"], name="call", domain="local", alpha=0.25)],
                   [helper.make_tensor_value_info("x", F, [4])], [helper.make_tensor_value_info("y", F, None)],
                   functions=[scaled])
    proto.opset_import.append(helper.make_opsetid("local", 1))
    model = graphc.onnx.load(proto)
    assert model.outputs[0].loc.node == "call/leaky"
    x = np.array([-2, -1, 0, 3], np.float32)
    (y,) = model.function(backend=backend)(x)
    np.testing.assert_allclose(y, np.where(x > 0, x, 0.25 * x))


def test_run_node_and_a_dict_of_inputs_on_llvm():
    node = helper.make_node("Softmax", ["x"], ["y"], axis=0)
    x = np.random.default_rng(2).standard_normal((3, 2)).astype(np.float32)
    (y,) = GraphcBackend.run_node(node, [x])
    np.testing.assert_allclose(y, np.exp(x) / np.exp(x).sum(0), rtol=1e-6)
    rep = GraphcBackend.prepare(_dense(np.random.default_rng(0)))
    x4 = np.random.default_rng(3).standard_normal((5, 4)).astype(np.float32)
    (a,) = rep.run({"x": x4})
    (b,) = rep.run([x4])
    np.testing.assert_array_equal(a, b)
    assert GraphcBackend.supports_device("CPU") and not GraphcBackend.supports_device("CUDA")


def test_an_input_read_as_axes_is_specialized_on_its_value():
    proto = _model([helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
                   [helper.make_tensor_value_info("x", F, [2, 3]),
                    helper.make_tensor_value_info("axes", TensorProto.INT64, [1])],
                   [helper.make_tensor_value_info("y", F, [None])])
    rep = GraphcBackend.prepare(proto)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(rep.run([x, np.array([0])])[0], x.sum(0))
    np.testing.assert_array_equal(rep.run([x, np.array([1])])[0], x.sum(1))


def _torch_recurrent(kind: str):
    """A 2-layer bidirectional torch.nn.LSTM or GRU exported by torch's TorchScript exporter, and an input."""
    torch = pytest.importorskip("torch")
    import io
    torch.manual_seed(0)
    module = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True)
    x = torch.randn(5, 2, 3)
    buf = io.BytesIO()
    torch.onnx.export(module, (x,), buf, dynamo=False, input_names=["x"])
    return buf.getvalue(), x.numpy()


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_torch_exported_recurrent_layers_match_onnxruntime(kind, backend):
    ort = pytest.importorskip("onnxruntime")
    data, x = _torch_recurrent(kind)
    want = ort.InferenceSession(data).run(None, {"x": x})
    got = graphc.onnx.load(onnx.load_from_string(data)).function(backend=backend)(x)
    assert len(got) == len(want) == (3 if kind == "LSTM" else 2)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_gradient_through_an_imported_lstm_matches_finite_differences():
    """d sum(c * Y) / dW of the first LSTM node, against central differences of onnxruntime's output."""
    ort = pytest.importorskip("onnxruntime")
    data, x = _torch_recurrent("LSTM")
    proto = onnx.load_from_string(data)
    w_name = next(n for n in proto.graph.node if n.op_type == "LSTM").input[1]
    model = graphc.onnx.load(proto)
    c = np.random.default_rng(0).standard_normal(model.outputs[0].shape).astype(np.float32)
    (grad,) = gc.grad(gc.sum(model.outputs[0] * c), [model.params[w_name]])
    (g,) = gc.function(model.inputs, [grad], backend="llvm")(x)
    init = next(i for i in proto.graph.initializer if i.name == w_name)
    w0 = numpy_helper.to_array(init).astype(np.float64)

    def loss(w):
        init.CopyFrom(numpy_helper.from_array(w.astype(np.float32), w_name))
        (y,) = ort.InferenceSession(proto.SerializeToString()).run([proto.graph.output[0].name], {"x": x})
        return float((y.astype(np.float64) * c).sum())

    eps = 1e-2
    for idx in [(0, 0, 0), (1, 5, 2), (0, 9, 1), (1, 15, 0)]:  # gates i, o, f, c of both directions
        up, down = w0.copy(), w0.copy()
        up[idx] += eps
        down[idx] -= eps
        np.testing.assert_allclose(g[idx], (loss(up) - loss(down)) / (2 * eps), rtol=1e-2, atol=2e-4)


@pytest.mark.parametrize("attrs, lens, match", [
    ({"input_forget": 1}, None, "input_forget=1"),
    ({"activations": ["Sigmoid", "Softsign", "Tanh"]}, None, "activation 'Softsign'"),
    ({}, [3, 2], r"sequence_lens \[3, 2\] shorter"),
])
def test_lstm_features_graphc_lacks_are_reported(attrs, lens, match):
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n)
             for n, s in (("W", (1, 8, 3)), ("R", (1, 8, 2)))]
    if lens is not None:
        inits.append(numpy_helper.from_array(np.array(lens, np.int32), "lens"))
    node = helper.make_node("LSTM", ["x", "W", "R", "", "lens" if lens else ""], ["y"], hidden_size=2, **attrs)
    proto = _model([node], [helper.make_tensor_value_info("x", F, [3, 2, 3])],
                   [helper.make_tensor_value_info("y", F, None)], inits)
    with pytest.raises(graphc.onnx.OnnxUnsupportedError, match=match):
        graphc.onnx.load(proto)
