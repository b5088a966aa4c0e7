"""Train/eval modes that cannot lie (graphc issue 22): a compiled function runs the mode its layers were
built in or refuses the call; fit/predict/evaluate pick the right mode and give the old one back; a train
step that leaves BatchNorm's running statistics (or a dropout key) alone is warned about when compiled.
"""
import warnings

import numpy as np
import pytest

import graphc as gc
from graphc import nn
from conftest import tol

X = np.random.default_rng(0).standard_normal((20, 3)) * 2.0 + 1.0
Y = np.random.default_rng(1).standard_normal((20, 2))


def _model() -> nn.Sequential:
    """Dense -> BatchNorm -> Dropout -> Dense in float64, with BatchNorm's statistics and affine set."""
    model = nn.Sequential(nn.Dense(3, 4, rng=0, dtype="float64"), nn.BatchNorm(4, dtype="float64"),
                          nn.Dropout(0.5, seed=3), nn.Dense(4, 2, rng=1, dtype="float64"))
    bn = model[1]
    r = np.random.default_rng(2)
    bn.weight.value, bn.bias.value = r.uniform(0.5, 2.0, 4), r.standard_normal(4)
    bn.running_mean.value, bn.running_var.value = r.standard_normal(4), r.uniform(0.5, 2.0, 4)
    return model


def _eval_forward(model: nn.Sequential, x: np.ndarray) -> np.ndarray:
    """NumPy's eval-mode forward: running statistics, dropout the identity."""
    d0, bn, _, d1 = model
    h = x @ d0.weight.value + d0.bias.value
    h = (h - bn.running_mean.value) / np.sqrt(bn.running_var.value + bn.eps) * bn.weight.value + bn.bias.value
    return h @ d1.weight.value + d1.bias.value


def _modes(model: nn.Module) -> list[bool]:
    return [m.training for _, m in model.named_modules()]


def test_train_mode_function_is_refused_after_eval_and_runs_again_after_train(backend):
    model = _model()
    x = gc.placeholder((None, 3), "float64", name="x")
    fn = gc.function([x], model(x), updates=model.state_updates(), backend=backend)
    train_out = fn(X)
    key, running_mean = model[2].key.value.copy(), model[1].running_mean.value.copy()
    model.eval()
    with pytest.raises(gc.ModeError, match=r"(?s)BatchNorm\(4, .*\) at '1' of a Sequential is in eval mode, compiled "
                                           r"in train mode; Dropout\(p=0.5\) at '2' of a Sequential is in eval mode.*"
                                           r"fix: build the graph and compile it again after model.eval\(\)"):
        fn(X)
    # refused before running: no update happened
    np.testing.assert_array_equal(model[2].key.value, key)
    np.testing.assert_array_equal(model[1].running_mean.value, running_mean)
    model.train()
    again = fn(X)  # train mode again: batch statistics and a new dropout mask (the key moved on)
    assert model[2].key.value[1] == key[1] + 1
    assert not np.array_equal(again, train_out)
    assert not np.allclose(train_out, _eval_forward(model, X))  # train-mode values, not the eval ones


def test_eval_mode_function_is_refused_in_train_mode_and_gives_eval_values(backend):
    model = _model().eval()
    x = gc.placeholder((None, 3), "float64", name="x")
    fn = gc.function([x], model(x), backend=backend)
    np.testing.assert_allclose(fn(X), _eval_forward(model, X), **tol(backend))
    model[2].train()  # one layer is enough to refuse
    with pytest.raises(gc.ModeError, match=r"Dropout\(p=0.5\) at '2' of a Sequential is in train mode, compiled in "
                                           r"eval mode") as e:
        fn(X)
    assert isinstance(e.value, gc.InputError) and "BatchNorm" not in str(e.value)


def test_nested_layer_is_named_by_its_path():
    inner = nn.MLP([3, 4, 2], dropout=0.25, rng=0)
    model = nn.Sequential(inner, nn.Dense(2, 1, rng=0))
    x = gc.placeholder((2, 3), name="x")
    fn = gc.function([x], model(x), updates=model.state_updates())
    model.eval()
    with pytest.raises(gc.ModeError, match=r"Dropout\(p=0.25\) at '0.1' of a Sequential is in eval mode"):
        fn(np.ones((2, 3), "float32"))


def test_graphs_sharing_subexpressions_with_a_layer_do_not_inherit_its_mode(backend):
    """BatchNorm's batch mean is a hash-consed node any graph may build; only the layer's own nodes count."""
    bn = nn.BatchNorm(3, dtype="float64")
    x = gc.placeholder((None, 3), "float64", name="x")
    bn(x)  # train mode
    column_means = gc.function([x], gc.mean(x, 0), backend=backend)  # the same node as the batch mean
    bn.eval()
    np.testing.assert_allclose(column_means(X), X.mean(0), **tol(backend))


