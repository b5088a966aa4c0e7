"""The softmax family's kernels on W6's shapes, as `fn.profile` times them (float32).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_softmax.py [--rounds 4] [--calls 50]

The attention softmax over [16, 4, 64, 64] (rows of 64, with and without a
causal mask's -inf half) and softmax, log_softmax, logsumexp and softmax
cross-entropy over 1024 rows of 512 (a vocabulary). Each kernel's time is the
minimum over `--rounds` profiles of `--calls` calls, the rounds interleaved, so
that a loaded machine's slow phases hit every kernel. Run it on two commits to
compare them (docs/backends.md, "softmax family").
"""
from __future__ import annotations

import argparse

import numpy as np

import graphc as gc


def cases(rng: np.random.Generator) -> list[tuple[str, gc.Function, list[np.ndarray]]]:
    """(name, compiled function, arguments) of each kernel to time."""
    x = rng.standard_normal((16, 4, 64, 64)).astype("float32")
    masked = x.copy()
    above = np.triu_indices(64, 1)
    masked[..., above[0], above[1]] = -np.inf
    v = rng.standard_normal((1024, 512)).astype("float32")
    t = np.eye(512, dtype="float32")[rng.integers(0, 512, 1024)]
    X, V, T = (gc.placeholder(a.shape, "float32") for a in (x, v, t))
    attention = gc.function([X], gc.softmax(X, -1), backend="llvm")
    return [("attention softmax, masked", attention, [masked]), ("attention softmax", attention, [x]),
            ("softmax 1024x512", gc.function([V], gc.softmax(V, -1), backend="llvm"), [v]),
            ("log_softmax 1024x512", gc.function([V], gc.log_softmax(V, -1), backend="llvm"), [v]),
            ("logsumexp 1024x512", gc.function([V], gc.logsumexp(V, -1), backend="llvm"), [v]),
            ("softmax_ce 1024x512", gc.function([V, T], gc.softmax_cross_entropy(V, T, -1), backend="llvm"), [v, t])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    kernels = cases(np.random.default_rng(0))
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, fn, arrays in kernels:
            (kernel,) = fn.profile(*arrays, calls=args.calls).kernels
            best[name] = min(best.get(name, np.inf), kernel.seconds)
    for name, seconds in best.items():
        print(f"{name:28s} {seconds * 1e6:9.1f} us")


if __name__ == "__main__":
    main()
