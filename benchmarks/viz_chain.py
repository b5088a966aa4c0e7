"""A chain of N ops for timing `graphc viz` (docs/visualization.md, "Large graphs").

Every other op multiplies by the same constant, so one node feeds N / 2 others down
the whole chain: the shape that made the HTML layout quadratic.

    N=20000 /usr/bin/time -f "%e s %M KB" graphc viz benchmarks/viz_chain.py:out --out chain.html
"""
import os

import graphc as gc

N = int(os.environ.get("N", "500"))
y = gc.placeholder((4,), name="x")
for i in range(N):
    y = gc.tanh(y) if i % 2 else y * 1.5
out = gc.sum(y)
