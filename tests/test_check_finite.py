"""check_finite=True: the first op that makes a NaN or an infinity is named with its line, and the
parameters are left as they were before the call."""
import inspect
from types import SimpleNamespace

import numpy as np
import pytest

import graphc as gc
from graphc import finite


def _line(fn, marker: str) -> int:
    """The line number of `marker` inside fn's source (so the tests do not hard-code lines)."""
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, text in enumerate(lines) if marker in text)


def _log_step(backend):
    x = gc.placeholder((3,), name="x")
    w = gc.parameter(np.ones(3, np.float32), name="w")
    loss = gc.sum(gc.log(x * w))  # the log
    step = gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w))], backend=backend, check_finite=True)
    return step, w


def test_log_of_zero_names_the_log_and_its_line(backend):
    step, w = _log_step(backend)
    assert step(np.array([1, 1, 2], np.float32)) == pytest.approx(np.log(2.0), rel=1e-6)  # from w = 1; then w = 0.9
    before = w.value.copy()
    with pytest.raises(gc.NonFiniteError) as e:
        step(np.array([0, 1, 2], np.float32))
    message = str(e.value)
    line = _line(_log_step, "# the log")
    assert message.startswith(f"{__file__}:{line}: loss = gc.sum(gc.log(x * w))")
    assert e.value.loc.lineno == line
    assert "log made 1 -inf of 3 value(s) (float32[3]) from finite operands (multiply float32[3] in [0, 1.8])" \
        in message
    assert "which makes output #0 non-finite" in message
    assert "divide" in message  # log's gradient made the update of w NaN (0/0), from finite operands too
    assert "gc.log_softmax" in e.value.fix
    np.testing.assert_array_equal(w.value, before)  # the NaN the step wrote into w was taken back
    assert isinstance(e.value, FloatingPointError)


def test_a_diverging_update_leaves_the_parameters_and_optimizer_state_as_they_were(backend):
    x = gc.placeholder((None, 2), name="x")
    w = gc.parameter(np.ones((2, 1), np.float32), name="w")
    loss = gc.mean(gc.square(x @ w))
    opt = gc.optim.SGD([w], lr=1e4, momentum=0.9)
    step = gc.function([x], loss, updates=opt.updates(loss), backend=backend, check_finite=True)
    data = np.full((4, 2), 1e17, np.float32)  # the loss and gradient (4e34) are finite; lr * gradient is not
    state = [w.value.copy()] + [s.value.copy() for s in opt.state_parameters()]
    with pytest.raises(gc.NonFiniteError, match="the update of parameter 'w'") as e:
        step(data)
    assert "lower the learning rate" in e.value.fix
    for before, now in zip(state, [w.value] + [s.value for s in opt.state_parameters()]):
        np.testing.assert_array_equal(now, before)
    assert step(data / 1e17) == pytest.approx(4.0)  # the step works again from the same state


def test_a_nan_masked_by_where_is_not_the_culprit(backend):
    x = gc.placeholder((3,), name="x")
    safe = gc.where(x > 0, gc.log(x), 0.0)  # log(0) = -inf here, but where drops it
    out = safe + 1.0 / x  # the culprit
    f = gc.function([x], [safe, out], backend=backend, check_finite=True)
    with pytest.raises(gc.NonFiniteError, match="divide made 1 inf of 3") as e:
        f(np.array([0.0, 1.0, 2.0], np.float32))
    assert e.value.loc.lineno == _line(test_a_nan_masked_by_where_is_not_the_culprit, "# the culprit")
    assert "output #1" in str(e.value) and "log" not in e.value.what


def test_non_finite_inputs_and_parameters_are_named(backend):
    x = gc.placeholder((2,), name="x")
    w = gc.parameter(np.array([1.0, np.nan], np.float32), name="w")
    f = gc.function([x], gc.sum(x * 2.0), backend=backend, check_finite=True)
    with pytest.raises(gc.NonFiniteError, match="input 'x' holds 1 NaN of 2 value"):
        f(np.array([np.nan, 1.0], np.float32))
    g = gc.function([x], gc.sum(x * w), backend=backend, check_finite=True)
    with pytest.raises(gc.NonFiniteError, match="parameter 'w' holds 1 NaN of 2 value.*before this call"):
        g(np.ones(2, np.float32))


def test_unchecked_by_default_and_switched_on_by_the_environment(monkeypatch):
    x = gc.placeholder((1,), name="x")
    assert gc.function([x], gc.log(x))(np.zeros(1, np.float32))[0] == -np.inf  # IEEE, not an error
    monkeypatch.setenv("GRAPHC_CHECK_FINITE", "1")
    with pytest.raises(gc.NonFiniteError, match="log made 1 -inf"):
        gc.function([x], gc.log(x))(np.zeros(1, np.float32))
    assert gc.function([x], gc.log(x), check_finite=False)(np.zeros(1, np.float32))[0] == -np.inf
    with pytest.raises(gc.ArgumentError, match="check_finite must be True or False, got 'yes'"):
        gc.function([x], gc.log(x), check_finite="yes")


def test_a_backend_that_differs_from_the_reference_is_said_so():
    x = gc.placeholder((2,), name="x")
    y = x + 1.0  # the output
    variant = SimpleNamespace(graph=gc.Graph((x,), (y,)), executable=lambda arrays: [np.array([np.nan, 1.0])])
    with pytest.raises(gc.NonFiniteError, match="NumPy reference of the graph as declared stays finite") as e:
        finite.checked_call(variant, [np.zeros(2, np.float32)], "fake")
    assert "the fake step made output #0 non-finite" in str(e.value)
    assert e.value.loc.lineno == _line(test_a_backend_that_differs_from_the_reference_is_said_so, "# the output")
