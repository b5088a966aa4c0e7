"""Convolution, pooling, normalization and embedding: values and gradients against PyTorch,
derivatives (first and second order) against finite differences, and declaration-time errors."""
import numpy as np
import pytest

import graphc as gc
from graphc import nn
from graphc.testing import check_grad
from torchref import reference

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.:UserWarning")


def _torch_value_and_grads(torch_fn, arrays) -> dict:
    """torch_fn(F, *tensors) and the gradients of sum(sin(it)) with respect to each tensor, float64."""
    import torch
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ty = torch_fn(torch.nn.functional, *ts)
    torch.sin(ty).sum().backward()
    return {"y": ty, **{f"grad{i}": t.grad for i, t in enumerate(ts)}}


def _compare(key, build, torch_fn, arrays, params=(), atol=1e-10, *, backend):
    """Forward value and gradients (of sum(sin(y))) of a graphc graph and torch_fn(F, *arrays, *params), float64."""
    xs = [gc.placeholder(a.shape, "float64", name=f"a{i}") for i, a in enumerate(arrays)]
    y = build(*xs)
    wrt = xs + list(params)
    out = gc.function(xs, [y] + gc.grad(gc.sum(gc.sin(y)), wrt), backend=backend)(*arrays)
    inputs = list(arrays) + [p.value for p in params]
    want = reference(key, lambda: _torch_value_and_grads(torch_fn, inputs))
    np.testing.assert_allclose(out[0], want["y"], atol=atol, rtol=1e-8)
    for i, got in enumerate(out[1:]):
        np.testing.assert_allclose(got, want[f"grad{i}"], atol=atol, rtol=1e-8)


CONV_CASES = [  # (input shape, out channels, kernel, stride, padding, dilation, groups)
    ((2, 3, 7, 8), 4, (3, 3), 1, 0, 1, 1),
    ((2, 3, 7, 8), 4, (3, 3), 1, 1, 1, 1),
    ((2, 4, 9, 8), 6, (3, 2), 2, (1, 2), (2, 1), 2),
    ((1, 4, 9, 10), 4, (3, 3), (2, 3), 0, 1, 4),
    ((2, 2, 6, 7), 3, (3, 4), 1, "same", (2, 1), 1),
    ((2, 2, 6, 7), 3, (2, 2), 1, "valid", 1, 1),
]


@pytest.mark.parametrize("shape, out, kernel, stride, padding, dilation, groups", CONV_CASES)
def test_conv2d_matches_torch(rng, shape, out, kernel, stride, padding, dilation, groups, backend, torch_key):
    x = rng.standard_normal(shape)
    w = rng.standard_normal((out, shape[1] // groups) + kernel)
    _compare(torch_key, lambda x, w: gc.conv2d(x, w, stride, padding, dilation, groups),
             lambda F, x, w: F.conv2d(x, w, None, stride, padding, dilation, groups), [x, w], backend=backend)


def test_conv1d_matches_torch(rng, backend, torch_key):
    x, w = rng.standard_normal((2, 4, 11)), rng.standard_normal((6, 2, 3))
    _compare(torch_key, lambda x, w: gc.conv1d(x, w, 2, 1, 2, 2), lambda F, x, w: F.conv1d(x, w, None, 2, 1, 2, 2),
             [x, w], backend=backend)


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 0))])
def test_pools_match_torch(rng, kernel, stride, padding, backend, torch_key):
    x = rng.standard_normal((2, 3, 7, 8))
    _compare(f"{torch_key}-max", lambda x: gc.max_pool2d(x, kernel, stride, padding),
             lambda F, x: F.max_pool2d(x, kernel, stride, padding), [x], backend=backend)
    _compare(f"{torch_key}-avg", lambda x: gc.avg_pool2d(x, kernel, stride, padding),
             lambda F, x: F.avg_pool2d(x, kernel, stride, padding), [x], backend=backend)


def test_global_avg_pool_and_flatten(rng, backend, torch_key):
    x = rng.standard_normal((2, 3, 4, 5))
    _compare(f"{torch_key}-pool", gc.global_avg_pool2d, lambda F, x: x.mean((2, 3)), [x], backend=backend)
    _compare(f"{torch_key}-flatten", gc.flatten, lambda F, x: x.flatten(1), [x], backend=backend)


def test_conv_second_derivatives(backend):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((4, 1, 3, 2))
    check_grad(lambda x, w: gc.sum(gc.sin(gc.conv2d(x, w, (2, 1), 1, (1, 2), 2))), [x, w], order=2, backend=backend)
    check_grad(lambda x, w: gc.sum(gc.conv1d(x[:, :, 0], w[:, :, 0], 1, "same", groups=2) ** 2), [x, w], order=2,
               backend=backend)


