"""The workloads under torch.compile (inductor), the two ways a PyTorch user compiles a training step.

- `torch-compile`: torch.compile (default mode) of the eager step's forward and loss; backward and
  torch.optim stay as in eager PyTorch, which is what a user writes first.
- `torch-compile-full`: torch.compile(fullgraph=True) of the whole step: forward, torch.autograd.grad
  and the optimizer as in-place tensor ops with torch.optim's formulas (SGD, momentum, Adam, AdamW, and
  clip_grad_norm_'s clipping), so the trajectory is torch.optim's and dynamo must capture everything in
  one graph or fail.
"""
from __future__ import annotations

from typing import Callable

from . import fw_torch
from .workloads import Problem, Workload

#: torch.optim's defaults for Adam
BETAS, EPS = (0.9, 0.999), 1e-8


def build(p: Problem, threads: int, full: bool = False) -> Callable[[], object]:
    """One compiled training step (compiled on its first call); calling it returns the loss before the update."""
    import torch
    m = fw_torch.model(p, threads)
    if not full:
        return fw_torch.eager_step(m, p.workload, loss=torch.compile(m.loss))
    return full_step(m, p.workload)


def full_step(m: fw_torch.Model, w: Workload) -> Callable[[], object]:
    """The whole step in one torch.compile(fullgraph=True) graph, updating m.params in place."""
    import torch
    torch._dynamo.config.trace_autograd_ops = True  # off by default: dynamo graph-breaks on autograd.grad
    update = optimizer(m.params, w)

    @torch.compile(fullgraph=True)
    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = m.loss(x, y)
        grads = torch.autograd.grad(loss, m.params)
        with torch.no_grad():
            update(grads)
        return loss.detach()
    return lambda: step(m.x, m.y)


def clip_(grads: tuple, max_norm: float) -> None:
    """torch.nn.utils.clip_grad_norm_ on the gradients themselves: all scaled in place by
    min(1, max_norm / (norm + 1e-6)), the norm over all of them together (the norm of their norms)."""
    import torch
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    coef = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef)


def optimizer(params: list, w: Workload) -> Callable[[tuple], None]:
    """The update of torch.optim's SGD (momentum 0 or 0.9, dampening 0, weight
    decay), Adam or AdamW (default betas and eps)
    as in-place tensor ops on `params` given their gradients, after clip_ when the workload clips; Adam's step
    count is a tensor so that the compiled graph does not specialise on it."""
    rule = _rule(params, w)
    if w.clip_norm is None:
        return rule

    def clipped(grads: tuple) -> None:
        clip_(grads, w.clip_norm)
        rule(grads)
    return clipped


def _rule(params: list, w: Workload) -> Callable[[tuple], None]:
    """The update rule alone (optimizer's docstring)."""
    import torch
    lr = w.lr
    if w.optimizer in ("sgd", "momentum"):
        momentum = 0.9 if w.optimizer == "momentum" else 0.0
        bufs = [torch.zeros_like(q) for q in params]  # torch.optim's first buffer is the gradient: 0.9 * 0 + g

        def sgd(grads: tuple) -> None:
            for q, g, buf in zip(params, grads, bufs):
                if w.weight_decay:
                    g = g + q * w.weight_decay  # torch.optim's coupled L2: d_p.add(p, alpha=weight_decay)
                if momentum:
                    g = buf.mul_(momentum).add_(g)
                q.sub_(lr * g)  # not add_(g, alpha=-lr): inductor (2.13) drops alpha when g is a matmul's output
        return sgd
    (b1, b2), count = BETAS, torch.zeros((), dtype=torch.float32)
    avgs = [torch.zeros_like(q) for q in params]
    sqs = [torch.zeros_like(q) for q in params]
    decay = 1 - lr * w.weight_decay if w.optimizer == "adamw" else None  # AdamW's decoupled decay, first

    def adam(grads: tuple) -> None:
        count.add_(1)
        step_size = lr / (1 - b1 ** count)
        root_bc2 = (1 - b2 ** count).sqrt()
        for q, g, avg, sq in zip(params, grads, avgs, sqs):
            if decay is not None:
                q.mul_(decay)
            avg.lerp_(g, 1 - b1)
            sq.mul_(b2).addcmul_(g, g, value=1 - b2)
            q.sub_(step_size * avg / (sq.sqrt() / root_bc2 + EPS))
    return adam
