"""Windows over 1 to 3 spatial axes: conv3d, pools with dilation, ceil_mode, asymmetric and large
padding, count_include_pad, im2col/col2im and transposed convolutions. Values and gradients against
PyTorch (stored references, tests/torchref.py), derivatives against finite differences, and the
ONNX-only padding forms against onnxruntime and ONNX's reference evaluator."""
import numpy as np
import pytest

import graphc as gc
from graphc import nn
from graphc.ops.window import onnx_padding
from graphc.testing import check_grad
from test_conv import _compare
from torchref import reference

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.:UserWarning")


@pytest.mark.parametrize("shape, out, kernel, stride, padding, dilation, groups", [
    ((2, 4, 5, 6, 7), 6, (3, 2, 3), (2, 1, 2), ((1, 0), (2, 1), (0, 3)), (1, 2, 1), 2),
    ((1, 2, 4, 5, 5), 3, (2, 2, 2), 1, "same", 1, 1),
    ((2, 3, 4, 4, 5), 4, (1, 3, 3), (1, 2, 1), (0, 1, 1), (1, 1, 2), 1),
])
def test_conv3d_matches_torch(rng, shape, out, kernel, stride, padding, dilation, groups, backend, torch_key):
    x = rng.standard_normal(shape)
    w = rng.standard_normal((out, shape[1] // groups) + kernel)

    def torch_fn(F, x, w):
        if isinstance(padding, tuple) and isinstance(padding[0], tuple):
            flat = tuple(p for pair in reversed(padding) for p in pair)  # F.pad's order: last axis first
            return F.conv3d(F.pad(x, flat), w, None, stride, 0, dilation, groups)
        return F.conv3d(x, w, None, stride, padding, dilation, groups)
    _compare(torch_key, lambda x, w: gc.conv3d(x, w, stride, padding, dilation, groups), torch_fn, [x, w],
             backend=backend)


POOL2D = [  # kernel, stride, padding, dilation, ceil_mode
    (3, 2, 1, 2, True),
    ((2, 3), 2, (1, 1), 1, True),
    (3, (2, 3), 0, (1, 2), False),
    (2, 3, 1, 1, True),
]


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil", POOL2D)
def test_max_pool2d_options_match_torch(rng, kernel, stride, padding, dilation, ceil, backend, torch_key):
    x = rng.standard_normal((2, 3, 9, 10))
    _compare(torch_key, lambda x: gc.max_pool2d(x, kernel, stride, padding, dilation, ceil),
             lambda F, x: F.max_pool2d(x, kernel, stride, padding, dilation, ceil), [x], backend=backend)


@pytest.mark.parametrize("kernel, stride, padding, ceil", [(3, 2, 1, True), ((2, 3), 2, (1, 1), True),
                                                           (3, (2, 3), 1, False), (2, 3, 1, True)])
@pytest.mark.parametrize("include", [True, False])
def test_avg_pool2d_options_match_torch(rng, kernel, stride, padding, ceil, include, backend, torch_key):
    x = rng.standard_normal((2, 3, 9, 10))
    _compare(torch_key, lambda x: gc.avg_pool2d(x, kernel, stride, padding, ceil, include),
             lambda F, x: F.avg_pool2d(x, kernel, stride, padding, ceil, include), [x], backend=backend)


def test_pools_3d_and_1d_match_torch(rng, backend, torch_key):
    x3, x1 = rng.standard_normal((2, 2, 5, 6, 7)), rng.standard_normal((2, 3, 11))
    _compare(f"{torch_key}-max3", lambda x: gc.max_pool3d(x, 3, 2, 1, (1, 2, 1), True),
             lambda F, x: F.max_pool3d(x, 3, 2, 1, (1, 2, 1), True), [x3], backend=backend)
    _compare(f"{torch_key}-avg3", lambda x: gc.avg_pool3d(x, (2, 3, 2), 2, (1, 1, 0), True, False),
             lambda F, x: F.avg_pool3d(x, (2, 3, 2), 2, (1, 1, 0), True, False), [x3], backend=backend)
    _compare(f"{torch_key}-max1", lambda x: gc.max_pool1d(x, 3, 2, 1, 2, True),
             lambda F, x: F.max_pool1d(x, 3, 2, 1, 2, True), [x1], backend=backend)
    _compare(f"{torch_key}-avg1", lambda x: gc.avg_pool1d(x, 4, 3, 2, True, True),
             lambda F, x: F.avg_pool1d(x, 4, 3, 2, True, True), [x1], backend=backend)


def test_im2col_and_col2im_match_torch(rng, backend, torch_key):
    x = rng.standard_normal((2, 3, 7, 8))
    _compare(f"{torch_key}-unfold", lambda x: gc.im2col(x, (2, 3), (1, 2), (1, 0), (2, 1)),
             lambda F, x: F.unfold(x, (2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1)), [x], backend=backend)
    cols = rng.standard_normal((2, 3 * 6, 7 * 3))  # 7 x 3 windows of (2, 3) over a padded 7 x 8 image
    _compare(f"{torch_key}-fold", lambda c: gc.col2im(c, (7, 8), (2, 3), (1, 2), (1, 0), (2, 1)),
             lambda F, c: F.fold(c, (7, 8), (2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1)), [cols],
             backend=backend)


@pytest.mark.parametrize("rank, shape, wshape, stride, padding, output_padding, groups, dilation", [
    (1, (2, 4, 5), (4, 2, 3), 2, 1, 1, 2, 1),
    (2, (2, 4, 5, 6), (4, 3, 3, 2), (2, 3), (1, 0), (1, 2), 2, (2, 1)),
    (3, (1, 2, 3, 4, 3), (2, 2, 2, 3, 2), 2, (0, 1, 1), 1, 1, (1, 1, 2)),
    (2, (1, 2, 1, 3), (2, 1, 3, 2), 1, (1, 0), (1, 0), 2, (2, 1)),  # output_padding past the stride (fuzz finding)
])
def test_conv_transpose_matches_torch(rng, rank, shape, wshape, stride, padding, output_padding, groups, dilation,
                                      backend, torch_key):
    x, w = rng.standard_normal(shape), rng.standard_normal(wshape)
    ours = {1: gc.conv_transpose1d, 2: gc.conv_transpose2d, 3: gc.conv_transpose3d}[rank]
    _compare(torch_key, lambda x, w: ours(x, w, stride, padding, output_padding, groups, dilation),
             lambda F, x, w: getattr(F, f"conv_transpose{rank}d")(x, w, None, stride, padding, output_padding,
                                                                   groups, dilation), [x, w], backend=backend)


def test_free_batch_conv_transpose_and_col2im_match_torch(rng, backend, torch_key):
    """Their output is shaped by the batch: a free (None) batch is taken from the input at each call."""
    x, w, cols = rng.standard_normal((3, 2, 1, 3)), rng.standard_normal((2, 1, 3, 2)), rng.standard_normal((3, 12, 21))

    def torch_fn():
        import torch
        import torch.nn.functional as F
        return {"y": F.conv_transpose2d(torch.tensor(x), torch.tensor(w), None, (1, 2), (1, 0), (1, 1), 2, (2, 1)),
                "fold": F.fold(torch.tensor(cols), (7, 8), (2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1))}
    want = reference(torch_key, torch_fn)
    xp, cp = gc.placeholder((None, 2, 1, 3), "float64"), gc.placeholder((None, 12, 21), "float64")
    y = gc.conv_transpose2d(xp, w, (1, 2), (1, 0), (1, 1), 2, (2, 1))
    folded = gc.col2im(cp, (7, 8), (2, 3), (1, 2), (1, 0), (2, 1))
    assert y.shape == (None, 2, 4, 7) and folded.shape == (None, 2, 7, 8)
    got = gc.function([xp, cp], [y, folded], backend=backend)(x, cols)
    np.testing.assert_allclose(got[0], want["y"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1], want["fold"], rtol=1e-10, atol=1e-12)


def test_3d_layers_match_torch(rng, backend, torch_key):
    conv = nn.Conv3d(2, 4, (2, 3, 3), stride=(1, 2, 1), padding=1, rng=0, dtype="float64")
    conv.bias.value = rng.standard_normal(4)
    x = rng.standard_normal((2, 2, 4, 6, 5))
    _compare(f"{torch_key}-conv", conv, lambda F, x, w, b: F.conv3d(x, w, b, (1, 2, 1), 1), [x],
             [conv.weight, conv.bias], backend=backend)
    _compare(f"{torch_key}-pools", lambda x: nn.AvgPool3d(2, ceil_mode=True, count_include_pad=False, padding=1)(
        nn.MaxPool3d(2, 1, dilation=(1, 2, 1))(x)),
        lambda F, x: F.avg_pool3d(F.max_pool3d(x, 2, 1, 0, (1, 2, 1)), 2, None, 1, True, False), [x], backend=backend)


def test_new_windows_second_derivatives(backend):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 3, 4, 3)), rng.standard_normal((2, 1, 2, 2, 2))
    check_grad(lambda x, w: gc.sum(gc.sin(gc.conv3d(x, w, (1, 2, 1), ((1, 0), (0, 1), (1, 1)), groups=2))), [x, w],
               order=2, backend=backend)
    x2 = rng.standard_normal((1, 2, 5, 6))
    check_grad(lambda x: gc.sum(gc.avg_pool2d(x, 3, 2, ((2, 0), (1, 3)), True, False, 2) ** 2), [x2], order=2,
               backend=backend)
    check_grad(lambda x: gc.sum(gc.max_pool2d(x, 2, 2, ((0, 1), (1, 0)), ceil_mode=True) ** 2), [x2], backend=backend)
    check_grad(lambda x, w: gc.sum(gc.conv_transpose2d(x, w, 2, (1, 0), 1) ** 2),
               [x2, rng.standard_normal((2, 3, 2, 3))], order=2, backend=backend)


