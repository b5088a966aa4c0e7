"""An LSTM counts: read 12 random bits, output how many were 1 (13 classes).

The LSTM runs inside one `gc.scan` node (pass --unroll for a Python-unrolled
graph). With --measure, it prints instead the graph size (nodes of forward +
gradient, scan bodies included) and compile time (gc.function + first call) of
an LSTM for sequence lengths 8, 64 and 512, scanned and unrolled, and saves that table as
lstm_measure.md in --out; otherwise it saves the loss per step as lstm_sequence.png.
--quick: 150 training steps instead of 500; lengths 8 and 32 for --measure.

    python examples/lstm_sequence.py [--unroll] [--measure] [--out DIR] [--quick]
"""
from __future__ import annotations

import os
import time

import numpy as np

import graphc as gc
from _common import parse_args, training_result, wrote
from graphc import losses, nn, optim
from graphc.compare.atomic import write_atomic
from graphc.control import node_count

STEPS, HIDDEN = 12, 24


class Counter(nn.Module):
    def __init__(self, unroll: bool = False, seed: int = 0):
        super().__init__()
        self.lstm = nn.LSTM(1, HIDDEN, batch_first=True, unroll=unroll, rng=seed)
        self.head = nn.Dense(HIDDEN, STEPS + 1, rng=seed)

    def forward(self, bits: gc.Tensor) -> gc.Tensor:
        _, (h, _) = self.lstm(bits)
        return self.head(h[-1])  # the last layer's final state


def batch(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    bits = rng.integers(0, 2, (n, STEPS, 1))
    return bits.astype("float32"), bits.sum(axis=(1, 2)).astype("int64")


def train(iterations: int = 500, unroll: bool = False, seed: int = 0) -> tuple[float, list[float]]:
    """Train on fresh batches; return the accuracy on 1000 new sequences and the loss per step."""
    rng = np.random.default_rng(seed)
    model = Counter(unroll, seed)
    x, y = gc.placeholder((None, STEPS, 1), name="bits"), gc.placeholder((None,), "int64", name="count")
    loss = losses.cross_entropy(model(x), y)
    step = gc.function([x, y], loss, updates=optim.Adam(model.parameters(), lr=1e-2).updates(loss))
    curve = []
    for i in range(iterations):
        curve.append(float(step(*batch(rng, 64))))
        if (i + 1) % 50 == 0:
            print(f"step {i + 1:4d}  loss {curve[-1]:.4f}")
    test_x, test_y = batch(rng, 1000)
    return float(np.mean(gc.function([x], gc.argmax(model(x), axis=1))(test_x) == test_y)), curve


def measure(length: int, unroll: bool) -> tuple[int, float]:
    """(nodes of forward + gradient, seconds for gc.function + first call) for one LSTM."""
    lstm = nn.LSTM(4, 16, batch_first=True, unroll=unroll)
    x = gc.placeholder((8, length, 4))
    cost = gc.sum(lstm(x)[0])
    outputs = [cost] + gc.grad(cost, lstm.parameters())
    start = time.perf_counter()
    gc.function([x], outputs)(np.ones((8, length, 4), "float32"))
    return node_count(outputs), time.perf_counter() - start


def options(parser) -> None:
    parser.add_argument("--unroll", action="store_true", help="unroll the LSTM in Python instead of one gc.scan")
    parser.add_argument("--measure", action="store_true", help="compare graph size and compile time instead")


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(__doc__, argv, options)
    if args.measure:
        rows = ["| length | scan nodes | scan compile (s) | unrolled nodes | unrolled compile (s) |",
                "|---:|---:|---:|---:|---:|"]
        nodes = {}
        for n in (8, 32) if args.quick else (8, 64, 512):
            (sn, st), (un, ut) = measure(n, False), measure(n, True)
            nodes[n] = (sn, un)
            rows.append(f"| {n} | {sn} | {st:.2f} | {un} | {ut:.2f} |")
        print("\n".join(rows))
        path = os.path.join(args.out, "lstm_measure.md")
        write_atomic(path, "\n".join(rows) + "\n")
        wrote(path)
        return {"nodes": nodes}
    start = time.perf_counter()
    acc, curve = train(150 if args.quick else 500, unroll=args.unroll)
    print(f"LSTM counting ones in {STEPS} bits: test accuracy {acc:.2%} ({time.perf_counter() - start:.1f} s)")
    return training_result(curve, acc, args.out, "lstm_sequence.png", "Adam step (64 fresh sequences each)",
                           f"LSTM counting ones in {STEPS} bits")


if __name__ == "__main__":
    main()
