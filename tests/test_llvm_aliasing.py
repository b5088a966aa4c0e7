"""LLVM is told two pointers do not alias only where the memory plan proves they share no byte.

Loops grouped across kernels (backends/llvm/groups.py) read and write temporaries
that share arena bytes; with every argument `noalias`, LLVM moved a store before
a load of the same bytes and the `llvm` build returned wrong values while
`llvm-checked` (which never groups) was right. Each reproducer below printed a
wrong `llvm` result before the fix.
"""
from types import SimpleNamespace

import numpy as np
import pytest
from llvmlite import ir

import graphc as gc
from graphc.backends.llvm.aliasing import Memory
from graphc.backends.llvm.codegen import KernelFunction

LEVELS = ["O0", "O1", "O2"]


@pytest.mark.parametrize("level", LEVELS)
def test_tanh_plus_row_max_gradient(level):
    rng = np.random.default_rng(0)
    xv, yv, c = rng.standard_normal((3, 3)), rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    x, y = gc.placeholder((3, 3), "float64"), gc.placeholder((3, 3), "float64")
    cost = gc.sum((gc.tanh(x) + gc.max(y, axis=1, keepdims=True)) * gc.constant(c))
    got = gc.function([x, y], gc.grad(cost, x), backend="llvm", optimize=level)(xv, yv)
    np.testing.assert_allclose(got, c * (1 - np.tanh(xv) ** 2), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("level", LEVELS)
def test_log_softmax_gradient_and_its_gradient(level, dtype):
    c = gc.placeholder((3, 2), dtype)
    g = gc.grad(gc.sum(gc.square(gc.log_softmax(gc.sin(c), 1))), c)
    outputs = [g, gc.grad(gc.sum(g), c)]
    v = np.random.default_rng(1).normal(size=(3, 2)).astype(dtype)
    want = gc.function([c], outputs, backend="numpy", optimize=level)(v)
    got = gc.function([c], outputs, backend="llvm", optimize=level)(v)
    rtol, atol = (1e-4, 1e-5) if dtype == "float32" else (1e-10, 1e-12)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("level", LEVELS)
def test_gradient_and_hessian_of_a_row_product(level):
    xv = np.array([[0.3, -1.2, 2.0]])
    x = gc.placeholder((1, 3), "float64")
    g = gc.grad(gc.sum(gc.prod(x, 1)), x)
    h = gc.grad(gc.sum(g), x)
    got_g, got_h = gc.function([x], [g, h], backend="llvm", optimize=level)(xv)
    a, b, c = xv[0]
    np.testing.assert_allclose(got_g, [[b * c, a * c, a * b]], rtol=1e-12)
    np.testing.assert_allclose(got_h, [[b + c, a + c, a + b]], rtol=1e-12)


def _memory(offsets: dict, nbytes: list) -> Memory:
    buffers = [SimpleNamespace(nbytes=n) for n in nbytes]
    return Memory(SimpleNamespace(buffers=buffers, plan=SimpleNamespace(offsets=offsets)))


def test_storages_at_one_arena_byte_are_one_argument():
    # buffers 0 and 1 start at byte 0; 2 overlaps them from byte 64; 3 is apart; 5 is a slot of its own
    memory = _memory({0: 0, 1: 0, 2: 64, 3: 256}, [128, 128, 64, 64, 8])
    assert memory.arguments([0, 1, 2, 3, 5], merge=True) == [0, 0, 2, 3, 5]
    assert memory.arguments([0, 1, 2, 3, 5], merge=False) == [0, 1, 2, 3, 5]
    assert not memory.apart(0, [0, 2, 3]) and not memory.apart(2, [0, 2, 3])
    assert memory.apart(3, [0, 2, 3]) and memory.apart(5, [0, 2, 3, 5])


def test_noalias_only_on_arguments_that_share_no_byte():
    memory = _memory({0: 0, 1: 0, 2: 64, 3: 256}, [128, 128, 64, 64, 8])
    module = ir.Module()
    kf = KernelFunction(module, "k", [0, 1, 2, 3, 5], memory)
    assert kf.slots == [0, 2, 3, 5]
    assert kf.base(1) is kf.base(0)
    marked = ["noalias" in arg.attributes for arg in kf.fn.args]
    assert marked == [False, False, True, True]


def test_grouped_loops_keep_noalias_where_they_share_bytes_at_the_element():
    """Merging storages that start at one byte keeps every argument of these loops `noalias` (speed)."""
    x = gc.placeholder((1, 3), "float64")
    g = gc.grad(gc.sum(gc.prod(x, 1)), x)
    f = gc.function([x], [g, gc.grad(gc.sum(g), x)], backend="llvm", optimize="O0")
    f(np.ones((1, 3)))
    groups = [line for line in f.variant().executable.lowered.ir.splitlines()
              if line.startswith("define") and line.split("(")[0].endswith('_group"')]
    assert groups
    for line in groups:
        assert line.count("ptr ") == line.count("ptr noalias"), line
