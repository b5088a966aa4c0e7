"""model.summary: parameter counts against closed forms, output shapes against a real forward pass."""
import numpy as np
import pytest

import graphc as gc
from graphc import nn


def _cnn(dtype="float32"):
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, activation="relu", rng=0, dtype=dtype),
                      nn.BatchNorm(4, dtype=dtype), nn.MaxPool2d(2)),
        nn.Flatten(), nn.Dropout(0.25), nn.Dense(4 * 4 * 4, 10, rng=0, dtype=dtype))


def _row(s, path):
    (row,) = [r for r in s.rows if r.path == path]
    return row


def test_counts_match_closed_forms():
    s = _cnn().summary((None, 1, 8, 8))
    assert [r.path for r in s.rows] == ["0", "0.0", "0.1", "0.2", "1", "2", "3"]
    assert [r.depth for r in s.rows] == [0, 1, 1, 1, 0, 0, 0]
    assert _row(s, "0.0").params == 4 * 1 * 3 * 3 + 4  # conv: out * in * k * k + out
    assert _row(s, "0.1").params == 4 * 4  # BatchNorm: weight, bias, running mean and variance
    assert _row(s, "3").params == 64 * 10 + 10  # Linear: in * out + out
    assert _row(s, "2").params == 0  # dropout's RNG key is a counter, not a parameter
    assert s.trainable_params == 40 + 8 + 650
    assert s.non_trainable_params == 8
    assert s.total_params == sum(r.params for r in s.rows)


class _Tagger(nn.Module):
    """A recurrent layer's outputs through a Dense head (the layer returns torch's (output, state))."""

    def __init__(self, cls, n_in, hidden, **options):
        super().__init__()
        self.rnn = cls(n_in, hidden, batch_first=True, **options)
        self.head = nn.Dense(hidden * (2 if options.get("bidirectional") else 1), 2)

    def forward(self, x):
        return self.head(self.rnn(x)[0])


@pytest.mark.parametrize("cls, gates", [(nn.RNN, 1), (nn.GRU, 3), (nn.LSTM, 4)])
def test_recurrent_counts_include_the_cell_run_inside_the_loop(cls, gates):
    n_in, hidden = 3, 5
    s = _Tagger(cls, n_in, hidden).summary((None, 7, n_in))
    assert _row(s, "rnn").params == gates * hidden * (n_in + hidden) + 2 * gates * hidden  # two biases, as torch
    assert _row(s, "rnn").output_shapes[0] == (None, 7, hidden)
    assert [r.path for r in s.rows] == ["rnn", "head"]  # the cells run inside the loop have no rows


def test_stacked_bidirectional_counts_are_torchs():
    n_in, hidden = 3, 5
    s = _Tagger(nn.LSTM, n_in, hidden, num_layers=2, bidirectional=True).summary((None, 7, n_in))
    per_direction = [4 * hidden * (size + hidden) + 2 * 4 * hidden for size in (n_in, 2 * hidden)]
    assert _row(s, "rnn").params == 2 * sum(per_direction)  # torch.nn.LSTM(3, 5, 2, bidirectional=True): 1,080
    assert _row(s, "rnn").output_shapes[0] == (None, 7, 2 * hidden)


def test_totals_are_the_models_parameters_and_their_bytes():
    for dtype, width in (("float32", 4), ("float64", 8)):
        model = _cnn(dtype)
        s = model.summary((None, 1, 8, 8), dtype=dtype)
        assert s.trainable_params == sum(p.size for p in model.parameters())
        assert s.trainable_bytes == width * s.trainable_params
        assert s.non_trainable_bytes == width * s.non_trainable_params
        assert s.total_bytes == s.trainable_bytes + s.non_trainable_bytes


def test_output_shapes_are_those_of_a_forward_pass():
    model = _cnn()
    x = gc.placeholder((None, 1, 8, 8), name="x")
    with nn.record_calls() as calls:
        model(x)
    paths = {id(m): p[:-1] for p, m in model.named_modules()}
    f = gc.function([x], [c.outputs[0] for c in calls])
    batch = 3
    shapes = {paths[id(c.module)]: v.shape
              for c, v in zip(calls, f(np.zeros((batch, 1, 8, 8), np.float32)))}
    s = model.summary((None, 1, 8, 8))
    for r in s.rows:
        (shape,) = r.output_shapes
        assert shape[0] is None
        assert (batch,) + shape[1:] == shapes[r.path]


def test_table_text():
    model = nn.Sequential(nn.Dense(4, 8, "relu", rng=0), nn.BatchNorm(8), nn.Dense(8, 3, rng=0))
    assert str(model.summary((None, 4))) == """\
Model: Sequential
====================================
Layer (type)   Output shape  Param #
====================================
0 (Dense)      (None, 8)          40
1 (BatchNorm)  (None, 8)          32
2 (Dense)      (None, 3)          27
====================================
Total params: 99 (396 B)
Trainable params: 83 (332 B)
Non-trainable params: 16 (64 B)"""


def test_a_single_layer_is_its_own_row():
    s = nn.Dense(784, 10).summary((32, 784))
    assert [(r.path, r.type, r.output_shapes, r.params) for r in s.rows] == [("", "Dense", ((32, 10),), 7850)]
    assert "(Dense)       (32, 10)" in str(s) and "Total params: 7,850 (30.66 KB)" in str(s)


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4, rng=0)
        self.dense = nn.Dense(6, 4, rng=0)

    def forward(self, ids, features):
        return self.embed(ids) + self.dense(features)[:, None, :]


def test_several_inputs_with_their_dtypes():
    s = TwoInputs().summary([(None, 5), (None, 6)], dtype=["int64", "float32"])
    assert [(r.path, r.output_shapes, r.params) for r in s.rows] == [
        ("embed", ((None, 5, 4),), 40), ("dense", ((None, 4),), 28)]


def test_shared_module_is_counted_once():
    dense = nn.Dense(4, 4, rng=0)

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = dense

        def forward(self, x):
            return self.dense(self.dense(x))
    s = Twice().summary((None, 4))
    assert [(r.params, r.shared) for r in s.rows] == [(20, False), (20, True)]
    assert s.total_params == 20 and "(shared)" in str(s)


def test_summary_leaves_train_mode_state_alone():
    """A train-mode BatchNorm keeps the batch statistics of the graph being trained, not the summary's."""
    model = nn.Sequential(nn.Dense(3, 4, rng=0), nn.BatchNorm(4))
    x = gc.placeholder((None, 3), name="x")
    loss = gc.mean(model(x))
    model.summary((None, 3))
    step = gc.function([x], loss, updates=model.state_updates())  # would name the summary's placeholder
    step(np.ones((5, 3), np.float32))
    assert not np.allclose(model[1].running_mean.value, 0.0)


def test_bad_input_shapes_are_named():
    with pytest.raises(gc.InputError, match="input_shape must be a shape"):
        nn.Dense(3, 4).summary(784)
    with pytest.raises(gc.InputError, match="2 input shapes but 3 dtypes"):
        TwoInputs().summary([(None, 5), (None, 6)], dtype=["int64", "float32", "float32"])
    with pytest.raises(gc.ShapeError, match="has 5 features, the layer takes 3"):
        nn.Dense(3, 4).summary((None, 5))
