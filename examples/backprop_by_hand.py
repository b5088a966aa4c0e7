"""Backpropagation by hand on the simplest MLP, checked against gc.grad.

    z1 = w1 x + b1,  n = sigmoid(z1),  z2 = w2 n + b2,  m = sigmoid(z2),  L = (y - m)^2

The chain rule with the correct factors (the lecture notes slip on two):
    dL/dm  = -2 (y - m)                   (not 2 (y - m): d/dm of (y - m)^2 brings a minus)
    dm/dz2 = sigmoid'(z2) = m (1 - m)     (not sigmoid(m)(1 - sigmoid(m)))
    dL/dw2 = dL/dm * dm/dz2 * n           dL/db2 = dL/dm * dm/dz2
    dL/dw1 = dL/dm * dm/dz2 * w2 * n (1 - n) * x,   dL/db1 = the same without x
Prints the hand-computed values next to gc.grad's, then the gradient graph as math, and
writes that graph as an interactive page (backprop_by_hand.html, gc.viz) into --out.
It has no long loop, so --quick changes nothing.

    python examples/backprop_by_hand.py [--out DIR] [--quick]
"""
from __future__ import annotations

import os

import numpy as np

import graphc as gc
from _common import parse_args, wrote

VALUES = {"w1": 0.7, "b1": -0.3, "w2": 1.8, "b2": 0.2}


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + np.exp(-z))


def by_hand(x: float, y: float, w1: float, b1: float, w2: float, b2: float) -> dict[str, float]:
    """Forward pass keeping n and m, then the chain rule backwards."""
    n = sigmoid(w1 * x + b1)
    m = sigmoid(w2 * n + b2)
    dL_dz2 = -2.0 * (y - m) * m * (1.0 - m)   # dL/dm * dm/dz2
    dL_dz1 = dL_dz2 * w2 * n * (1.0 - n)      # ... * dz2/dn * dn/dz1
    return {"w1": dL_dz1 * x, "b1": dL_dz1, "w2": dL_dz2 * n, "b2": dL_dz2}


def by_graphc(x: float, y: float) -> tuple[dict[str, float], list[gc.Tensor]]:
    """The same network declared in graphc; returns gc.grad's values and the gradient graphs."""
    params = {k: gc.parameter(np.float64(v), name=k) for k, v in VALUES.items()}
    xs, ys = gc.placeholder((), "float64", name="x"), gc.placeholder((), "float64", name="y")
    n = gc.sigmoid(params["w1"] * xs + params["b1"])
    m = gc.sigmoid(params["w2"] * n + params["b2"])
    loss = gc.square(ys - m)
    grads = gc.grad(loss, list(params.values()))
    values = gc.function([xs, ys], grads)(np.float64(x), np.float64(y))
    return {k: float(v) for k, v in zip(params, values)}, grads


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(__doc__, argv)
    x, y = 1.5, 1.0
    hand = by_hand(x, y, **VALUES)
    auto, grads = by_graphc(x, y)
    print(f"x = {x}, y = {y}, " + ", ".join(f"{k} = {v}" for k, v in VALUES.items()))
    print(f"{'':8s} {'by hand':>14s} {'gc.grad':>14s} {'difference':>11s}")
    for k in VALUES:
        print(f"dL/d{k:4s} {hand[k]:14.10f} {auto[k]:14.10f} {abs(hand[k] - auto[k]):11.2e}")
    print("\nthe gradient graph (gc.pprint):")
    text = gc.pformat({f"d{k}": g for k, g in zip(VALUES, grads)})
    print(text)
    page = os.path.join(args.out, "backprop_by_hand.html")
    gc.viz.save(grads, page)
    wrote(page)
    return {"max_difference": max(abs(hand[k] - auto[k]) for k in VALUES), "gradient_text": text + "\n"}


if __name__ == "__main__":
    main()
