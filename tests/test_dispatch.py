"""Backends dispatch on op classes: a registry looked up along the op's MRO, so an op subclass gets its
base's emitter on the LLVM and the CUDA backends (the host-grid emulation runs the CUDA kernels here)."""
import numpy as np
import pytest
from graphc.backends.cuda import tables
from graphc.backends.llvm import kernels
from graphc.backends.llvm.registry import EMITTERS, Registry

import graphc as gc
from graphc.control.loop import Scan
from graphc.ir import Tensor
from graphc.ir.node import Op
from graphc.ops import elementwise as ew
from graphc.ops import reduce


class Base:
    pass


class Sub(Base):
    pass


class Leaf(Sub):
    pass


def test_registry_lookup_walks_the_mro():
    reg = Registry("test")
    first = reg.register(Base)(lambda: "base")
    assert reg.lookup(Leaf) is first and reg.lookup(Sub) is first
    second = reg.register(Sub)(lambda: "sub")
    assert reg.lookup(Leaf) is second and reg.lookup(Base) is first  # the nearest class wins
    assert reg.lookup(int) is None
    assert reg.classes() == [Base, Sub]


def test_registering_a_class_twice_is_an_error():
    reg = Registry("test")
    reg.register(Base)(print)
    with pytest.raises(ValueError, match="test: Base already has"):
        reg.register(Base)(repr)


def _scheduled_classes() -> list[type]:
    """graphc's op classes the scheduler makes a kernel of (a `kernel_kind` other than "generic")."""
    found, stack = set(), [Op]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    return [c for c in found if c.__module__.startswith("graphc.") and c.kernel_kind != "generic"]


def test_every_scheduled_op_class_has_an_emitter():
    """Each class the scheduler makes a kernel of: an LLVM emitter; on CUDA an emitter or a plan (scan
    runs on the host there)."""
    classes = _scheduled_classes()
    assert {reduce.Sum, reduce.ArgMax, ew.Add, Scan} <= set(classes)
    for cls in classes:
        assert EMITTERS.lookup(cls) is not None, cls
        on_gpu = tables.EMITTERS.lookup(cls) or tables.PLANS.lookup(cls)
        assert (on_gpu is None) == (cls is Scan), cls


def test_the_softmax_family_and_arg_extremum_dispatch_by_class():
    assert EMITTERS.lookup(reduce.LogSoftmax) is kernels.emit_log_softmax  # not its base Softmax's
    assert EMITTERS.lookup(reduce.LogSumExp) is kernels.emit_logsumexp  # not its base Reduce's
    assert EMITTERS.lookup(reduce.ArgMin) is kernels.emit_argextremum
    assert EMITTERS.lookup(reduce.Max) is kernels.emit_reduce
    assert tables.EMITTERS.lookup(reduce.ArgMax) is kernels.emit_argextremum
    assert tables.PLANS.lookup(reduce.Sum) is None


# -- op subclasses a user might write, compiled natively through their base's emitter ------------------

class FirstMax(reduce.ArgMax):
    name = "first_max"


class LastMin(reduce.ArgMin):
    name = "last_min_user"


class Stable(reduce.LogSoftmax):
    name = "stable_log_softmax"


class Cube(ew.Elementwise):
    name = "cube"

    def scalar(self, x):
        return x ** 3


X = np.random.default_rng(7).standard_normal((5, 9)).astype(np.float32)
X[2, 4] = X[2, 1] = 9.0  # a tie: the first index wins
CASES = {
    "argmax_subclass": (FirstMax((1,), False), np.argmax(X, axis=1)),
    "argmin_subclass": (LastMin((0,), False), np.argmin(X, axis=0)),
    "log_softmax_subclass": (Stable(1), X - X.max(1, keepdims=True)
                             - np.log(np.exp(X - X.max(1, keepdims=True)).sum(1, keepdims=True))),
    "elementwise_subclass": (Cube(), X ** 3),
}


@pytest.mark.parametrize("backend", ["llvm", "cuda-emulate"])
@pytest.mark.parametrize("case", list(CASES))
def test_an_op_subclass_compiles_natively(case, backend):
    op, expected = CASES[case]
    p = gc.placeholder(X.shape, "float32")
    fn = gc.function([p], Tensor.make(op, [p]), backend=backend)
    got = np.asarray(fn(X))
    lowered = fn.variant().executable.lowered
    assert lowered.fallbacks == {}, lowered.fallbacks
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


class Halve(Op):
    """An op of no registered class (nor a subclass of one): it runs through its NumPy rule."""

    name = "halve"

    def infer(self, x):
        return x.shape, x.dtype

    def numpy(self, x):
        return x / 2


@pytest.mark.parametrize("backend", ["llvm", "cuda-emulate"])
def test_an_op_of_an_unregistered_class_falls_back(backend):
    p = gc.placeholder(X.shape, "float32")
    fn = gc.function([p], gc.exp(Tensor.make(Halve(), [p])), backend=backend)
    np.testing.assert_allclose(np.asarray(fn(X)), np.exp(X / 2), rtol=1e-5)
    assert list(fn.variant().executable.lowered.fallbacks.values()) == ["no native emitter for generic kernel halve"]
