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
    "placeholder": (lambda: gc.placeholder((2,), "float16"), "placeholder", "float16"),
    "placeholder_numpy_type": (lambda: gc.placeholder((2,), np.complex64, "z"), "placeholder 'z'", "complex64"),
    "constant_array": (lambda: gc.constant(np.ones(2, np.float16)), "constant", "float16"),
    "constant_dtype": (lambda: gc.constant([1, 2], dtype="uint8"), "constant", "uint8"),
    "parameter_array": (lambda: gc.parameter(np.ones(2, np.int8), "w"), "parameter 'w'", "int8"),
    "parameter_dtype": (lambda: gc.parameter([1.0], dtype=np.float16), "parameter", "float16"),
    "cast": (lambda: gc.cast(gc.placeholder((2,)), "float16"), "cast", "float16"),
    "astype": (lambda: gc.placeholder((2,)).astype(np.uint16), "cast", "uint16"),
    "operand_array": (lambda: gc.placeholder((2,)) + np.ones(2, np.float16), "operand", "float16"),
    "operand_array_first": (lambda: np.ones(2, np.int16) * gc.placeholder((2,)), "operand", "int16"),
    "random_uniform": (lambda: gc.random_uniform(gc.parameter(np.zeros(2, np.int64)), (3,), "float16"),
                       "random_uniform", "float16"),
    "nn_layer": (lambda: gc.nn.Dense(2, 3, dtype="float16"), "Dense", "float16"),
    "call_time_input": (lambda: _call_with(np.ones(2, np.float16)), "function input 'x'", "float16"),
}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_unsupported_dtypes_raise_one_dtype_error(name):
    make, where, dtype = ENTRY_POINTS[name]
    with pytest.raises(gc.DTypeError) as e:
        make()
    first, *rest = str(e.value).splitlines()
    assert re.match(rf"{HERE}:\d+: ", first), first  # the user's line (here: the lambda of the table)
    assert rest[0].strip() == (f"{where}: unsupported dtype {dtype}; graphc supports bool, int32, int64, "
                               "float32, float64")
    assert rest[1].strip().startswith("fix: use one of those: convert arrays with .astype(np.")
    assert isinstance(e.value, TypeError)  # code that caught the old TypeError still does


def test_the_fix_names_a_dtype_that_holds_the_values():
    with pytest.raises(gc.DTypeError, match=r"astype\(np\.int64\)"):
        gc.constant(np.ones(2, np.uint8))
    with pytest.raises(gc.DTypeError, match=r"astype\(np\.float32\)"):
        gc.constant(np.ones(2, np.float16))


def test_supported_dtypes_still_convert_where_they_did():
    """Safe conversions stay accepted: a float16 array into a float32 input, Python data to defaults."""
    x = gc.placeholder((2,), "float32")
    np.testing.assert_array_equal(gc.function([x], x * 2)(np.ones(2, np.float16)), [2, 2])
    assert gc.constant([1.5]).dtype == "float32" and gc.parameter([1, 2]).dtype == "int64"
    with pytest.raises(gc.InputError, match="expects float32"):  # a supported but unsafe dtype: as before
        gc.function([x], x)(np.ones(2, np.float64))
