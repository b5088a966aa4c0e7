"""gc.losses against torch.nn.functional: values and gradients, every reduction, float64."""
import numpy as np
import pytest

import graphc as gc
from graphc import losses

torch = pytest.importorskip("torch", reason="PyTorch is the reference for loss values and gradients")
F = torch.nn.functional
RNG = np.random.default_rng(0)
PRED = RNG.standard_normal((6, 3)) * 2
TARGET = RNG.standard_normal((6, 3))
PROB = 1 / (1 + np.exp(-PRED))
BITS = (RNG.random((6, 3)) > 0.5).astype(np.float64)
LABELS = np.array([0, 2, 1, 1, 0, 2])

CASES = [  # name, graphc loss, torch loss, prediction, target
    ("mse", losses.mse, F.mse_loss, PRED, TARGET),
    ("mae", losses.mae, F.l1_loss, PRED, TARGET),
    ("huber", lambda p, t, reduction: losses.huber(p, t, 0.7, reduction),
     lambda p, t, reduction: F.huber_loss(p, t, reduction=reduction, delta=0.7), PRED, TARGET),
    ("bce", losses.binary_cross_entropy, F.binary_cross_entropy, PROB, BITS),
    ("bce_logits", losses.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, PRED, BITS),
    ("ce_labels", losses.cross_entropy, F.cross_entropy, PRED, LABELS),
    ("ce_onehot", losses.cross_entropy, F.cross_entropy, PRED, np.eye(3)[LABELS]),
    ("ce_soft", losses.cross_entropy, F.cross_entropy, PRED, np.exp(TARGET) / np.exp(TARGET).sum(1, keepdims=True)),
    ("nll", losses.nll, F.nll_loss, PRED - np.log(np.exp(PRED).sum(1, keepdims=True)), LABELS),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,loss,ref,pred,target", CASES, ids=[c[0] for c in CASES])
def test_loss_matches_torch(name, loss, ref, pred, target, reduction, backend):
    p = gc.placeholder(pred.shape, "float64", "pred")
    t = gc.placeholder(target.shape, target.dtype, "target")
    value = loss(p, t, reduction=reduction)
    weight = RNG.standard_normal(value.shape)
    ours = gc.function([p, t], [value, gc.grad(gc.sum(value * weight), p)], backend=backend)(pred, target)
    tp = torch.tensor(pred, requires_grad=True)
    tvalue = ref(tp, torch.tensor(target), reduction=reduction)
    (tvalue * torch.tensor(weight)).sum().backward()
    np.testing.assert_allclose(ours[0], tvalue.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours[1], tp.grad.numpy(), rtol=1e-12, atol=1e-15)


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
