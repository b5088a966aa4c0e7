"""Compiled code reads the right bytes and frees what it holds: byte order is made native at the
boundary, data addresses are read on every call, a parameter's buffer cannot be moved from outside,
a dropped function frees its native code, and each function keeps a bounded number of variants."""
import ctypes
import gc as pygc
import os
import weakref

import numpy as np
import pytest

import graphc as gc
from graphc.backends.llvm import runtime
from graphc.ir.errors import ArgumentError

LIBC = ctypes.CDLL(None)
LIBC.malloc.restype = ctypes.c_void_p
LIBC.free.argtypes = [ctypes.c_void_p]


def test_big_endian_inputs_parameters_and_constants_are_read_by_value(backend):
    x = gc.placeholder((3,), "float32", name="x")
    w = gc.parameter(np.array([1, 2, 3], ">f4"), "w")
    c = gc.constant(np.array([0.5, 0.25, 0.125], ">f4"))
    f = gc.function([x], x * w + c, updates=[(w, w + 1)], backend=backend)
    big = np.array([1, 2, 4], ">f4")
    np.testing.assert_array_equal(f(big), [1.5, 4.25, 12.125])
    np.testing.assert_array_equal(f(x=big), [2.5, 6.25, 16.125])
    assert w.value.dtype == np.float32 and w.value.dtype.isnative
    w.value = np.array([10, 20, 30], ">f4")
    np.testing.assert_array_equal(f(np.array([1, 1, 1], ">i2")), [10.5, 20.25, 30.125])
    np.testing.assert_array_equal(w.value, [11, 21, 31])


def test_an_input_array_that_moved_since_the_last_call_is_read_where_it_is_now():
    """`resize(refcheck=False)` moves the data of the same array object: a cached address would read
    (and a parameter update would write) freed memory. The freed block is taken at once and filled
    with NaN bytes, so reading it shows."""
    x = gc.placeholder((3,), "float64", name="x")
    f = gc.function([x], x * 2.0, backend="llvm")
    xv = np.ones(3)
    np.testing.assert_array_equal(f(xv), [2, 2, 2])
    before = xv.ctypes.data
    xv.resize(1 << 20, refcheck=False)  # the data moves to a large block; the small one is freed ...
    taken = LIBC.malloc(3 * 8)  # ... and taken by this allocation (malloc reuses the block just freed)
    try:
        ctypes.memset(taken, 0xFF, 3 * 8)
        xv.resize(3, refcheck=False)
        xv[:] = 5.0
        assert xv.ctypes.data != before
        np.testing.assert_array_equal(f(xv), [10, 10, 10])
    finally:
        LIBC.free(taken)


def test_a_parameters_buffer_cannot_be_moved_or_reshaped_through_value(backend):
    """`.value` is a view of the buffer compiled code writes: resizing it is refused, and reshaping,
    retyping or freezing the view leaves the buffer as compiled."""
    w = gc.parameter(np.arange(4.0, dtype=np.float32), "w")
    f = gc.function([], gc.sum(w), updates=[(w, w + 1)], backend=backend)
    view = w.value
    with pytest.raises(ValueError, match="does not own its data"):
        view.resize(1 << 20, refcheck=False)
    view.shape = (2, 2)
    view.dtype = np.int32
    view.flags.writeable = False
    assert float(f()) == 6.0
    np.testing.assert_array_equal(w.value, [1, 2, 3, 4])


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_dropped_functions_free_their_native_code(monkeypatch):
    """200 functions compiled (each with a different constant, so a different machine) and dropped:
    their machines are freed and memory stays flat (it grew ~155 KB per function while the machine
    table kept every engine and each compile leaked its LLVM pass pipeline)."""
    monkeypatch.setenv("GRAPHC_CACHE", "0")  # every compile runs the optimization pipeline
    x = gc.placeholder((4,), "float32", name="x")

    def compile_and_run(i: int) -> weakref.ref:
        f = gc.function([x], gc.tanh(x * float(i) + 1.0), backend="llvm")
        np.testing.assert_allclose(f(np.zeros(4, np.float32)), np.tanh(1.0), rtol=1e-6)
        return weakref.ref(f.variant().executable.machine)
    for i in range(20):  # the first compiles set up LLVM and fill bounded caches
        compile_and_run(-1 - i)
    pygc.collect()
    before, machines = _rss_mb(), len(runtime._MACHINES)
    alive = [compile_and_run(i) for i in range(200)]
    pygc.collect()
    grown = _rss_mb() - before
    assert not any(ref() is not None for ref in alive)
    assert len(runtime._MACHINES) == machines
    assert grown < 12, f"RSS grew {grown:.1f} MB over 200 dropped functions"


def test_a_function_keeps_its_most_recently_used_variants_and_warns_once_when_shapes_churn():
    x = gc.placeholder((None,), "float32", name="x")
    f = gc.function([x], gc.sum(x * 2.0), backend="llvm", max_variants=3)
    f(np.ones(1, np.float32))
    f(np.ones(2, np.float32))
    dropped = weakref.ref(f.variant().executable)  # the last one called, (2,)
    for n in (3, 1):  # (1,) is used again: (2,) is now the least recently used
        f(np.ones(n, np.float32))
    with pytest.warns(RuntimeWarning, match="max_variants=3") as warned:
        for n in (4, 5, 6):
            assert f(np.ones(n, np.float32)) == 2.0 * n
            if n == 4:
                assert f.variants == [((3,),), ((1,),), ((4,),)]
    assert len(warned) == 1
    assert f.variants == [((4,),), ((5,),), ((6,),)]
    pygc.collect()
    assert dropped() is None  # a dropped variant frees its executable (and so its machine)
    assert f(np.ones(2, np.float32)) == 4.0  # ... and compiles again when its shape comes back
    assert f.variants == [((5,),), ((6,),), ((2,),)]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "32"])
def test_max_variants_must_be_a_positive_int(bad):
    x = gc.placeholder((None,), "float32", name="x")
    with pytest.raises(ArgumentError, match="max_variants must be a positive int"):
        gc.function([x], x, max_variants=bad)
