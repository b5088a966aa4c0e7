"""The training-step workloads W1-W5 (graphc issue 6), W6 and W7 (issue 25): sizes, data and the one set of
initial weights.

Every framework trains from the arrays `problem()` returns, in graphc's layouts (dense weights
(in, out); conv weights OIHW; LSTM weights in torch's layout and gate order i, f, g, o), so the
first losses must agree; each framework module converts layouts where its own API differs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

#: The peers, fastest first by kind; graphc-llvm is compared with each of them.
PEERS = ("torch", "torch-compile", "torch-compile-full", "jax", "pytensor")


@dataclass(frozen=True)
class Workload:
    """One training step to time: a model kind with its sizes, a loss, an optimizer and the issue's targets."""

    name: str
    title: str
    model: str                      # "mlp", "lenet", "lstm", "gpt" or "resnet"
    batch: int
    loss: str                       # "mse" or "ce" (softmax cross-entropy on one-hot rows; gpt: on integer ids)
    optimizer: str                  # "sgd", "momentum" (0.9), "adam" or "adamw" (weight_decay, clip_norm)
    lr: float
    sizes: tuple[int, ...] = ()     # mlp: layer widths; lstm: (sequence, input, hidden, classes);
    #                                 gpt: (vocabulary, context, blocks, d_model, heads, mlp width); resnet: RESNET8
    activation: str = "relu"
    cold_target_s: float = 1.0      # the cold-compile ceiling for graphc-llvm
    min_speedup: dict[str, float] = field(default_factory=dict)  # peer -> required graphc-llvm speedup
    reference_ms: dict[str, float] = field(default_factory=dict)  # the peer step times (2 threads)
    weight_decay: float = 0.0       # sgd/momentum: L2 added to every gradient (torch.optim.SGD's weight_decay);
    #                                 adamw: decoupled, on every parameter (torch.optim.AdamW's default)
    clip_norm: float | None = None  # gradients scaled to this global norm first (torch's clip_grad_norm_)


#: W7's channels: the stem's, then each stage's (one basic block each; stride 2 into stages 2 and 3), then classes
RESNET8 = (16, 16, 32, 64, 10)
#: a ResNet workload's images (channels, height, width): CIFAR's
CIFAR = (3, 32, 32)

WORKLOADS = {w.name: w for w in (
    Workload("W1", "sine MLP 2-64-64-1 sigmoid, MSE, batch 1000, SGD", "mlp", 1000, "mse", "sgd", 0.1,
             (2, 64, 64, 1), "sigmoid", reference_ms={"torch": 0.61, "jax": 0.43}),
    Workload("W2", "tiny MLP 4-16-3 tanh, softmax CE, batch 32, SGD", "mlp", 32, "ce", "sgd", 0.1,
             (4, 16, 3), "tanh", min_speedup={"torch": 6.0},
             reference_ms={"torch": 0.108, "jax": 0.036, "pytensor": 0.017}),
    Workload("W3", "MLP 784-512-512-10 ReLU, softmax CE, batch 128, Adam", "mlp", 128, "ce", "adam", 1e-3,
             (784, 512, 512, 10), "relu", reference_ms={"torch": 5.2, "jax": 2.3}),
    Workload("W4", "LeNet-5 1x28x28, softmax CE, batch 64, SGD momentum 0.9", "lenet", 64, "ce", "momentum",
             0.01, cold_target_s=2.0, reference_ms={"torch": 3.9, "jax": 7.2}),
    Workload("W5", "LSTM seq 32, batch 32, input 32, hidden 128, 10 classes, Adam", "lstm", 32, "ce", "adam",
             1e-3, (32, 32, 128, 10), cold_target_s=2.0, reference_ms={"torch": 4.0, "jax": 8.0}),
    Workload("W6", "GPT decoder vocab 512, context 64, 2 blocks, d 128, 4 heads, batch 16, AdamW", "gpt", 16, "ce",
             "adamw", 1e-3, (512, 64, 2, 128, 4, 512), cold_target_s=2.0, weight_decay=0.01, clip_norm=1.0),
    Workload("W7", "ResNet-8 3x32x32, BatchNorm, softmax CE, batch 32, SGD momentum 0.9, wd 5e-4", "resnet", 32,
             "ce", "momentum", 0.05, RESNET8, weight_decay=5e-4, cold_target_s=2.0),
)}

