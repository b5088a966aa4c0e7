"""Attention against torch: scaled dot-product attention with boolean, additive and causal masks,
multi-head attention and the transformer encoder block (values and gradients)."""
import numpy as np
import pytest

import graphc as gc
from graphc import nn
from graphc.testing import check_grad
from torchref import reference

def _run(build, arrays, params, *, backend):
    xs = [gc.placeholder(a.shape, "float64") for a in arrays]
    y = build(*xs)
    return gc.function(xs, [y] + gc.grad(gc.sum(gc.sin(y)), xs + list(params)), backend=backend)(*arrays)


def _check(got, want):
    """got (graphc's y and gradients) against torch's stored y, grad0, grad1, ..."""
    assert len(got) == len(want)
    np.testing.assert_allclose(got[0], want["y"], atol=1e-10, rtol=1e-8)
    for i, g in enumerate(got[1:]):
        np.testing.assert_allclose(g, want[f"grad{i}"], atol=1e-10, rtol=1e-8)


def _torch_sin_sum_grads(ty, leaves) -> dict:
    """ty and the gradients of sum(sin(ty)) by each leaf (a torch tensor or parameter)."""
    import torch
    torch.sin(ty).sum().backward()
    return {"y": ty, **{f"grad{i}": t.grad for i, t in enumerate(leaves)}}


def _seeded(params, rng) -> None:
    """Every parameter drawn from rng (normal, scaled by 0.5): biases and norms far from their zero/one start."""
    for p in params:
        p.value = rng.standard_normal(p.value.shape) * 0.5


def _torch_sdpa(q, k, v, mask, causal) -> dict:
    import torch
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    ty = torch.nn.functional.scaled_dot_product_attention(
        *ts, attn_mask=None if mask is None else torch.tensor(mask), is_causal=causal)
    return _torch_sin_sum_grads(ty, ts)


@pytest.mark.parametrize("mask_kind", [None, "bool", "additive", "causal"])
def test_scaled_dot_product_attention_matches_torch(rng, mask_kind, backend, torch_key):
    q, k, v = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 5, 6))
    mask = {"bool": rng.random((5, 5)) > 0.3, "additive": rng.standard_normal((5, 5))}.get(mask_kind)
    if mask_kind == "bool":
        mask[:, 0] = True  # every query sees at least one key
    causal = mask_kind == "causal"
    got = _run(lambda q, k, v: nn.scaled_dot_product_attention(q, k, v, mask, causal), [q, k, v], [], backend=backend)
    _check(got, reference(torch_key, lambda: _torch_sdpa(q, k, v, mask, causal)))


MHA_WEIGHTS = ("in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias")


def _load_mha(ref, values) -> list:
    """Copy graphc's MultiheadAttention weights (torch's layout) into torch's ref; return its parameters in
    MHA_WEIGHTS order."""
    import torch
    params = [ref.in_proj_weight, ref.in_proj_bias, ref.out_proj.weight, ref.out_proj.bias]
    with torch.no_grad():
        for p, value in zip(params, values):
            p.copy_(torch.tensor(value))
    return params


def _torch_mha(values, x, causal) -> dict:
    import torch
    ref = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    params = _load_mha(ref, values)
    tx = torch.tensor(x, requires_grad=True)
    mask = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1) if causal else None  # torch's MHA: True = blocked
    ty = ref(tx, tx, tx, attn_mask=mask, need_weights=False)[0]
    return _torch_sin_sum_grads(ty, [tx, *params])


@pytest.mark.parametrize("causal", [False, True])
def test_multihead_attention_matches_torch(rng, causal, backend, torch_key):
    mha = nn.MultiheadAttention(8, 2, dtype="float64")
    params = [getattr(mha, n) for n in MHA_WEIGHTS]
    _seeded(params, np.random.default_rng(0))
    x = rng.standard_normal((3, 5, 8))
    got = _run(lambda x: mha(x, causal=causal), [x], params, backend=backend)
    _check(got, reference(torch_key, lambda: _torch_mha([p.value for p in params], x, causal)))


def _torch_encoder_layer(block, x, norm_first) -> dict:
    """torch's TransformerEncoderLayer with block's weights: y and the gradients by x, linear1's weight (graphc's
    (in, out) layout) and norm2's bias."""
    import torch
    ref = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=norm_first).double()
    _load_mha(ref.self_attn, [getattr(block.self_attn, n).value for n in MHA_WEIGHTS])
    with torch.no_grad():
        for mine, theirs in ((block.linear1, ref.linear1), (block.linear2, ref.linear2)):
            theirs.weight.copy_(torch.tensor(mine.weight.value.T))
            theirs.bias.copy_(torch.tensor(mine.bias.value))
        for mine, theirs in ((block.norm1, ref.norm1), (block.norm2, ref.norm2)):
            theirs.weight.copy_(torch.tensor(mine.weight.value))
            theirs.bias.copy_(torch.tensor(mine.bias.value))
    tx = torch.tensor(x, requires_grad=True)
    want = _torch_sin_sum_grads(ref(tx), [tx, ref.linear1.weight, ref.norm2.bias])
    want["grad1"] = want["grad1"].T
    return want


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_layer_matches_torch(rng, norm_first, backend, torch_key):
    block = nn.TransformerEncoderLayer(8, 2, 16, norm_first=norm_first, dtype="float64")
    _seeded(block.parameters(), np.random.default_rng(0))
    x = rng.standard_normal((2, 5, 8))
    got = _run(block, [x], [block.linear1.weight, block.norm2.bias], backend=backend)
    _check(got, reference(torch_key, lambda: _torch_encoder_layer(block, x, norm_first)))


def test_attention_derivatives_against_finite_differences(rng, backend):
    q, k, v = (rng.standard_normal((2, 3, 4)) for _ in range(3))
    check_grad(lambda q, k, v: gc.sum(gc.sin(nn.scaled_dot_product_attention(q, k, v, causal=True))), [q, k, v],
               backend=backend)


def test_attention_shape_errors():
    with pytest.raises(gc.ShapeError, match="not divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(gc.ShapeError, match="MultiheadAttention\\(8, heads=2\\).*not \\(batch, length, 8\\)"):
        nn.MultiheadAttention(8, 2)(gc.placeholder((2, 5, 6)))
