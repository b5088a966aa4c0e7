"""Fine-tuning an imported model: a small CNN exported by torch.onnx.export, loaded with graphc.onnx.load and
trained a few steps with gc.grad / gc.optim, matches PyTorch training the same model from the same weights on
the same batches (losses at every step and the final weights).

The model files are stored (tests/fixtures/onnx, tests/onnxfiles.py) and PyTorch's trajectories come
through tests/torchref.py (stored in tests/fixtures/torch), so these tests run without torch.
"""
import numpy as np
import pytest

import graphc as gc
import onnxfiles
from torchref import reference

onnx = pytest.importorskip("onnx", reason="graphc.onnx needs the onnx extra")

import graphc.onnx as gonnx  # noqa: E402 - after the importorskip
from onnx import numpy_helper  # noqa: E402

STEPS, BATCH = 4, 8
RNG = np.random.default_rng(7)
XS = RNG.standard_normal((STEPS, BATCH, 3, 16, 16)).astype(np.float32)
LABELS = RNG.integers(0, 10, (STEPS, BATCH))
#: case -> (stored model, optimizer, learning rate)
CASES = {"sgd_momentum": ("small_cnn", "momentum", 0.1), "adam": ("small_cnn", "adam", 0.01),
         "batchnorm_train": ("small_cnn_bn_train", "momentum", 0.1)}
#: float32 training in another summation order than PyTorch's (oneDNN convolutions), four steps: measured
#: differences up to 9e-6 relative, 1e-7 absolute
TOL = {"rtol": 2e-5, "atol": 2e-7}
#: BatchNormalization (training mode) running statistics: ONNX's outputs 1 and 2 -> the initializers they update
RUNNING = {"/bn1/BatchNormalization_output_1": "bn1.running_mean",
           "/bn1/BatchNormalization_output_2": "bn1.running_var"}


def _initializers(path) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


def _torch_finetune(path, optimizer: str, lr: float, batch_norm: bool) -> dict[str, np.ndarray]:
    """PyTorch's own training of the model the file holds: the same definition (graphc.bench.torch_models),
    the file's weights, torch.optim, F.cross_entropy; the losses before each update and the final weights.
    ONNX's BatchNormalization updates its running variance with the biased batch variance (PyTorch's with the
    unbiased one), so the ONNX running variance is also computed here from the batches torch normalized."""
    import torch
    import torch.nn.functional as F

    from graphc.bench import torch_models as tm
    init = _initializers(path)
    model = tm.SmallCNN(batch_norm=batch_norm)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in init.items()}, strict=False)
    model.train()
    params = list(model.parameters())
    opt = (torch.optim.SGD(params, lr=lr, momentum=0.9) if optimizer == "momentum"
           else torch.optim.Adam(params, lr=lr))
    batch_vars = []
    if batch_norm:
        model.bn1.register_forward_hook(lambda m, args, out: batch_vars.append(
            args[0].detach().var((0, 2, 3), unbiased=False)))
    losses = []
    for x, y in zip(XS, LABELS):
        opt.zero_grad()
        loss = F.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    out = {"losses": np.array(losses, np.float32)}
    out.update({k: v.detach().numpy() for k, v in model.state_dict().items() if k in init})
    if batch_norm:
        var = torch.from_numpy(init["bn1.running_var"].copy())
        for v in batch_vars:
            var = 0.9 * var + 0.1 * v
        out["onnx_running_var"] = var.numpy()
    return out


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_finetuned_imported_cnn_matches_pytorch(case, backend, torch_key):
    name, optimizer, lr = CASES[case]
    path = onnxfiles.stored(name)
    batch_norm = name.endswith("bn_train")
    want = reference(torch_key, lambda: _torch_finetune(path, optimizer, lr, batch_norm))

    model = gonnx.load(path, input_shapes={"x": (BATCH, 3, 16, 16)})
    running = {model.params[p]: model.tensor(out) for out, p in RUNNING.items()} if batch_norm else {}
    weights = [p for p in model.params.values() if p not in running]
    labels = gc.placeholder((BATCH,), "int64", name="labels")
    loss = gc.losses.cross_entropy(model.outputs[0], labels)
    opt = gc.optim.SGD(weights, lr=lr, momentum=0.9) if optimizer == "momentum" else gc.optim.Adam(weights, lr=lr)
    step = gc.function(model.inputs + [labels], loss, updates=opt.updates(loss) + list(running.items()),
                       backend=backend)
    losses = [float(step(x, y)) for x, y in zip(XS, LABELS)]

    np.testing.assert_allclose(losses, want["losses"], **TOL)
    for pname, param in model.params.items():
        target = want["onnx_running_var" if pname == "bn1.running_var" else pname]
        np.testing.assert_allclose(param.value, target, **TOL, err_msg=pname)
    # every weight moved; but a bias before a training-mode BatchNorm, whose batch mean cancels it (zero gradient)
    frozen = {"conv1.bias"} if batch_norm else set()
    moved = {p.name for p in weights if not np.allclose(p.value, _initializers(path)[p.name], rtol=0, atol=1e-6)}
    assert moved == {p.name for p in weights} - frozen