#: LeNet-5's layers as (name, shape): conv 6@5x5 pad 2, pool, conv 16@5x5, pool, 400-120-84-10.
LENET = (("conv1.weight", (6, 1, 5, 5)), ("conv1.bias", (6,)), ("conv2.weight", (16, 6, 5, 5)), ("conv2.bias", (16,)),
         ("fc1.weight", (400, 120)), ("fc1.bias", (120,)), ("fc2.weight", (120, 84)), ("fc2.bias", (84,)),
         ("fc3.weight", (84, 10)), ("fc3.bias", (10,)))


@dataclass
class Problem:
    """A workload's initial weights (name -> array, in declaration order) and its one batch of data."""

    workload: Workload
    params: dict[str, np.ndarray]
    x: np.ndarray
    y: np.ndarray


def _shapes(w: Workload) -> list[tuple[str, tuple[int, ...], int]]:
    """(name, shape, fan_in) of every parameter, in the order each framework declares them."""
    if w.model == "mlp":
        out = []
        for i, (a, b) in enumerate(zip(w.sizes, w.sizes[1:])):
            out += [(f"fc{i}.weight", (a, b), a), (f"fc{i}.bias", (b,), a)]
        return out
    if w.model == "lenet":
        fan = {"conv1": 25, "conv2": 150, "fc1": 400, "fc2": 120, "fc3": 84}
        return [(name, shape, fan[name.split(".")[0]]) for name, shape in LENET]
    _, n_in, hidden, classes = w.sizes
    return [("lstm.weight_ih", (4 * hidden, n_in), hidden), ("lstm.weight_hh", (4 * hidden, hidden), hidden),
            ("lstm.bias_ih", (4 * hidden,), hidden), ("lstm.bias_hh", (4 * hidden,), hidden),
            ("head.weight", (hidden, classes), hidden), ("head.bias", (classes,), hidden)]


def resnet_blocks(w: Workload) -> list[tuple[str, int, int, int, bool]]:
    """(name, in channels, out channels, stride, shortcut) of each of a ResNet workload's basic blocks; shortcut:
    whether the block's input passes a strided 1x1 conv and BN (where the shape changes) instead of the identity."""
    stem, *stages, _classes = w.sizes
    blocks = [(f"layer{i + 1}", a, b, 1 if i == 0 else 2) for i, (a, b) in enumerate(zip([stem] + stages, stages))]
    return [(name, a, b, stride, stride != 1 or a != b) for name, a, b, stride in blocks]


def batch_norms(w: Workload) -> list[tuple[str, int]]:
    """(parameter prefix, channels) of a ResNet workload's BatchNorm layers, in declaration order."""
    out = [("bn", w.sizes[0])]
    for name, _, c, _, shortcut in resnet_blocks(w):
        out += [(f"{name}.bn1", c), (f"{name}.bn2", c)] + ([(f"{name}.shortcut_bn", c)] if shortcut else [])
    return out


