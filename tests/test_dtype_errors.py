"""Every entry point that takes a dtype or an array refuses an unsupported dtype with the same DTypeError.

It leads with the user's line, names the entry point and the dtype, lists the supported dtypes and
says how to fix it (before: DTypeError, TypeError or KeyError depending on the entry point).
"""
import re

import numpy as np
import pytest

import graphc as gc

HERE = re.escape(__file__)


def _call_with(array: np.ndarray) -> None:
    x = gc.placeholder((2,), "int32", "x")
    gc.function([x], x + 1)(array)


ENTRY_POINTS = {
    "placeholder": (lambda: gc.placeholder((2,), "complex64"), "placeholder", "complex64"),
    "placeholder_numpy_type": (lambda: gc.placeholder((2,), np.complex64, "z"), "placeholder 'z'", "complex64"),
    "constant_array": (lambda: gc.constant(np.ones(2, np.complex64)), "constant", "complex64"),
    "constant_dtype": (lambda: gc.constant([1, 2], dtype="complex128"), "constant", "complex128"),
    "parameter_array": (lambda: gc.parameter(np.ones(2, np.complex128), "w"), "parameter 'w'", "complex128"),
    "parameter_dtype": (lambda: gc.parameter([1.0], dtype=np.complex64), "parameter", "complex64"),
    "cast": (lambda: gc.cast(gc.placeholder((2,)), "complex64"), "cast", "complex64"),
    "astype": (lambda: gc.placeholder((2,)).astype(np.complex128), "cast", "complex128"),
    "operand_array": (lambda: gc.placeholder((2,)) + np.ones(2, np.complex64), "operand", "complex64"),
    "operand_array_first": (lambda: np.ones(2, np.complex64) * gc.placeholder((2,)), "operand", "complex64"),
    "random_uniform": (lambda: gc.random_uniform(gc.parameter(np.zeros(2, np.int64)), (3,), "complex64"),
                       "random_uniform", "complex64"),
    "nn_layer": (lambda: gc.nn.Dense(2, 3, dtype="complex64"), "Dense", "complex64"),
    "call_time_input": (lambda: _call_with(np.ones(2, np.complex64)), "function input 'x'", "complex64"),
}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_unsupported_dtypes_raise_one_dtype_error(name):
    make, where, dtype = ENTRY_POINTS[name]
    with pytest.raises(gc.DTypeError) as e:
        make()
    first, *rest = str(e.value).splitlines()
    assert re.match(rf"{HERE}:\d+: ", first), first  # the user's line (here: the lambda of the table)
    assert rest[0].strip() == (f"{where}: unsupported dtype {dtype}; graphc supports {', '.join(gc.DTYPES)}")
    assert rest[1].strip().startswith("fix: use one of those: convert arrays with .astype(np.")
    assert isinstance(e.value, TypeError)  # code that caught the old TypeError still does


def test_the_fix_names_a_dtype_that_holds_the_values():
    with pytest.raises(gc.DTypeError, match=r"astype\(np\.float64\)"):
        gc.constant(np.ones(2, np.complex64))
    with pytest.raises(gc.DTypeError, match=r"astype\(np\.float32\)"):
        gc.constant(np.array(["a"]))


def test_supported_dtypes_still_convert_where_they_did():
    """Safe conversions stay accepted: a float16 array into a float32 input, Python data to defaults."""
    x = gc.placeholder((2,), "float32")
    np.testing.assert_array_equal(gc.function([x], x * 2)(np.ones(2, np.float16)), [2, 2])
    assert gc.constant([1.5]).dtype == "float32" and gc.parameter([1, 2]).dtype == "int64"
    with pytest.raises(gc.InputError, match="expects float32"):  # a supported but unsafe dtype: as before
        gc.function([x], x)(np.ones(2, np.float64))
