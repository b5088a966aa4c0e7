"""The `graphc` command."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def demo(args: argparse.Namespace) -> int:
    """Train the lectures' sine-fitting MLP (2 -> 64 -> 64 -> 1) and print the falling loss."""
    import graphc as gc
    from graphc import backends

    backend = backends.get(args.backend)
    rng = np.random.default_rng(args.seed)
    n = 1000
    X = rng.uniform(0, 10, size=(n, 2)).astype(np.float32)
    y = (np.sin(X[:, 0]) + np.cos(X[:, 1]) + 0.1 * rng.standard_normal(n)).astype(np.float32)[:, None]

    def layer(fan_in: int, fan_out: int, name: str):
        w = gc.parameter(rng.normal(0, np.sqrt(1.0 / fan_in), (fan_in, fan_out)).astype(np.float32), name=f"W{name}")
        b = gc.parameter(np.zeros(fan_out, np.float32), name=f"b{name}")
        return w, b

    params = [*layer(2, 64, "1"), *layer(64, 64, "2"), *layer(64, 1, "3")]
    W1, b1, W2, b2, W3, b3 = params
    x = gc.placeholder((None, 2), name="x")
    t = gc.placeholder((None, 1), name="y")
    h = gc.relu(x @ W1 + b1)
    h = gc.relu(h @ W2 + b2)
    loss = gc.mean(gc.square(h @ W3 + b3 - t))
    grads = gc.grad(loss, params)
    # Adam, written as graph updates so the whole step is one compiled call.
    lr, b1_, b2_, eps = 0.003, 0.9, 0.999, 1e-8
    step_count = gc.parameter(np.zeros((), np.float32), name="step")
    k = step_count + 1.0
    updates = [(step_count, k)]
    for p, g in zip(params, grads):
        m = gc.parameter(np.zeros_like(p.value), name=f"m_{p.name}")
        v = gc.parameter(np.zeros_like(p.value), name=f"v_{p.name}")
        m_new = b1_ * m + (1 - b1_) * g
        v_new = b2_ * v + (1 - b2_) * g * g
        m_hat = m_new / (1.0 - b1_ ** k)
        v_hat = v_new / (1.0 - b2_ ** k)
        updates += [(m, m_new), (v, v_new), (p, p - lr * m_hat / (gc.sqrt(v_hat) + eps))]
    step = gc.function([x, t], loss, updates=updates, backend=backend.name)

    print(f"graphc demo: sine MLP 2->64->64->1 (ReLU, Adam) on {n} points, backend={backend.name}")
    start = time.perf_counter()
    for epoch in range(args.epochs + 1):
        value = float(step(X, y))
        if epoch % max(1, args.epochs // 10) == 0:
            print(f"  step {epoch:5d}  loss {value:.5f}")
    print(f"{args.epochs} full-batch steps in {time.perf_counter() - start:.2f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="graphc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="train the lectures' sine-fitting MLP and print the loss")
    p.add_argument("--epochs", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", default="auto", help="numpy, llvm, cuda or auto (the best available)")
    p.set_defaults(run=demo)
    from graphc.viz.cli import add_parser; add_parser(sub)  # noqa: E702 - the one line that wires `graphc viz`
    from graphc.compare.cli import add_parser; add_parser(sub)  # noqa: E702 - wires `graphc compare-diff`
    args = parser.parse_args(argv)
    from graphc.ir.errors import GraphcError
    try:
        return args.run(args)
    except GraphcError as e:
        print(f"graphc: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
