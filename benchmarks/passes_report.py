"""What the optimizer does to two training steps: nodes per pass, kernels, memory.

    python benchmarks/passes_report.py          (the tables in docs/passes.md)

W1: the lectures' sine MLP (2 -> 64 -> 64 -> 1, sigmoid, MSE, full batch 1,000, SGD).
W4: LeNet-5 (1x28x28, batch 64, SGD with momentum 0.9).
"""
from __future__ import annotations

import numpy as np

import graphc as gc
from graphc import losses, nn, optim
from graphc.schedule import lower


def sine_step() -> tuple[gc.Function, list]:
    model = nn.MLP([2, 64, 64, 1], activation="sigmoid", rng=0)
    x, y = gc.placeholder((1000, 2), name="x"), gc.placeholder((1000, 1), name="y")
    loss = losses.mse(model(x), y)
    return gc.function([x, y], loss, updates=optim.SGD(model.parameters(), lr=0.1).updates(loss)), \
        [(1000, 2), (1000, 1)]


def lenet_step() -> tuple[gc.Function, list]:
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, activation="relu", rng=rng), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, activation="relu", rng=rng), nn.MaxPool2d(2), nn.Flatten(),
        nn.Dense(400, 120, "relu", rng=rng), nn.Dense(120, 84, "relu", rng=rng), nn.Dense(84, 10, rng=rng))
    x, y = gc.placeholder((64, 1, 28, 28), name="images"), gc.placeholder((64,), "int64", name="labels")
    loss = losses.cross_entropy(model(x), y)
    updates = optim.Momentum(model.parameters(), lr=0.01, momentum=0.9).updates(loss)
    return gc.function([x, y], loss, updates=updates), [(64, 1, 28, 28), (64,)]


def report(name: str, fn: gc.Function, shapes: list) -> None:
    variant = fn.variant(*shapes)
    print(f"\n### {name}\n")
    print("| pass | nodes before | nodes after | ms | rewrites |\n|---|---:|---:|---:|---|")
    for r in variant.report.records:
        fired = ", ".join(f"{k} x{v}" for k, v in r.rewrites.most_common()) or "-"
        print(f"| {r.name} | {r.nodes_before} | {r.nodes_after} | {r.seconds * 1e3:.1f} | {fired} |")
    before = lower(variant.graph, in_place=False)
    after = fn.kernel_program(*shapes)
    print(f"\nkernels: {len(before.kernels)} unfused ({_kinds(before)}) -> {len(after.kernels)} fused "
          f"({_kinds(after)})")
    print(f"temporaries: {before.plan.unplanned_bytes / 1e6:.2f} MB without planning, "
          f"{after.plan.arena_bytes / 1e6:.2f} MB planned arena; "
          f"{len(after.plan.in_place)} of {len(after.updates)} updates in place")


def _kinds(program) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(program.counts().items()))


if __name__ == "__main__":
    for title, build in (("W1 sine MLP step", sine_step), ("W4 LeNet-5 step", lenet_step)):
        report(title, *build())
