"""The workloads in graphc: gc.nn layers, gc.losses and gc.optim, one compiled step per workload."""
from __future__ import annotations

from typing import Any, Callable

import graphc as gc

from .workloads import Problem


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


def step_parts(p: Problem, batch: int | None = None
               ) -> tuple[gc.nn.Module, gc.Tensor, gc.Tensor, gc.Tensor, gc.optim.Optimizer]:
    """The workload's (model, x, y, loss, optimizer), inputs of `batch` rows (default: the workload's);
    graphc.distributed builds its data-parallel step from these (benchmarks/distributed.py)."""
    w = p.workload
    net = model(p)
    params = net.parameters()
    for param, value in zip(params, p.params.values(), strict=True):
        param.value = value  # same initial weights as every peer
    rows = p.x.shape[0] if batch is None else batch
    x = gc.placeholder((rows,) + p.x.shape[1:], "float32", name="x")
    y = gc.placeholder((rows,) + p.y.shape[1:], "float32", name="y")
    out = net(x)
    loss = gc.losses.mse(out, y) if w.loss == "mse" else gc.losses.cross_entropy(out, y)
    if w.optimizer == "adam":
        opt = gc.optim.Adam(params, lr=w.lr)
    else:
        opt = gc.optim.SGD(params, lr=w.lr, momentum=0.9 if w.optimizer == "momentum" else 0.0)
    return net, x, y, loss, opt


def step_function(p: Problem, backend: str, **options: Any) -> gc.Function:
    """The workload's compiled training step (`options` go to gc.function, e.g. fast_math=True)."""
    _, x, y, loss, opt = step_parts(p)
    return gc.function([x, y], loss, updates=opt.updates(loss), backend=backend, **options)


def build(p: Problem, backend: str) -> Callable[[], object]:
    """One training step on `backend` ("llvm" or "numpy"); calling it returns the loss before the update."""
    fn = step_function(p, backend)
    return lambda: fn(p.x, p.y)
