"""An LSTM counts: read 12 random bits, output how many were 1 (13 classes).

The LSTM runs inside one `gc.scan` node (pass --unroll for a Python-unrolled
graph). With --measure, it prints instead the graph size (nodes of forward +
gradient, scan bodies included) and compile time (gc.function + first call) of
an LSTM for sequence lengths 8, 64 and 512, scanned and unrolled.

    python examples/lstm_sequence.py [--unroll] [--measure]
"""
from __future__ import annotations

import sys
import time

import numpy as np

import graphc as gc
from graphc import losses, nn, optim
from graphc.ops.loop import node_count

STEPS, HIDDEN = 12, 24


class Counter(nn.Module):
    def __init__(self, unroll: bool = False, seed: int = 0):
        super().__init__()
        self.lstm = nn.LSTM(1, HIDDEN, unroll=unroll, rng=seed)
        self.head = nn.Dense(HIDDEN, STEPS + 1, rng=seed)

    def forward(self, bits: gc.Tensor) -> gc.Tensor:
        _, (h, _) = self.lstm.run(bits)
        return self.head(h)


def batch(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    bits = rng.integers(0, 2, (n, STEPS, 1))
    return bits.astype("float32"), bits.sum(axis=(1, 2)).astype("int64")


def train(iterations: int = 500, unroll: bool = False, seed: int = 0) -> float:
    """Train on fresh batches; return the accuracy on 1000 new sequences."""
    rng = np.random.default_rng(seed)
    model = Counter(unroll, seed)
    x, y = gc.placeholder((None, STEPS, 1), name="bits"), gc.placeholder((None,), "int64", name="count")
    loss = losses.cross_entropy(model(x), y)
    step = gc.function([x, y], loss, updates=optim.Adam(model.parameters(), lr=1e-2).updates(loss))
    for i in range(iterations):
        value = step(*batch(rng, 64))
        if (i + 1) % 50 == 0:
            print(f"step {i + 1:4d}  loss {float(value):.4f}")
    test_x, test_y = batch(rng, 1000)
    return float(np.mean(gc.function([x], gc.argmax(model(x), axis=1))(test_x) == test_y))


def measure(length: int, unroll: bool) -> tuple[int, float]:
    """(nodes of forward + gradient, seconds for gc.function + first call) for one LSTM."""
    lstm = nn.LSTM(4, 16, unroll=unroll)
    x = gc.placeholder((8, length, 4))
    cost = gc.sum(lstm(x))
    outputs = [cost] + gc.grad(cost, lstm.parameters())
    start = time.perf_counter()
    gc.function([x], outputs)(np.ones((8, length, 4), "float32"))
    return node_count(outputs), time.perf_counter() - start


if __name__ == "__main__":
    if "--measure" in sys.argv:
        print("| length | scan nodes | scan compile (s) | unrolled nodes | unrolled compile (s) |")
        print("|---:|---:|---:|---:|---:|")
        for n in (8, 64, 512):
            (sn, st), (un, ut) = measure(n, False), measure(n, True)
            print(f"| {n} | {sn} | {st:.2f} | {un} | {ut:.2f} |")
    else:
        start = time.perf_counter()
        acc = train(unroll="--unroll" in sys.argv)
        print(f"LSTM counting ones in {STEPS} bits: test accuracy {acc:.2%} ({time.perf_counter() - start:.1f} s)")
