"""gc.losses against torch.nn.functional: values and gradients, every reduction, float64."""
import numpy as np
import pytest

import graphc as gc
from graphc import losses
from torchref import reference

RNG = np.random.default_rng(0)
PRED = RNG.standard_normal((6, 3)) * 2
TARGET = RNG.standard_normal((6, 3))
PROB = 1 / (1 + np.exp(-PRED))
BITS = (RNG.random((6, 3)) > 0.5).astype(np.float64)
LABELS = np.array([0, 2, 1, 1, 0, 2])

CASES = [  # name, graphc loss, torch loss (its name in torch.nn.functional and keywords), prediction, target
    ("mse", losses.mse, ("mse_loss", {}), PRED, TARGET),
    ("mae", losses.mae, ("l1_loss", {}), PRED, TARGET),
    ("huber", lambda p, t, reduction: losses.huber(p, t, 0.7, reduction), ("huber_loss", {"delta": 0.7}), PRED, TARGET),
    ("bce", losses.binary_cross_entropy, ("binary_cross_entropy", {}), PROB, BITS),
    ("bce_logits", losses.binary_cross_entropy_with_logits, ("binary_cross_entropy_with_logits", {}), PRED, BITS),
    ("ce_labels", losses.cross_entropy, ("cross_entropy", {}), PRED, LABELS),
    ("ce_onehot", losses.cross_entropy, ("cross_entropy", {}), PRED, np.eye(3)[LABELS]),
    ("ce_soft", losses.cross_entropy, ("cross_entropy", {}), PRED,
     np.exp(TARGET) / np.exp(TARGET).sum(1, keepdims=True)),
    ("nll", losses.nll, ("nll_loss", {}), PRED - np.log(np.exp(PRED).sum(1, keepdims=True)), LABELS),
]


def _torch_loss(ref, pred, target, weight=1.0, **kw) -> dict:
    """torch.nn.functional.<ref[0]>(pred, target, **ref[1], **kw) and the gradient of sum(value * weight) by pred."""
    import torch
    name, options = ref
    tp = torch.tensor(pred, requires_grad=True)
    tvalue = getattr(torch.nn.functional, name)(tp, torch.tensor(target), **options, **kw)
    (tvalue * torch.tensor(weight)).sum().backward()
    return {"value": tvalue, "grad": tp.grad}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,loss,ref,pred,target", CASES, ids=[c[0] for c in CASES])
def test_loss_matches_torch(name, loss, ref, pred, target, reduction, backend, torch_key):
    p = gc.placeholder(pred.shape, "float64", "pred")
    t = gc.placeholder(target.shape, target.dtype, "target")
    value = loss(p, t, reduction=reduction)
    weight = np.random.default_rng(1).standard_normal(value.shape)
    ours = gc.function([p, t], [value, gc.grad(gc.sum(value * weight), p)], backend=backend)(pred, target)
    want = reference(torch_key, lambda: _torch_loss(ref, pred, target, weight, reduction=reduction))
    np.testing.assert_allclose(ours[0], want["value"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours[1], want["grad"], rtol=1e-12, atol=1e-15)


def test_logit_losses_stay_finite_at_extremes(backend):
    z = gc.placeholder((4,), "float32")
    t = np.array([1.0, 0.0, 0.0, 1.0], "float32")
    bce = losses.binary_cross_entropy_with_logits(z, t, "none")
    ce = losses.cross_entropy(gc.reshape(z, (1, 4)), np.array([3]), "none")
    logits = np.array([200.0, -200.0, 200.0, -200.0], "float32")
    v, c, g = gc.function([z], [bce, ce, gc.grad(gc.sum(bce), z)], backend=backend)(logits)
    np.testing.assert_allclose(v, [0, 0, 200, 200], atol=1e-6)
    np.testing.assert_allclose(c, [400.0 + np.log(2.0)])  # two logits of 200 share the top
    np.testing.assert_allclose(g, [0, 0, 1, -1])
    probs = losses.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 1.0]), "none")
    np.testing.assert_allclose(gc.function([], probs, backend=backend)(), [100.0, 0.0])  # torch's log clamp at -100


def test_loss_errors_name_the_loss_and_shapes():
    with pytest.raises(gc.ShapeError, match=r"(?s)mse: prediction float32\[4, 1\] and target float32\[4\]"):
        losses.mse(gc.placeholder((4, 1)), gc.placeholder((4,)))
    with pytest.raises(gc.ShapeError, match="cross_entropy: integer targets"):
        losses.cross_entropy(gc.placeholder((4, 3)), gc.placeholder((4, 1), "int64"))
    with pytest.raises(gc.GraphcError, match="unknown reduction 'avg'"):
        losses.mse(gc.placeholder((2,)), gc.placeholder((2,)), reduction="avg")