@pytest.mark.parametrize("pool", [gc.max_pool2d, gc.avg_pool2d])
def test_pool_derivatives(pool, backend):
    x = np.random.default_rng(1).standard_normal((2, 2, 5, 6))
    check_grad(lambda x: gc.sum(pool(x, 3, 2, 1) ** 2), [x], order=2, backend=backend)


def test_conv_layer_matches_torch(rng, backend, torch_key):
    layer = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, rng=0, dtype="float64")
    layer.bias.value = rng.standard_normal(6)
    x = rng.standard_normal((2, 4, 7, 7))
    _compare(torch_key, layer, lambda F, x, w, b: F.conv2d(x, w, b, 2, 1, 1, 2), [x], [layer.weight, layer.bias],
             backend=backend)


def _torch_batch_norm_statistics(x: np.ndarray, steps: int) -> dict:
    """BatchNorm2d(momentum=0.2)'s running mean and variance after `steps` training passes over x."""
    import torch
    ref = torch.nn.BatchNorm2d(x.shape[1], momentum=0.2).double()
    for _ in range(steps):
        ref(torch.tensor(x))
    return {"running_mean": ref.running_mean, "running_var": ref.running_var}


def test_batch_norm_train_and_eval_match_torch(rng, backend, torch_key):
    x = rng.standard_normal((4, 3, 5, 5)) * 2.0 + 1.0
    bn = nn.BatchNorm(3, momentum=0.2, dtype="float64")
    bn.weight.value, bn.bias.value = rng.standard_normal(3), rng.standard_normal(3)
    _compare(f"{torch_key}-train", bn, lambda F, x, w, b: F.batch_norm(x, None, None, w, b, True),
             [x], [bn.weight, bn.bias], backend=backend)
    xp = gc.placeholder(x.shape, "float64")
    step = gc.function([xp], bn(xp), updates=bn.state_updates(), backend=backend)
    for _ in range(2):
        step(x)
    stats = reference(f"{torch_key}-statistics", lambda: _torch_batch_norm_statistics(x, 2))
    np.testing.assert_allclose(bn.running_mean.value, stats["running_mean"], atol=1e-12)
    np.testing.assert_allclose(bn.running_var.value, stats["running_var"], atol=1e-12)
    bn.eval()
    assert bn.state_updates() == []
    mean, var = stats["running_mean"], stats["running_var"]
    _compare(f"{torch_key}-eval", bn, lambda F, x, w, b: F.batch_norm(x, x.new_tensor(mean), x.new_tensor(var), w, b),
             [x], [bn.weight, bn.bias], backend=backend)


def test_batch_norm_1d_and_layer_norm_match_torch(rng, backend, torch_key):
    x = rng.standard_normal((6, 4)) + 3.0
    bn = nn.BatchNorm(4, dtype="float64")
    _compare(f"{torch_key}-batch_norm", bn, lambda F, x, w, b: F.batch_norm(x, None, None, w, b, True), [x],
             [bn.weight, bn.bias], backend=backend)
    x3 = rng.standard_normal((2, 3, 4, 5))
    ln = nn.LayerNorm((4, 5), dtype="float64")
    ln.weight.value, ln.bias.value = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    _compare(f"{torch_key}-layer_norm", ln, lambda F, x, w, b: F.layer_norm(x, (4, 5), w, b), [x3],
             [ln.weight, ln.bias], backend=backend)
    check_grad(lambda x: gc.sum(gc.sin(nn.layer_norm(x, 2))), [x3[0]], backend=backend)
    check_grad(lambda x: gc.sum(gc.sin(nn.BatchNorm(4, dtype="float64")(x))), [x], backend=backend)


def _torch_embedding(weight: np.ndarray, ids: np.ndarray) -> dict:
    """F.embedding(ids, weight) and the gradient of sum(sin(it)) with respect to the weight."""
    import torch
    tw = torch.tensor(weight, requires_grad=True)
    ty = torch.nn.functional.embedding(torch.tensor(ids), tw)
    torch.sin(ty).sum().backward()
    return {"y": ty, "grad": tw.grad}


def test_embedding_matches_torch(rng, backend, torch_key):
    emb = nn.Embedding(7, 3, rng=0, dtype="float64")
    ids = np.array([[1, 3, 3], [0, 6, 1]])
    i = gc.placeholder(ids.shape, "int64")
    y = emb(i)
    out, g = gc.function([i], [y, gc.grad(gc.sum(gc.sin(y)), emb.weight)], backend=backend)(ids)
    want = reference(torch_key, lambda: _torch_embedding(emb.weight.value, ids))
    np.testing.assert_allclose(out, want["y"])
    np.testing.assert_allclose(g, want["grad"], atol=1e-12)
    with pytest.raises(gc.DTypeError, match="Embedding"):
        emb(gc.placeholder((2,), "float32"))


