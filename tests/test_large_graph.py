"""Traversals are iterative: a 100,000-node chain builds, differentiates and runs.

The reference backend runs it unoptimized here; the passes' own scaling is checked on a
smaller chain in test_passes.py.
"""
import sys

import numpy as np

import graphc as gc


def test_hundred_thousand_node_chain():
    assert sys.getrecursionlimit() < 100_000
    x = gc.placeholder((), "float64", "x")
    y = x
    for i in range(50_000):
        y = y * 0.99999 + 1e-6 if i % 2 else gc.sin(y) * 0.5 + y * 0.5
    g = gc.grad(y, x)
    f = gc.function([x], [y, g], optimize="O0")
    value, slope = f(0.3)
    # The same recurrence in NumPy, with the derivative by the chain rule.
    v, d = 0.3, 1.0
    for i in range(50_000):
        if i % 2:
            v, d = v * 0.99999 + 1e-6, d * 0.99999
        else:
            v, d = np.sin(v) * 0.5 + v * 0.5, d * (np.cos(v) * 0.5 + 0.5)
    assert len(f.graph) > 100_000
    np.testing.assert_allclose([value, slope], [v, d], rtol=1e-9)