def test_dropout_in_eval_mode_is_the_identity(backend):
    drop = nn.Dropout(0.5, seed=0).eval()
    x = gc.placeholder((None, 5), "float64", name="x")
    y = drop(x)
    fn = gc.function([x], [y, gc.grad(gc.sum(y * y), x)], backend=backend)
    out, grad = fn(X[:, :1] * np.arange(5.0))
    np.testing.assert_array_equal(out, X[:, :1] * np.arange(5.0))
    np.testing.assert_allclose(grad, 2 * out, **tol(backend))
    assert [n.op.name for n in fn.optimized_graph((20, 5)).nodes if n.op.name == "divide"] == []


def test_a_graph_built_in_both_modes_runs_both_whatever_the_flag(backend):
    drop = nn.Dropout(0.5, seed=4)
    x = gc.placeholder((8, 6), "float64", name="x")
    train_y = drop(x)
    drop.eval()
    fn = gc.function([x], [train_y, drop(x)], backend=backend)
    ones = np.ones((8, 6))
    for mode in (False, True):
        drop.train(mode)
        train_out, eval_out = fn(ones)
        np.testing.assert_array_equal(eval_out, ones)
        assert set(np.unique(train_out)) == {0.0, 2.0}


def test_fit_updates_batchnorm_running_statistics_as_numpy(backend):
    """Running mean/var after fit's steps equal momentum 0.1 over the same batches, with the unbiased
    variance (n/(n-1)) for running_var, as PyTorch's BatchNorm; the model was in eval mode before fit."""
    model = nn.Sequential(nn.BatchNorm(3, dtype="float64"), nn.Dense(3, 2, rng=0, dtype="float64")).eval()
    gc.train.fit(model, gc.losses.mse, gc.optim.SGD(model, lr=0.01), X, Y, epochs=2, batch_size=8, shuffle=False,
                 backend=backend)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(2):
        for start in (0, 8, 16):  # batches of 8, 8 and 4 rows
            batch = X[start:start + 8]
            mean = 0.9 * mean + 0.1 * batch.mean(0)
            var = 0.9 * var + 0.1 * batch.var(0, ddof=1)
    np.testing.assert_allclose(model[0].running_mean.value, mean, **tol(backend))
    np.testing.assert_allclose(model[0].running_var.value, var, **tol(backend))
    assert _modes(model) == [False, False, False]  # given back as it was


def test_fit_steps_in_train_mode_validates_in_eval_mode_and_restores_modes(backend):
    model = _model()
    model[1].eval()  # a mix of modes, given back exactly
    history = gc.train.fit(model, gc.losses.mse, gc.optim.SGD(model, lr=0.01), X, Y, epochs=2, batch_size=10,
                           shuffle=False, validation_data=(X[:6], Y[:6]), backend=backend)
    assert _modes(model) == [True, True, False, True, True]
    assert model[2].key.value.tolist() == [3, 4]  # four train steps, each a new dropout mask
    val = np.mean((_eval_forward(model, X[:6]) - Y[:6]) ** 2)  # the last epoch's weights, eval mode
    np.testing.assert_allclose(history["val_loss"][-1], val, **tol(backend))


def test_predict_and_evaluate_run_eval_mode_from_train_mode_and_restore_it():
    model = _model()
    model[3].eval()
    expected = _eval_forward(model, X)
    np.testing.assert_allclose(gc.train.predict(model, X), expected, rtol=1e-10, atol=1e-12)
    assert _modes(model) == [True, True, True, True, False]
    logs = gc.train.evaluate(model, gc.losses.mse, X, Y)
    np.testing.assert_allclose(logs["loss"], np.mean((expected - Y) ** 2), rtol=1e-10)
    assert _modes(model) == [True, True, True, True, False]


def _step(model: nn.Module, state: bool, backend: str) -> gc.Function:
    x, y = gc.placeholder((None, 3), "float64", name="x"), gc.placeholder((None, 2), "float64", name="y")
    loss = gc.losses.mse(model(x), y)
    updates = gc.optim.SGD(model, lr=0.01).updates(loss) + (model.state_updates() if state else [])
    return gc.function([x, y], loss, updates=updates, backend=backend)


def test_a_train_step_without_state_updates_is_warned_about(backend):
    model = nn.Sequential(nn.Dense(3, 4, rng=0, dtype="float64"), nn.BatchNorm(4, dtype="float64"),
                          nn.Dense(4, 2, rng=0, dtype="float64"))
    with pytest.warns(RuntimeWarning, match=r"BatchNorm\(4, .*\) at '1' of a Sequential is in train mode in this "
                                            r"step, which updates parameters but not its BatchNorm.running_mean, "
                                            r"BatchNorm.running_var.*updates=opt.updates\(loss\) \+ "
                                            r"model.state_updates\(\)") as caught:
        step = _step(model, False, backend)
    assert len(caught) == 1 and caught[0].filename == __file__  # one warning, at the user's line
    step(X, Y)
    np.testing.assert_array_equal(model[1].running_mean.value, np.zeros(4))  # what the warning is about


def test_no_warning_when_the_state_is_updated_or_nothing_is(backend):
    model = _model()
    x = gc.placeholder((None, 3), "float64", name="x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _step(model, True, backend)  # the full train step
        gc.function([x], model(x), backend=backend)  # a train-mode forward to inspect: updates nothing
        model.eval()
        _step(model, False, backend)  # fine-tuning in eval mode: no batch statistics, no dropout key
