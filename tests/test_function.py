"""gc.function: argument validation, updates, free dims, parameter buffers."""
import numpy as np
import pytest

import graphc as gc


def test_updates_read_old_values_and_apply_after_outputs(backend):
    a = gc.parameter(np.array([1.0, 2.0]), "a")
    b = gc.parameter(np.array([10.0, 20.0]), "b")
    f = gc.function([], [a + b], updates=[(a, b), (b, a)], backend=backend)  # a swap: both read the old values
    (out,) = f()
    np.testing.assert_array_equal(out, [11, 22])
    np.testing.assert_array_equal(a.value, [10, 20])
    np.testing.assert_array_equal(b.value, [1, 2])


def test_swaps_read_old_values_and_host_writes_reach_the_next_call(backend):
    a, b = gc.parameter(np.arange(3.0), "a"), gc.parameter(np.arange(3.0) + 10, "b")
    x = gc.placeholder((3,), "float64")
    f = gc.function([x], a * 1.0, updates=[(a, b), (b, a + x)], backend=backend)
    np.testing.assert_array_equal(np.asarray(f(np.ones(3))), [0, 1, 2])
    np.testing.assert_array_equal(a.value, [10, 11, 12])
    np.testing.assert_array_equal(b.value, [1, 2, 3])
    a.value = np.array([5.0, 6.0, 7.0])  # a host write after a call: the next call must see it
    np.testing.assert_array_equal(np.asarray(f(np.ones(3))), [5, 6, 7])
    np.testing.assert_array_equal(a.value, [1, 2, 3])
    np.testing.assert_array_equal(b.value, [6, 7, 8])


def test_outputs_are_not_changed_by_the_update(backend):
    p = gc.parameter(np.zeros(3), "p")
    f = gc.function([], p, updates=[(p, p + 1)], backend=backend)
    first = f()
    second = f()
    np.testing.assert_array_equal(first, np.zeros(3))
    np.testing.assert_array_equal(second, np.ones(3))
    first[0] = 99  # the caller owns outputs: the parameter is not affected
    assert p.value[0] == 2


def test_parameter_value_is_shared_and_checked(backend):
    p = gc.parameter(np.ones((2, 2), np.float32), "p")
    f = gc.function([], gc.sum(p), backend=backend)
    assert f() == 4
    p.value = np.full((2, 2), 3.0)
    assert f() == 12
    p.value[0, 0] = 0  # the buffer itself is shared
    assert f() == 9
    with pytest.raises(gc.ShapeError, match=r"shape \(3,\)"):
        p.value = np.ones(3)
    with pytest.raises(AttributeError, match="only parameters"):
        _ = (p + 1).value


def test_free_dims_compile_one_variant_per_shape(rng, backend):
    x = gc.placeholder((None, 3), "float64", "x")
    w = gc.parameter(rng.standard_normal((3, 2)), "w")
    f = gc.function([x], gc.mean(x @ w, axis=0), backend=backend)
    for n in (1, 5, 5, 0, 7):
        xv = rng.standard_normal((n, 3))
        got = f(xv)
        np.testing.assert_allclose(got, (xv @ w.value).mean(0) if n else np.full(2, np.nan))
    assert sorted(f.variants) == [((0, 3),), ((1, 3),), ((5, 3),), ((7, 3),)]


def test_free_dims_must_agree_where_they_meet(backend):
    x = gc.placeholder((None,), "float64", "x")
    y = gc.placeholder((None,), "float64", "y")
    f = gc.function([x, y], x * y, backend=backend)
    np.testing.assert_array_equal(f(np.ones(3), np.full(3, 2.0)), [2, 2, 2])
    with pytest.raises(gc.InputError, match="do not fit together"):
        f(np.ones(3), np.ones(4))


