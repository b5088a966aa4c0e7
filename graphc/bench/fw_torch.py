"""The workloads in PyTorch eager: functional layers (nn.LSTM for W5, its fused kernel; W6's attention through
F.scaled_dot_product_attention) and torch.optim (with clip_grad_norm_ where the workload clips)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .workloads import Problem, Workload, batch_norms, dense_layers, gpt, layer_names, resnet


@dataclass
class Model:
    """A workload in PyTorch: its loss as a function of (x, y), its parameters (leaf tensors) and one batch.

    Shared by the eager step and the torch.compile steps (fw_torch_compile), so that they all run the
    same network from the same weights."""

    loss: Callable
    params: list
    x: object
    y: object
    buffers: list = field(default_factory=list)  # BatchNorm's running means and variances, updated by `loss`


def model(p: Problem, threads: int) -> Model:
    """The workload's network and loss from p's initial weights, with torch limited to `threads` threads."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    w = p.workload
    t = {k: torch.tensor(v, requires_grad=True) for k, v in p.params.items()}
    params = list(t.values())
    if w.model == "gpt":
        return Model(gpt_loss(t, w), params, torch.tensor(p.x), torch.tensor(p.y))
    if w.model == "lstm":
        _, n_in, hidden, _ = w.sizes
        lstm = torch.nn.LSTM(n_in, hidden, batch_first=True)
        with torch.no_grad():
            for ours, theirs in (("weight_ih", "weight_ih_l0"), ("weight_hh", "weight_hh_l0"),
                                 ("bias_ih", "bias_ih_l0"), ("bias_hh", "bias_hh_l0")):
                getattr(lstm, theirs).copy_(t[f"lstm.{ours}"])
        params = list(lstm.parameters()) + [t["head.weight"], t["head.bias"]]
    act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[w.activation]
    stats = {name: (torch.zeros(c), torch.ones(c)) for name, c in batch_norms(w)} if w.model == "resnet" else {}

    def norm(h: torch.Tensor, name: str) -> torch.Tensor:
        """Train-mode BatchNorm: batch statistics, the running ones updated in place (momentum 0.1)."""
        return F.batch_norm(h, *stats[name], t[f"{name}.weight"], t[f"{name}.bias"], training=True)

    def forward(x: torch.Tensor) -> torch.Tensor:
        if w.model == "resnet":
            conv = lambda h, weight, stride: F.conv2d(h, weight, stride=stride, padding=weight.shape[-1] // 2)  # noqa: E731
            return resnet(t, x, conv, norm, torch.relu, lambda h: h.mean((2, 3)), w)
        if w.model == "mlp":
            return dense_layers(t, x, layer_names(w), act)
        if w.model == "lenet":
            h = F.max_pool2d(torch.relu(F.conv2d(x, t["conv1.weight"], t["conv1.bias"], padding=2)), 2)
            h = F.max_pool2d(torch.relu(F.conv2d(h, t["conv2.weight"], t["conv2.bias"])), 2).flatten(1)
            return dense_layers(t, h, layer_names(w), torch.relu)
        _, (h, _c) = lstm(x)
        return h[-1] @ t["head.weight"] + t["head.bias"]

    loss_fn = F.mse_loss if w.loss == "mse" else F.cross_entropy
    return Model(lambda x, y: loss_fn(forward(x), y), params, torch.tensor(p.x), torch.tensor(p.y),
                 [b for pair in stats.values() for b in pair])


def gpt_loss(t: dict, w: Workload) -> Callable:
    """A GPT decoder's mean next-token cross-entropy (workloads.gpt) from the weights `t`: F.embedding,
    F.layer_norm, causal F.scaled_dot_product_attention and exact F.gelu."""
    import torch.nn.functional as F
    vocab, d = w.sizes[0], w.sizes[3]

    def norm(h, name):
        return F.layer_norm(h, (d,), t[f"{name}.weight"], t[f"{name}.bias"])

    def attend(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    def loss(ids, targets):
        logits = gpt(t, ids, w, lambda i: F.embedding(i, t["wte"]), norm, attend, F.gelu)
        return F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))
    return loss


def eager_step(m: Model, w: Workload, loss: Callable | None = None) -> Callable[[], object]:
    """The usual PyTorch step: `loss` (m.loss unless given, e.g. torch.compile'd), backward, torch.optim."""
    import torch
    if w.optimizer == "adamw":
        opt = torch.optim.AdamW(m.params, lr=w.lr, weight_decay=w.weight_decay)
    elif w.optimizer == "adam":
        opt = torch.optim.Adam(m.params, lr=w.lr)
    else:
        opt = torch.optim.SGD(m.params, lr=w.lr, momentum=0.9 if w.optimizer == "momentum" else 0.0,
                              weight_decay=w.weight_decay)
    loss = loss or m.loss

    def step() -> torch.Tensor:
        value = loss(m.x, m.y)
        opt.zero_grad()
        value.backward()
        if w.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(m.params, w.clip_norm)
        opt.step()
        return value.detach()
    return step


def build(p: Problem, threads: int) -> Callable[[], object]:
    """One training step; calling it returns the loss before the update."""
    return eager_step(model(p, threads), p.workload)