def test_non_positive_output_size_is_a_clear_error():
    x = gc.placeholder((None, 1, 4, 4))
    with pytest.raises(gc.ShapeError) as e:
        gc.conv2d(x, gc.placeholder((2, 1, 5, 5)))
    msg = str(e.value)
    assert "test_conv.py" in msg.splitlines()[0]
    assert "conv2d" in msg and "[?, 1, 4, 4]" in msg and "kernel (5, 5)" in msg and "fix:" in msg
    with pytest.raises(gc.ShapeError, match="max_pool2d.*kernel \\(3, 3\\), stride \\(4, 4\\)"):
        gc.max_pool2d(gc.placeholder((1, 1, 2, 2)), 3, 4)
    with pytest.raises(gc.ShapeError, match="groups=2"):
        gc.conv2d(gc.placeholder((1, 3, 5, 5)), gc.placeholder((4, 1, 3, 3)), groups=2)
    with pytest.raises(gc.ShapeError, match="'same' needs stride 1"):
        gc.conv2d(gc.placeholder((1, 1, 5, 5)), gc.placeholder((1, 1, 3, 3)), stride=2, padding="same")
    with pytest.raises(gc.ShapeError, match="Conv2d"):
        nn.Conv2d(3, 4, 3)(gc.placeholder((1, 2, 5, 5)))


def test_free_batch_dim_specializes(rng, backend):
    x = gc.placeholder((None, 1, 8, 8))
    layer = nn.Conv2d(1, 2, 3, padding="same")
    f = gc.function([x], gc.max_pool2d(layer(x), 2), backend=backend)
    assert f(rng.standard_normal((3, 1, 8, 8)).astype("float32")).shape == (3, 2, 4, 4)
    assert f(rng.standard_normal((5, 1, 8, 8)).astype("float32")).shape == (5, 2, 4, 4)


def _numpy_conv_and_grads(x, w, gy, stride, padding, dilation):
    """conv2d (groups 1) and the gradients of sum(y * gy) with respect to x and w, straight from the
    definition: each kernel element (i, j) multiplies a strided slice of the padded image."""
    (n, _, h, wd), (o, _, kh, kw), (ho, wo) = x.shape, w.shape, gy.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    y, gxp, gw = np.zeros((n, o, ho, wo)), np.zeros_like(xp), np.zeros_like(w)
    for i in range(kh):
        for j in range(kw):
            at = (slice(None), slice(None), slice(i * dilation, i * dilation + stride * (ho - 1) + 1, stride),
                  slice(j * dilation, j * dilation + stride * (wo - 1) + 1, stride))
            y += np.einsum("nchw,oc->nohw", xp[at], w[:, :, i, j])
            gxp[at] += np.einsum("nohw,oc->nchw", gy, w[:, :, i, j])
            gw[:, :, i, j] = np.einsum("nchw,nohw->oc", xp[at], gy)
    return y, gxp[:, :, padding:padding + h, padding:padding + wd], gw


@pytest.mark.parametrize("shape, out, stride, padding, dilation", [
    ((12, 8, 24, 24), 6, 1, 1, 1),  # 6 images' columns per tile, 2 tiles: packed tiles, gw summed over them
    ((12, 8, 24, 24), 8, 1, 1, 1),  # 8 filters: conv2d as y^T = cols^T @ w^T, transposed into the tiles
    ((3, 16, 40, 40), 8, 1, 0, 2),  # one image per tile: products straight into the images
    ((3, 16, 61, 59), 6, 2, 2, 1),  # one image per tile, strided, padded, odd sizes
    ((0, 16, 24, 24), 8, 1, 1, 1),  # an empty batch: no tiles, a zero weight gradient
])
@pytest.mark.parametrize("groups", [1, 2])
def test_conv_tiles_match_numpy(rng, shape, out, stride, padding, dilation, groups, backend):
    """Batches whose float64 columns exceed conv.TILE_BYTES run as several tiles of images (LLVM)."""
    x, w = rng.standard_normal(shape), rng.standard_normal((out, shape[1] // groups, 3, 3))
    xs, ws = gc.placeholder(shape, "float64", name="x"), gc.placeholder(w.shape, "float64", name="w")
    y = gc.conv2d(xs, ws, stride, padding, dilation, groups)
    gy = rng.standard_normal(y.shape)
    gys = gc.placeholder(gy.shape, "float64", name="gy")
    got = gc.function([xs, ws, gys], [y] + gc.grad(gc.sum(y * gys), [xs, ws]), backend=backend)(x, w, gy)
    c, o = shape[1] // groups, out // groups
    parts = [_numpy_conv_and_grads(x[:, g * c:(g + 1) * c], w[g * o:(g + 1) * o], gy[:, g * o:(g + 1) * o],
                                   stride, padding, dilation) for g in range(groups)]
    for g, want in zip(got, (np.concatenate(p, axis=1 if i < 2 else 0) for i, p in enumerate(zip(*parts)))):
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-10)