def test_keyword_arguments_and_list_inputs(backend):
    x = gc.placeholder((2,), "float32", "x")
    y = gc.placeholder((2,), "float32", "y")
    f = gc.function([x, y], x - y, backend=backend)
    np.testing.assert_array_equal(f(y=[1, 2], x=[5, 5]), [4, 3])
    np.testing.assert_array_equal(f([5, 5], y=np.array([1, 1], np.float32)), [4, 4])


@pytest.mark.parametrize("args,match", [
    ((), "missing value"),
    ((np.ones(2), np.ones(2), np.ones(2)), "takes 2 input"),
    ((np.ones(3, np.float32), np.ones(2, np.float32)), r"input 'x' expects shape float32\[2\]"),
    ((np.ones(2, np.float64), np.ones(2, np.float32)), r"input 'x' expects float32\[2\], got an array of float64"),
    ((np.ones((2, 1), np.float32), np.ones(2, np.float32)), "expects shape"),
    ((["a", "b"], np.ones(2, np.float32)), "input 'x' expects float32"),
])
def test_call_validation_names_the_input(args, match):
    x = gc.placeholder((2,), "float32", "x")
    y = gc.placeholder((2,), "float32", "y")
    f = gc.function([x, y], x + y)
    with pytest.raises(gc.InputError, match=match):
        f(*args)


def test_downcast_only_when_allowed(backend):
    x = gc.placeholder((2,), "float32", "x")
    f = gc.function([x], x * 2, allow_input_downcast=True, backend=backend)
    out = f(np.array([1.5, 2.0]))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [3, 4])
    # ints fit floats safely without the flag
    np.testing.assert_array_equal(gc.function([x], x, backend=backend)(np.array([1, 2], np.int16)), [1, 2])


def test_function_declaration_errors():
    x = gc.placeholder((2,), "float32", "x")
    z = gc.placeholder((2,), "float32", "z")
    p = gc.parameter(np.zeros(2, np.float32), "p")
    with pytest.raises(gc.InputError, match="not among the inputs"):
        gc.function([x], x + z)
    with pytest.raises(gc.InputError, match="must be placeholders"):
        gc.function([p], p)
    with pytest.raises(gc.InputError, match="only parameters can be updated"):
        gc.function([x], x, updates=[(x, x)])
    with pytest.raises(gc.InputError, match="updated twice"):
        gc.function([x], x, updates=[(p, x), (p, x)])
    with pytest.raises(gc.ShapeError, match="keep the parameter's shape"):
        gc.function([x], x, updates=[(p, gc.sum(x))])
    with pytest.raises(gc.BackendError, match="unknown backend"):
        gc.function([x], x, backend="tpu")


def test_updates_accept_dicts_and_cast_float_values(backend):
    p = gc.parameter(np.zeros(2, np.float32), "p")
    x = gc.placeholder((2,), "float64", "x")
    f = gc.function([x], [], updates={p: p + x}, backend=backend)
    assert f(np.array([1.0, 2.0])) == []
    np.testing.assert_array_equal(p.value, [1, 2])
    assert p.value.dtype == np.float32


def test_single_output_structure_is_kept(backend):
    x = gc.placeholder((), "float64")
    assert isinstance(gc.function([x], (x, x * 2), backend=backend)(1.0), tuple)
    assert isinstance(gc.function([x], [x], backend=backend)(1.0), list)
    assert gc.function([x], x * 3, backend=backend)(2.0) == 6.0


def test_runtime_failure_points_at_the_users_line(backend):
    x = gc.placeholder((3,), "float32")
    i = gc.placeholder((2,), "int64")
    picked = gc.take(x, i)  # the line the error must show
    f = gc.function([x, i], picked, backend=backend)
    with pytest.raises(gc.GraphcError, match=r"test_function.py:\d+: .*picked = gc.take") as e:
        f(np.zeros(3, np.float32), np.array([0, 5]))
    assert "take: index 5 at position [1]" in str(e.value) and "out of range [-3, 3)" in str(e.value)
