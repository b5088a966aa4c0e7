"""The workloads in graphc: gc.nn layers, gc.losses and gc.optim, one compiled step per workload."""
from __future__ import annotations

from typing import Any, Callable

import graphc as gc

from .workloads import CIFAR, Problem, Workload, resnet_blocks


def model(p: Problem) -> gc.nn.Module:
    """The workload's network as gc.nn layers (its parameters declared in the order of p.params)."""
    w = p.workload
    if w.model == "mlp":
        return gc.nn.MLP(list(w.sizes), w.activation)
    if w.model == "lenet":
        nn = gc.nn
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2, activation="relu"), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5, activation="relu"), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Dense(400, 120, "relu"), nn.Dense(120, 84, "relu"), nn.Dense(84, 10))
    if w.model == "gpt":
        return _GPT(*w.sizes)
    if w.model == "resnet":
        return _ResNet(w)
    return _LastState(*w.sizes[1:])


class _LastState(gc.nn.Module):
    """An LSTM whose last hidden state feeds a dense classifier head."""

    def __init__(self, n_in: int, hidden: int, classes: int):
        super().__init__()
        self.lstm = gc.nn.LSTM(n_in, hidden, batch_first=True)
        self.head = gc.nn.Dense(hidden, classes)

    def forward(self, x: gc.Tensor) -> gc.Tensor:
        _, (h, _c) = self.lstm(x)
        return self.head(h[-1])


