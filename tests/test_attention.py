"""Attention against torch: scaled dot-product attention with boolean, additive and causal masks,
multi-head attention and the transformer encoder block (values and gradients)."""
import numpy as np
import pytest

import graphc as gc
from graphc import nn
from graphc.testing import check_grad

torch = pytest.importorskip("torch", reason="PyTorch is the reference for attention")
F = torch.nn.functional


def _run(build, arrays, params, *, backend):
    xs = [gc.placeholder(a.shape, "float64") for a in arrays]
    y = build(*xs)
    return gc.function(xs, [y] + gc.grad(gc.sum(gc.sin(y)), xs + list(params)), backend=backend)(*arrays)


def _check(got, ty, leaves):
    torch.sin(ty).sum().backward()
    np.testing.assert_allclose(got[0], ty.detach().numpy(), atol=1e-10, rtol=1e-8)
    for g, t in zip(got[1:], leaves):
        np.testing.assert_allclose(g, t.grad.numpy(), atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("mask_kind", [None, "bool", "additive", "causal"])
def test_scaled_dot_product_attention_matches_torch(rng, mask_kind, backend):
    q, k, v = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 5, 6))
    mask = {"bool": rng.random((5, 5)) > 0.3, "additive": rng.standard_normal((5, 5))}.get(mask_kind)
    if mask_kind == "bool":
        mask[:, 0] = True  # every query sees at least one key
    causal = mask_kind == "causal"
    got = _run(lambda q, k, v: nn.scaled_dot_product_attention(q, k, v, mask, causal), [q, k, v], [], backend=backend)
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    ty = F.scaled_dot_product_attention(*ts, attn_mask=None if mask is None else torch.tensor(mask), is_causal=causal)
    _check(got, ty, ts)


def _copy_mha(mha, ref):
    mha.in_proj_weight.value = ref.in_proj_weight.detach().numpy()
    mha.in_proj_bias.value = ref.in_proj_bias.detach().numpy()
    mha.out_proj_weight.value = ref.out_proj.weight.detach().numpy()
    mha.out_proj_bias.value = ref.out_proj.bias.detach().numpy()


@pytest.mark.parametrize("causal", [False, True])
def test_multihead_attention_matches_torch(rng, causal, backend):
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    with torch.no_grad():
        ref.in_proj_bias.normal_(), ref.out_proj.bias.normal_()
    mha = nn.MultiheadAttention(8, 2, dtype="float64")
    _copy_mha(mha, ref)
    x = rng.standard_normal((3, 5, 8))
    params = [mha.in_proj_weight, mha.in_proj_bias, mha.out_proj_weight, mha.out_proj_bias]
    got = _run(lambda x: mha(x, causal=causal), [x], params, backend=backend)
    tx = torch.tensor(x, requires_grad=True)
    mask = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1) if causal else None  # torch's MHA: True = blocked
    ty = ref(tx, tx, tx, attn_mask=mask, need_weights=False)[0]
    _check(got, ty, [tx, ref.in_proj_weight, ref.in_proj_bias, ref.out_proj.weight, ref.out_proj.bias])


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_layer_matches_torch(rng, norm_first, backend):
    torch.manual_seed(0)
    ref = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=norm_first).double()
    block = nn.TransformerEncoderLayer(8, 2, 16, norm_first=norm_first, dtype="float64")
    _copy_mha(block.self_attn, ref.self_attn)
    for mine, theirs in ((block.linear1, ref.linear1), (block.linear2, ref.linear2)):
        mine.weight.value = theirs.weight.detach().numpy().T
        mine.bias.value = theirs.bias.detach().numpy()
    for mine, theirs in ((block.norm1, ref.norm1), (block.norm2, ref.norm2)):
        with torch.no_grad():
            theirs.weight.normal_(), theirs.bias.normal_()
        mine.weight.value, mine.bias.value = theirs.weight.detach().numpy(), theirs.bias.detach().numpy()
    x = rng.standard_normal((2, 5, 8))
    got = _run(block, [x], [block.linear1.weight, block.norm2.bias], backend=backend)
    tx = torch.tensor(x, requires_grad=True)
    ty = ref(tx)
    torch.sin(ty).sum().backward()
    np.testing.assert_allclose(got[0], ty.detach().numpy(), atol=1e-10, rtol=1e-8)
    np.testing.assert_allclose(got[1], tx.grad.numpy(), atol=1e-10, rtol=1e-8)
    np.testing.assert_allclose(got[2], ref.linear1.weight.grad.numpy().T, atol=1e-10, rtol=1e-8)
    np.testing.assert_allclose(got[3], ref.norm2.bias.grad.numpy(), atol=1e-10, rtol=1e-8)


def test_attention_derivatives_against_finite_differences(rng, backend):
    q, k, v = (rng.standard_normal((2, 3, 4)) for _ in range(3))
    check_grad(lambda q, k, v: gc.sum(gc.sin(nn.scaled_dot_product_attention(q, k, v, causal=True))), [q, k, v],
               backend=backend)


def test_attention_shape_errors():
    with pytest.raises(gc.ShapeError, match="not divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(gc.ShapeError, match="MultiheadAttention\\(8, heads=2\\).*not \\(batch, length, 8\\)"):
        nn.MultiheadAttention(8, 2)(gc.placeholder((2, 5, 6)))