def _resnet_params(w: Workload, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """torchvision's ResNet initialization: convolutions (no bias) normal with std sqrt(2 / fan_out), BatchNorm
    weights one and biases zero, the dense head uniform(+-1/sqrt(fan_in)); in graphc's declaration order."""
    def conv(c_out: int, c_in: int, k: int) -> np.ndarray:
        return (rng.standard_normal((c_out, c_in, k, k)) * np.sqrt(2 / (c_out * k * k))).astype(np.float32)

    def bn(prefix: str, c: int) -> dict[str, np.ndarray]:
        return {f"{prefix}.weight": np.ones(c, np.float32), f"{prefix}.bias": np.zeros(c, np.float32)}
    stem, classes = w.sizes[0], w.sizes[-1]
    params = {"conv.weight": conv(stem, CIFAR[0], 3), **bn("bn", stem)}
    for name, c_in, c_out, _, shortcut in resnet_blocks(w):
        params.update({f"{name}.conv1.weight": conv(c_out, c_in, 3), **bn(f"{name}.bn1", c_out),
                       f"{name}.conv2.weight": conv(c_out, c_out, 3), **bn(f"{name}.bn2", c_out)})
        if shortcut:
            params.update({f"{name}.shortcut_conv.weight": conv(c_out, c_in, 1), **bn(f"{name}.shortcut_bn", c_out)})
    bound = np.float32(1 / np.sqrt(w.sizes[-2]))
    params["fc.weight"] = rng.uniform(-bound, bound, (w.sizes[-2], classes)).astype(np.float32)
    params["fc.bias"] = rng.uniform(-bound, bound, classes).astype(np.float32)
    return params


def gpt_shapes(w: Workload) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of a GPT's parameters in declaration order: the token and position tables, each block
    (pre-LayerNorm: x + attn(ln1(x)), then x + mlp(ln2(x)); attn.qkv projects to queries, keys and values side
    by side, as nanoGPT's c_attn), the final LayerNorm. The output layer is the token table (tied)."""
    vocab, context, blocks, d, _, m = w.sizes
    block = (("ln1.weight", (d,)), ("ln1.bias", (d,)), ("attn.qkv.weight", (d, 3 * d)), ("attn.qkv.bias", (3 * d,)),
             ("attn.proj.weight", (d, d)), ("attn.proj.bias", (d,)), ("ln2.weight", (d,)), ("ln2.bias", (d,)),
             ("mlp.fc.weight", (d, m)), ("mlp.fc.bias", (m,)), ("mlp.proj.weight", (m, d)), ("mlp.proj.bias", (d,)))
    out = [("wte", (vocab, d)), ("wpe", (context, d))]
    for i in range(blocks):
        out += [(f"h{i}.{name}", shape) for name, shape in block]
    return out + [("ln_f.weight", (d,)), ("ln_f.bias", (d,))]


def _gpt_problem(w: Workload, rng: np.random.Generator) -> Problem:
    """GPT-2's initialization (weights and tables normal(0, 0.02), biases 0, LayerNorm scales 1) and one batch
    of random token ids; the targets are the ids shifted by one (next-token prediction at every position)."""
    params = {}
    for name, shape in gpt_shapes(w):
        *layer, kind = name.split(".")
        if kind == "bias":
            params[name] = np.zeros(shape, np.float32)
        elif layer and layer[-1].startswith("ln"):
            params[name] = np.ones(shape, np.float32)
        else:
            params[name] = (0.02 * rng.standard_normal(shape)).astype(np.float32)
    vocab, context = w.sizes[:2]
    tokens = rng.integers(0, vocab, (w.batch, context + 1))
    return Problem(w, params, np.ascontiguousarray(tokens[:, :-1]), np.ascontiguousarray(tokens[:, 1:]))


def problem(name: str, seed: int = 0) -> Problem:
    """The workload's data and initial weights from one seed: uniform(+-1/sqrt(fan_in)), torch's default, for
    W1-W5; GPT-2's for W6 (`_gpt_problem`); torchvision's for W7 (`_resnet_params`)."""
    w = WORKLOADS[name]
    rng = np.random.default_rng(seed)
    if w.model == "gpt":
        return _gpt_problem(w, rng)
    if w.model == "resnet":
        params = _resnet_params(w, rng)
    else:
        params = {n: rng.uniform(-1, 1, shape).astype(np.float32) / np.float32(np.sqrt(fan))
                  for n, shape, fan in _shapes(w)}
    if w.model == "mlp":
        x = rng.uniform(-1, 1, (w.batch, w.sizes[0])).astype(np.float32)
    elif w.model == "lenet":
        x = rng.standard_normal((w.batch, 1, 28, 28)).astype(np.float32)
    elif w.model == "resnet":
        x = rng.standard_normal((w.batch, *CIFAR)).astype(np.float32)
    else:
        x = rng.standard_normal((w.batch, w.sizes[0], w.sizes[1])).astype(np.float32)
    if w.loss == "mse":
        y = (np.sin(3 * x[:, :1]) * np.cos(x[:, 1:2])).astype(np.float32)
    else:
        classes = w.sizes[-1] if w.model != "lenet" else 10
        y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, w.batch)]
    return Problem(w, params, x, y)


