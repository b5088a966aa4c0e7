"""A reduction is one class: a `Monoid` declared outside graphc compiles natively on every backend.

The two reductions here (any, all) are unknown to every backend: what the kernels know of them is
the class's facts (identity, combine, accumulator dtype). Each is checked against NumPy alone and
folded into a preceding elementwise op (a `FusedReduce` carrying the class), and each compiles with
no NumPy fallback: a backend that kept its own table of reductions would fall back, or fold with
the wrong combine.
"""
import numpy as np
import pytest
import sympy as sp

import graphc as gc
from conftest import BACKENDS as CONFTEST_BACKENDS
from graphc.backends.cuda.lowering import lower_program as lower_for_gpu
from graphc.backends.cuda.steps import Host
from graphc.backends.llvm.lowering import lower_program as lower_for_cpu
from graphc.ir import DTypeError, GraphcError, Tensor
from graphc.ops import args
from graphc.ops.fused import FusedReduce
from graphc.ops.reduce import Monoid
from graphc.schedule import kind_of

#: the reference, the LLVM build, the CUDA kernels on an emulated grid, and on a GPU machine the GPU itself
BACKENDS = ["numpy", "llvm", "cuda-emulate"] + [b for b in CONFTEST_BACKENDS.values() if b.startswith("cuda")]


class AnyTrue(Monoid):
    """Whether any element along the axes is true."""

    name = "any"
    numpy_fn = np.any
    differentiable = False

    @classmethod
    def identity(cls, dtype):
        return False

    @classmethod
    def combine(cls, a, b):
        return sp.Or(a, b)

    def pullback(self, node, g):
        return [None]


class AllTrue(AnyTrue):
    """Whether every element along the axes is true."""

    name = "all"
    numpy_fn = np.all

    @classmethod
    def identity(cls, dtype):
        return True

    @classmethod
    def combine(cls, a, b):
        return sp.And(a, b)


def fold(cls, x, axis=None, keepdims=False):
    if x.dtype != "bool":
        raise DTypeError(f"{cls.name}: needs a bool operand, got {x.dtype}", fix="compare first (x > 0)")
    return Tensor.make(cls(args.axes(cls.name, x, axis), keepdims), [x])


def assert_native(fn):
    """No kernel of `fn` runs its NumPy rule: on the CPU, on the host grid, and on the GPU (IR only)."""
    program = fn.kernel_program()
    assert lower_for_cpu(program, blas=0).fallbacks == {}
    assert lower_for_gpu(program).fallbacks == {}
    assert not any(isinstance(step, Host) for step in lower_for_gpu(program, host=True).steps)
    return program


XV = np.random.default_rng(0).standard_normal((6, 300)).astype(np.float32)
CASES = {  # name -> (graph of x, NumPy of XV): rows without a hit, rows all hits, an empty axis
    "any rows": (lambda x: fold(AnyTrue, x > 2.5, axis=1), np.any(XV > 2.5, axis=1)),
    "all columns": (lambda x: fold(AllTrue, x > -2.0, axis=0, keepdims=True), np.all(XV > -2.0, axis=0, keepdims=True)),
    "any everything": (lambda x: fold(AnyTrue, x > 4.0), np.any(XV > 4.0)),
    "all of nothing": (lambda x: fold(AllTrue, x[:, :0] > 0.0, axis=1), np.ones(6, bool)),
    "any of nothing": (lambda x: fold(AnyTrue, x[:, :0] > 0.0, axis=1), np.zeros(6, bool)),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(CASES))
def test_fused_into_the_comparison_it_reduces(case, backend):
    build, want = CASES[case]
    x = gc.placeholder(XV.shape, "float32")
    fn = gc.function([x], build(x), backend=backend)
    got = fn(XV)
    assert got.dtype == np.bool_ and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    program = assert_native(fn)
    if XV.size and "nothing" not in case:  # one kernel: the comparison folded into the reduction
        (k,) = program.kernels
        assert isinstance(k.node.op, FusedReduce) and k.node.op.reduction in (AnyTrue, AllTrue)
        assert k.kind == "reduce" and k.node.op.format(["x"]).startswith(f"{k.node.op.reduction.name}[in0 > ")


@pytest.mark.parametrize("backend", BACKENDS)
def test_alone_over_a_bool_input(backend):
    bits = np.random.default_rng(1).random((3, 4, 500)) > 0.9995  # some rows have no true element
    bits[1, 2] = True  # and one has no false one
    x = gc.placeholder(bits.shape, "bool")
    fn = gc.function([x], [fold(AnyTrue, x, axis=(0, 2)), fold(AllTrue, x, axis=2)], backend=backend)
    got_any, got_all = fn(bits)
    np.testing.assert_array_equal(got_any, np.any(bits, axis=(0, 2)))
    np.testing.assert_array_equal(got_all, np.all(bits, axis=2))
    assert not np.all(got_any) and np.any(got_any) and np.sum(got_all) == 1  # both answers occur
    program = assert_native(fn)
    assert {type(k.node.op) for k in program.kernels if k.kind == "reduce"} == {AnyTrue, AllTrue}


def test_long_rows_take_the_gpus_block_reduction_with_the_monoids_combine():
    x = gc.placeholder((2, 4096), "bool")
    program = gc.function([x], [fold(AnyTrue, x, axis=1), fold(AllTrue, x, axis=1)], backend="numpy").kernel_program()
    lowered = lower_for_gpu(program)
    assert lowered.fallbacks == {} and all(step.per_block for step in lowered.steps)
    assert "shfl.sync.down" in lowered.ir
    assert " or i1 " in lowered.ir and " and i1 " in lowered.ir  # Or and And, printed from the classes


def test_a_kind_no_backend_emits_is_an_error_naming_the_op():
    class Odd(AnyTrue):
        kernel_kind = "odd"

    with pytest.raises(GraphcError, match="Odd declares kernel_kind = 'odd'"):
        kind_of(Odd((0,), False))