class _Block(gc.nn.Module):
    """A pre-LayerNorm GPT block: x + attn(ln1(x)), then x + mlp(ln2(x)), with causal multi-head attention
    from one query-key-value projection and an MLP with exact (erf) GELU."""

    def __init__(self, d_model: int, heads: int, mlp: int):
        super().__init__()
        nn, d = gc.nn, d_model
        self.ln1, self.qkv, self.proj = nn.LayerNorm(d), nn.Dense(d, 3 * d), nn.Dense(d, d)
        self.ln2, self.fc, self.out = nn.LayerNorm(d), nn.Dense(d, mlp, "gelu"), nn.Dense(mlp, d)
        self.heads = heads

    def attend(self, x: gc.Tensor) -> gc.Tensor:
        b, t, d = x.shape
        qkv = self.qkv(x)
        q, k, v = (gc.transpose(gc.reshape(qkv[:, :, i * d:(i + 1) * d], (b, t, self.heads, d // self.heads)),
                                (0, 2, 1, 3)) for i in range(3))
        att = gc.nn.scaled_dot_product_attention(q, k, v, causal=True)  # (b, heads, t, d / heads)
        return self.proj(gc.reshape(gc.transpose(att, (0, 2, 1, 3)), (b, t, d)))

    def forward(self, x: gc.Tensor) -> gc.Tensor:
        x = x + self.attend(self.ln1(x))
        return x + self.out(self.fc(self.ln2(x)))


class _GPT(gc.nn.Module):
    """A GPT decoder: token and learned position embeddings, pre-LayerNorm blocks, a final LayerNorm and
    logits from the token table (tied embeddings: h @ wte.T, no separate head)."""

    def __init__(self, vocab: int, context: int, blocks: int, d_model: int, heads: int, mlp: int):
        super().__init__()
        self.wte, self.wpe = gc.nn.Embedding(vocab, d_model), gc.nn.Embedding(context, d_model)
        self.blocks = gc.nn.Sequential(*(_Block(d_model, heads, mlp) for _ in range(blocks)))
        self.ln_f = gc.nn.LayerNorm(d_model)

    def forward(self, ids: gc.Tensor) -> gc.Tensor:
        h = self.wte(ids) + self.wpe.weight[:ids.shape[1]]  # positions 0..t-1: the table's first rows
        return gc.matmul(self.ln_f(self.blocks(h)), gc.transpose(self.wte.weight))


class _BasicBlock(gc.nn.Module):
    """torchvision's basic block: conv3x3(stride)-BN-ReLU-conv3x3-BN plus the shortcut (a strided 1x1 conv and
    BN where the shape changes), then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int, shortcut: bool):
        super().__init__()
        nn = gc.nn
        self.conv1, self.bn1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm(c_out)
        self.conv2, self.bn2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm(c_out)
        self.shortcut_conv = nn.Conv2d(c_in, c_out, 1, stride, bias=False) if shortcut else None
        self.shortcut_bn = nn.BatchNorm(c_out) if self.shortcut_conv else None

    def forward(self, x: gc.Tensor) -> gc.Tensor:
        out = self.bn2(self.conv2(gc.relu(self.bn1(self.conv1(x)))))
        return gc.relu(out + (self.shortcut_bn(self.shortcut_conv(x)) if self.shortcut_conv else x))


class _ResNet(gc.nn.Module):
    """A ResNet workload: stem conv3x3-BN-ReLU, the basic blocks, global average pooling, a dense classifier."""

    def __init__(self, w: Workload):
        super().__init__()
        self.conv, self.bn = gc.nn.Conv2d(CIFAR[0], w.sizes[0], 3, padding=1, bias=False), gc.nn.BatchNorm(w.sizes[0])
        self.blocks = [name for name, *_ in resnet_blocks(w)]
        for name, *block in resnet_blocks(w):
            setattr(self, name, _BasicBlock(*block))
        self.pool, self.fc = gc.nn.GlobalAvgPool2d(), gc.nn.Dense(*w.sizes[-2:])

    def forward(self, x: gc.Tensor) -> gc.Tensor:
        h = gc.relu(self.bn(self.conv(x)))
        for name in self.blocks:
            h = getattr(self, name)(h)
        return self.fc(self.pool(h))


def step_parts(p: Problem, batch: int | None = None
               ) -> tuple[gc.nn.Module, gc.Tensor, gc.Tensor, gc.Tensor, gc.optim.Optimizer]:
    """The workload's (model, x, y, loss, optimizer), inputs of `batch` rows (default: the workload's);
    graphc.distributed builds its data-parallel step from these (benchmarks/distributed.py). The model's
    `state_updates()` (BatchNorm's running statistics) are those of this loss's forward pass."""
    w = p.workload
    net = model(p)
    params = net.parameters()
    for param, value in zip(params, p.params.values(), strict=True):
        param.value = value  # same initial weights as every peer
    rows = p.x.shape[0] if batch is None else batch
    x = gc.placeholder((rows,) + p.x.shape[1:], p.x.dtype.name, name="x")
    y = gc.placeholder((rows,) + p.y.shape[1:], p.y.dtype.name, name="y")
    out = net(x)
    loss = gc.losses.mse(out, y) if w.loss == "mse" else gc.losses.cross_entropy(out, y)
    if w.optimizer == "adamw":
        opt = gc.optim.AdamW(params, lr=w.lr, weight_decay=w.weight_decay, clip_norm=w.clip_norm)
    elif w.optimizer == "adam":
        opt = gc.optim.Adam(params, lr=w.lr)
    else:
        opt = gc.optim.SGD(params, lr=w.lr, momentum=0.9 if w.optimizer == "momentum" else 0.0,
                           weight_decay=w.weight_decay)
    return net, x, y, loss, opt


def step_function(p: Problem, backend: str, **options: Any) -> gc.Function:
    """The workload's compiled training step (`options` go to gc.function, e.g. fast_math=True)."""
    net, x, y, loss, opt = step_parts(p)
    updates = opt.updates(loss) + net.state_updates()  # + BatchNorm's running statistics
    return gc.function([x, y], loss, updates=updates, backend=backend, **options)


def build(p: Problem, backend: str) -> Callable[[], object]:
    """One training step on `backend` ("llvm" or "numpy"); calling it returns the loss before the update."""
    fn = step_function(p, backend)
    return lambda: fn(p.x, p.y)
