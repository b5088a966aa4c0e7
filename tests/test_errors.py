"""Declaration errors lead with the user's file:line, then the op with shapes and dtypes."""
import re

import numpy as np
import pytest

import graphc as gc

HERE = re.escape(__file__)


def test_shape_mismatch_names_line_op_and_shapes():
    a = gc.placeholder((3, 4), "float32")
    b = gc.placeholder((5,), "float32")
    with pytest.raises(gc.ShapeError) as e:
        a + b  # noqa: B018 - the line under test
    msg = str(e.value)
    assert re.match(rf"{HERE}:\d+: a \+ b", msg), msg
    assert "add" in msg and "float32[3, 4]" in msg and "float32[1, 5]" in msg and "fix:" in msg


def test_matmul_mismatch_suggests_a_fix():
    x = gc.placeholder((None, 3), "float32", "x")
    w = gc.parameter(np.zeros((4, 2), np.float32), "w")
    with pytest.raises(gc.ShapeError, match=r"inner dimensions differ: float32\[\?, 3\] and float32\[4, 2\]"):
        x @ w  # noqa: B018


def test_dtype_errors():
    b = gc.placeholder((2,), "bool")
    f = gc.placeholder((2,), "float32")
    with pytest.raises(gc.DTypeError, match="where: the condition must be bool"):
        gc.where(f, f, f)
    with pytest.raises(gc.DTypeError, match="logical_and: needs bool operands"):
        gc.logical_and(b, f)
    with pytest.raises(gc.DTypeError, match="take: indices must be"):
        gc.take(f, f)
    with pytest.raises(gc.DTypeError, match="unsupported dtype"):
        gc.placeholder((2,), "complex64")


@pytest.mark.parametrize("build,match", [
    (lambda x: x.reshape(5, 5), "cannot reshape"),
    (lambda x: gc.sum(x, axis=3), "axis 3 is out of range"),
    (lambda x: x[0, 0, 0], "3 indices for a tensor of rank 2"),
    (lambda x: x[7], "out of bounds"),
    (lambda x: gc.transpose(x, (0, 0)), "not a permutation"),
    (lambda x: gc.concatenate([x, x[:, :, None]]), "differ outside axis"),
    (lambda x: gc.squeeze(x, 0), "do not have size 1"),
    (lambda x: gc.broadcast_to(x, (4, 2)), "cannot broadcast"),
    (lambda x: x[x > 0], "boolean masks"),
])
def test_bad_declarations(build, match):
    x = gc.placeholder((2, 3), "float32")
    with pytest.raises(gc.GraphcError, match=match):
        build(x)


def test_placeholder_shape_validation():
    with pytest.raises(gc.ShapeError, match="bad dimension"):
        gc.placeholder((2, -1))
    with pytest.raises(gc.ShapeError, match="bad dimension"):
        gc.placeholder((2.5,))


def test_symbolic_tensors_have_no_truth_value():
    x = gc.placeholder((), "float32")
    with pytest.raises(TypeError, match="gc.where"):
        if x > 0:
            pass


def test_tensors_are_immutable_and_hash_consed():
    x = gc.placeholder((3,), "float32")
    assert (x * 2 + 1) is (x * 2 + 1)
    with pytest.raises(AttributeError, match="immutable"):
        x.shape = (4,)