#: p in {0, 1, 0.3} against every target in {0, 1, 0.5}: the clamped logs and torch's guarded gradient
EDGE_P = np.repeat([0.0, 1.0, 0.3], 3)
EDGE_T = np.tile([0.0, 1.0, 0.5], 3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_gradient_at_p_0_and_1_is_torchs(dtype, backend, torch_key):
    """d/dp is (p - t) / max(p (1 - p), 1e-12) as in torch: finite (up to -1e12) where 1/p is not."""
    p = gc.placeholder((9,), dtype, "p")
    t = gc.placeholder((9,), dtype, "t")
    value = losses.binary_cross_entropy(p, t, "none")
    ours = gc.function([p, t], [value, *gc.grad(gc.sum(value), [p, t])], backend=backend)(
        EDGE_P.astype(dtype), EDGE_T.astype(dtype))
    want = reference(torch_key, lambda: _torch_loss(("binary_cross_entropy", {}), EDGE_P.astype(dtype),
                                                    EDGE_T.astype(dtype), reduction="none"))
    assert np.isfinite(ours[1]).all()
    np.testing.assert_allclose(ours[0], want["value"], rtol=1e-6)
    np.testing.assert_allclose(ours[1], want["grad"], rtol=1e-6)
    np.testing.assert_allclose(ours[1][:2], [0.0, -1e12], rtol=1e-6)  # closed form at p = 0, t = 0 and 1
    # d/dt: the clamped log(1 - p) - log(p): 100 at p = 0, -100 at p = 1 (torch's unclamped one is +-inf)
    np.testing.assert_allclose(ours[2], np.repeat([100.0, -100.0, np.log(0.7 / 0.3)], 3), rtol=1e-6)


@pytest.mark.parametrize("optimize", ["O0", "O1", "O2"])
@pytest.mark.parametrize("bad,position", [(3, 2), (-1, 1), (-3, 0)])
@pytest.mark.parametrize("which", ["cross_entropy", "nll", "nll_of_log_softmax"])
def test_labels_out_of_range_are_errors(which, bad, position, optimize, backend):
    """A label outside [0, classes) names the loss, the label and the range on every backend and
    O-level, including the stabilized forms (log(softmax) and the fused softmax cross-entropy)."""
    z = gc.placeholder((3, 3), "float64", "z")
    y = gc.placeholder((3,), "int64", "y")
    if which == "cross_entropy":
        loss = losses.cross_entropy(z, y)
    elif which == "nll":
        loss = losses.nll(gc.log_softmax(z, axis=-1), y)
    else:
        loss = losses.nll(gc.log(gc.softmax(z, axis=-1)), y)
    f = gc.function([z, y], [loss, gc.grad(loss, z)], backend=backend, optimize=optimize)
    logits = np.random.default_rng(2).standard_normal((3, 3))
    good = np.array([0, 2, 1])
    value, _ = f(logits, good)
    want = reference("test_losses.test_labels_out_of_range_are_errors",
                     lambda: _torch_loss(("cross_entropy", {}), logits, good))
    np.testing.assert_allclose(value, want["value"], rtol=1e-10)
    labels = good.copy()
    labels[position] = bad
    name = "cross_entropy" if which == "cross_entropy" else "nll"
    with pytest.raises(gc.IndexRangeError) as e:
        f(logits, labels)
    lines = str(e.value).splitlines()
    assert "test_losses.py" in lines[0] and f"loss = losses.{name}(" in lines[0]  # the user's line first
    assert f"{name}: label {bad} at position [{position}] of the int64[3] labels is out of range [0, 3) " \
           "for 3 classes" in lines[1]
    assert isinstance(e.value, IndexError) and e.value.fix


def test_int32_labels_on_the_llvm_build():
    """int32 labels: the closed form in range, and both ends out of it, on the build users run."""
    z = gc.placeholder((2, 4), "float32")
    y = gc.placeholder((2,), "int32")
    f = gc.function([z, y], losses.cross_entropy(z, y, "sum"), backend="llvm")
    np.testing.assert_allclose(f(np.zeros((2, 4), "float32"), np.array([3, 0], "int32")), 2 * np.log(4.0), rtol=1e-6)
    for bad in (4, -1):
        with pytest.raises(gc.IndexRangeError, match=rf"cross_entropy: label {bad} at position \[1\] .* "
                                                     r"out of range \[0, 4\) for 4 classes"):
            f(np.zeros((2, 4), "float32"), np.array([0, bad], "int32"))


def test_constant_labels_out_of_range_fail_where_declared():
    with pytest.raises(gc.IndexRangeError, match=r"(?s)test_losses.py:\d+.*losses.cross_entropy.*label 5 .*\[0, 4\)"):
        losses.cross_entropy(gc.placeholder((3, 4)), np.array([0, 1, 5]))