def layer_names(w: Workload) -> list[str]:
    """The dense layers of a workload in order (LeNet's after its convolutions)."""
    return [f"fc{i}" for i in range(len(w.sizes) - 1)] if w.model == "mlp" else ["fc1", "fc2", "fc3"]


def dense_layers(params: dict, h, names: list[str], act):
    """h @ weight + bias through the named layers with `act` between them: one definition for the peers
    (PyTorch, JAX and PyTensor arrays all take @ and +); graphc uses gc.nn.Dense instead."""
    for i, name in enumerate(names):
        h = h @ params[f"{name}.weight"] + params[f"{name}.bias"]
        h = act(h) if i < len(names) - 1 else h
    return h


def resnet(t: dict, x, conv: Callable, norm: Callable, relu: Callable, pool: Callable, w: Workload):
    """A ResNet workload's logits, one definition for the peers: `conv(h, weight, stride)` (padding k // 2, no
    bias), `norm(h, prefix)` (train-mode BatchNorm with the parameters `prefix`.weight and .bias, updating its
    running statistics), `pool(h)` (global average over H, W); graphc builds it from gc.nn layers instead."""
    h = relu(norm(conv(x, t["conv.weight"], 1), "bn"))
    for name, _, _, stride, shortcut in resnet_blocks(w):
        out = relu(norm(conv(h, t[f"{name}.conv1.weight"], stride), f"{name}.bn1"))
        out = norm(conv(out, t[f"{name}.conv2.weight"], 1), f"{name}.bn2")
        if shortcut:
            h = norm(conv(h, t[f"{name}.shortcut_conv.weight"], stride), f"{name}.shortcut_bn")
        h = relu(out + h)
    return pool(h) @ t["fc.weight"] + t["fc.bias"]


def gpt(t: dict, ids, w: Workload, embed: Callable, norm: Callable, attend: Callable, gelu: Callable):
    """A GPT workload's logits (gpt_shapes), one definition for the peers: `embed(ids)` (rows of the token
    table), `norm(h, prefix)` (LayerNorm with the parameters `prefix`.weight and .bias), `attend(q, k, v)`
    (causal scaled dot-product attention over (batch, heads, tokens, d / heads)), `gelu` (exact); the token
    table is the output layer (tied). PyTorch and JAX arrays both take @, reshape, swapaxes and .T; graphc
    builds the network from gc.nn layers instead."""
    _, _, blocks, d, heads, _ = w.sizes
    b, n = ids.shape

    def dense(h, name):
        return h @ t[f"{name}.weight"] + t[f"{name}.bias"]

    h = embed(ids) + t["wpe"][:n]
    for i in range(blocks):
        qkv = dense(norm(h, f"h{i}.ln1"), f"h{i}.attn.qkv")
        q, k, v = (qkv[..., j * d:(j + 1) * d].reshape(b, n, heads, d // heads).swapaxes(1, 2) for j in range(3))
        h = h + dense(attend(q, k, v).swapaxes(1, 2).reshape(b, n, d), f"h{i}.attn.proj")
        h = h + dense(gelu(dense(norm(h, f"h{i}.ln2"), f"h{i}.mlp.fc")), f"h{i}.mlp.proj")
    return norm(h, "ln_f") @ t["wte"].T
