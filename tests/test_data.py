"""gc.data: batching, splits, k-fold, one-hot, datasets (incl. IDX files written here), least squares."""
import gzip
import struct

import numpy as np
import pytest

import graphc as gc
from graphc import data


def test_minibatches_cover_everything_once_and_are_seeded():
    x, y = np.arange(10)[:, None], np.arange(10)
    batches = list(data.minibatches(x, y, batch_size=4, seed=1))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate([b[1] for b in batches])) == list(range(10))
    assert all(np.array_equal(bx[:, 0], by) for bx, by in batches)  # rows stay aligned
    again = list(data.minibatches(x, y, batch_size=4, seed=1))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(batches, again))
    assert [len(b[0]) for b in data.minibatches(x, batch_size=4, drop_last=True)] == [4, 4]
    assert np.array_equal(next(data.minibatches(y, batch_size=3, shuffle=False))[0], [0, 1, 2])
    with pytest.raises(gc.ShapeError, match=r"differ in length \[3, 4\]"):
        list(data.minibatches(np.zeros(3), np.zeros(4)))


def test_split_and_kfold_partition():
    x = np.arange(20)
    (tr,), (va,) = data.train_val_split(x, val_fraction=0.25, seed=0)
    assert len(tr) == 15 and len(va) == 5 and sorted(np.r_[tr, va]) == list(range(20))
    folds = list(data.kfold(20, k=3, seed=0))
    assert [len(v) for _, v in folds] == [7, 7, 6]
    assert sorted(np.concatenate([v for _, v in folds])) == list(range(20))
    assert all(len(np.intersect1d(t, v)) == 0 and len(t) + len(v) == 20 for t, v in folds)
    with pytest.raises(gc.GraphcError, match="leaves an empty side"):
        data.train_val_split(x, val_fraction=0.0)


def test_one_hot_and_standardizer():
    np.testing.assert_array_equal(data.one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(gc.GraphcError, match="outside \\[0, 2\\)"):
        data.one_hot([0, 2], 2)
    x = np.array([[1.0, 5.0], [3.0, 5.0]])
    s = data.Standardizer(x)
    np.testing.assert_allclose(s(x), [[-1, 0], [1, 0]])
    np.testing.assert_allclose(s.inverse(s(x)), x)


def test_sine_dataset_matches_the_lecture_formula():
    x, y = data.sine(2000, seed=3)
    assert x.shape == (2000, 2) and y.shape == (2000, 1) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 10
    residual = y[:, 0] - (np.sin(x[:, 0]) + np.cos(x[:, 1]))
    assert abs(residual.std() - 0.1) < 0.01 and abs(residual.mean()) < 0.01
    assert np.array_equal(data.sine(5, seed=3)[0], data.sine(5, seed=3)[0])


def test_digits():
    pytest.importorskip("sklearn", reason="the digits ship with scikit-learn")
    x, y = data.digits()
    assert x.shape == (1797, 64) and x.max() == 1.0 and set(y) == set(range(10))


def _write_idx(path, array, code=0x08):
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(array.dtype.newbyteorder(">")).tobytes())


def test_idx_and_mnist_loader(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, 5).astype(np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    floats = rng.standard_normal((2, 3)).astype(">f4")
    _write_idx(tmp_path / "f.idx", floats, code=0x0D)
    np.testing.assert_array_equal(data.load_idx(tmp_path / "f.idx"), floats)
    x, y = data.mnist(tmp_path, "train")
    assert x.shape == (5, 784) and x.dtype == np.float32
    np.testing.assert_allclose(x, images.reshape(5, -1) / 255.0)
    np.testing.assert_array_equal(y, labels)
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x09abc")
    with pytest.raises(gc.GraphcError, match="truncated"):
        data.load_idx(tmp_path / "bad")
    with pytest.raises(gc.GraphcError, match="not found"):
        data.mnist(tmp_path, "test")


def test_linear_regression_closed_form():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 3.0 + 0.01 * rng.standard_normal(50)
    w, b = data.linear_regression(x, y)
    ref = np.linalg.lstsq(np.c_[x, np.ones(50)], y, rcond=None)[0]
    np.testing.assert_allclose(np.r_[w, b], ref, rtol=1e-10)
    w2, b2 = data.linear_regression(x, np.c_[y, 2 * y])
    assert w2.shape == (3, 2) and b2.shape == (2,) and np.allclose(w2[:, 1], 2 * w)