def _onnx_pool(op_type: str, x: np.ndarray, **attrs) -> dict:
    """One ONNX pooling node run by onnxruntime and by ONNX's reference evaluator."""
    pytest.importorskip("onnx", reason="ONNX's own pooling semantics are the reference")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is the reference ONNX runtime")
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    node = helper.make_node(op_type, ["x"], ["y"], **attrs)
    graph = helper.make_graph([node], "pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    model.ir_version = 10
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return {"ort": session.run(None, {"x": x})[0], "reference": ReferenceEvaluator(model).run(
        None, {"x": x})[0]}


ONNX_POOLS = [  # op, kernel, strides, pads (begins, then ends; onnxruntime wants each below the kernel), dilations,
    # ceil_mode, count_include_pad
    ("MaxPool", (3, 3), (2, 2), (2, 0, 2, 1), (1, 1), 0, 0),  # pads above half the kernel, asymmetric
    ("MaxPool", (2, 3), (2, 1), (0, 1, 1, 2), (2, 1), 1, 0),
    ("AveragePool", (3, 2), (2, 2), (1, 0, 2, 1), (1, 1), 0, 0),
    ("AveragePool", (3, 3), (2, 2), (2, 1, 1, 2), (1, 1), 0, 1),
    ("AveragePool", (2, 2), (2, 2), (1, 1, 0, 0), (1, 1), 1, 1),
    ("AveragePool", (2, 2), (3, 2), (1, 0, 1, 1), (2, 1), 1, 0),
]


@pytest.mark.parametrize("op_type, kernel, strides, pads, dilations, ceil, include", ONNX_POOLS)
def test_onnx_pool_padding_matches_onnxruntime(rng, op_type, kernel, strides, pads, dilations, ceil, include,
                                               backend):
    x = rng.standard_normal((1, 2, 7, 8)).astype("float32")
    attrs = dict(kernel_shape=kernel, strides=strides, pads=pads, dilations=dilations, ceil_mode=ceil)
    if op_type == "AveragePool":
        attrs["count_include_pad"] = include
    want = _onnx_pool(op_type, x, **attrs)
    padding = onnx_padding(op_type, x.shape[2:], kernel, strides, dilations, pads)
    if op_type == "MaxPool":
        build = lambda x: gc.max_pool2d(x, kernel, strides, padding, dilations, bool(ceil))  # noqa: E731
    else:
        build = lambda x: gc.avg_pool2d(x, kernel, strides, padding, bool(ceil), bool(include), dilations)  # noqa: E731
    (got,) = gc.function([p := gc.placeholder(x.shape)], [build(p)], backend=backend)(x)
    np.testing.assert_allclose(got, want["ort"], rtol=1e-5, atol=1e-6)
    if not ceil:  # ONNX's reference evaluator centres a ceil-mode extension; onnxruntime and torch add it after
        np.testing.assert_allclose(got, want["reference"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
def test_onnx_auto_pad_matches_onnxruntime(rng, auto_pad, backend):
    x = rng.standard_normal((1, 2, 7, 8)).astype("float32")
    want = _onnx_pool("MaxPool", x, kernel_shape=(3, 2), strides=(2, 3), auto_pad=auto_pad)
    padding = onnx_padding("MaxPool", x.shape[2:], (3, 2), (2, 3), auto_pad=auto_pad)
    (got,) = gc.function([p := gc.placeholder(x.shape)], [gc.max_pool2d(p, (3, 2), (2, 3), padding)],
                         backend=backend)(x)
    np.testing.assert_array_equal(got, want["ort"])
    if auto_pad != "SAME_LOWER":  # ONNX's reference evaluator keeps floor((n - 1) / stride) + 1 outputs for it
        np.testing.assert_array_equal(got, want["reference"])


def test_onnx_padding_forms():
    assert onnx_padding("Conv", (5, 6), (3, 3), pads=(1, 2, 3, 4)) == ((1, 3), (2, 4))
    assert onnx_padding("Conv", (5, 5), (3, 4), (2, 2), auto_pad="SAME_UPPER") == ((1, 1), (1, 2))
    assert onnx_padding("Conv", (5, 5), (3, 4), (2, 2), auto_pad="SAME_LOWER") == ((1, 1), (2, 1))
    assert onnx_padding("Conv", (None, 6), (3, 4), auto_pad="VALID") == ((0, 0), (0, 0))
    with pytest.raises(gc.ShapeError, match="auto_pad=SAME_UPPER needs the input's spatial sizes"):
        onnx_padding("Conv", (None, 6), (3, 4), auto_pad="SAME_UPPER")


def test_col2im_3d_matches_onnx_reference(rng, backend):
    """ONNX's Col2Im over volumes (torch's fold has images only)."""
    pytest.importorskip("onnx", reason="ONNX's reference evaluator is the 3-D Col2Im reference")
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    image, block, pads = (4, 5, 3), (2, 3, 2), (1, 0, 1, 0, 1, 1)
    cols = rng.standard_normal((2, 2 * 12, 4 * 4 * 4)).astype("float32")
    node = helper.make_node("Col2Im", ["x", "image", "block"], ["y"], pads=pads, strides=(1, 1, 1))
    graph = helper.make_graph([node], "col2im", [helper.make_tensor_value_info(n, t, None) for n, t in
                                                 (("x", TensorProto.FLOAT), ("image", TensorProto.INT64),
                                                  ("block", TensorProto.INT64))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    want = ReferenceEvaluator(model).run(None, {"x": cols, "image": np.array(image), "block": np.array(block)})[0]
    padding = onnx_padding("Col2Im", image, block, pads=pads)
    (got,) = gc.function([p := gc.placeholder(cols.shape)], [gc.col2im(p, image, block, 1, padding)],
                         backend=backend)(cols)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    check_grad(lambda c: gc.sum(gc.col2im(c, image, block, 1, padding) ** 2), [cols[:1].astype("float64")],
               backend=backend)
