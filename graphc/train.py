"""`gc.train.fit`: the minibatch loop, with validation, metrics, early stopping and callbacks.

fit compiles two functions once: a train step (train mode: dropout on, optimizer,
RNG-counter and BatchNorm running-statistics updates inside the step) and an
evaluation (eval mode, no updates); each runs with the model in its mode, and fit,
predict and evaluate give every layer back the mode it had. Everything per epoch
is recorded in a `History`. Both are checked for
NaN and infinity by default (`check_finite=True`): a step that makes one leaves the
weights as they were before it, and fit stops with a `NonFiniteError` naming the op.
"""
from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence

import numpy as np

from . import checkpoint as checkpoints
from . import data, finite
from .function import function
from .ir import ArgumentError, GraphcError, NonFiniteError, Tensor, placeholder
from .metrics import to_labels
from .nn.module import Module
from .nn.serialization import atomic_path
from .optim.base import Optimizer

LossFn = Callable[[Tensor, Tensor], Tensor]
Metric = Callable[[np.ndarray, np.ndarray], float]


@dataclass
class History:
    """Per-epoch values by name ('loss', 'val_loss', 'accuracy', 'val_accuracy', ...)."""

    values: dict[str, list[float]] = field(default_factory=dict)
    stopped_epoch: int | None = None
    best_epoch: int | None = None

    def add(self, logs: Mapping[str, float]) -> None:
        """Append one epoch's values, by metric name."""
        for k, v in logs.items():
            self.values.setdefault(k, []).append(float(v))

    def __getitem__(self, key: str) -> list[float]:
        return self.values[key]

    def __contains__(self, key: str) -> bool:
        return key in self.values

    @property
    def epochs(self) -> int:
        """The number of epochs recorded."""
        return len(next(iter(self.values.values()), []))


class Callback:
    """Hooks into fit; `on_epoch_end` returning True stops training."""

    def on_train_begin(self, model: Module) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float], model: Module) -> bool | None:
        """Called after each epoch with its logs; return True to stop training."""
        return None

    def on_train_end(self, model: Module, history: History) -> None:
        """Called once after the last epoch."""

    def state_dict(self) -> dict[str, np.ndarray]:
        """What a checkpoint keeps of this callback, so that a resumed fit acts as if never stopped."""
        return {}

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Take back a `state_dict()` (fit calls it after `on_train_begin` when it resumes)."""


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs; optionally
    put back the weights of the best epoch (the ones that generalized best)."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "min", restore_best: bool = True):
        if mode not in ("min", "max"):
            raise GraphcError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.sign = 1.0 if mode == "min" else -1.0
        self.restore_best = restore_best

    def on_train_begin(self, model: Module) -> None:
        self.best, self.best_epoch, self.best_state, self.wait = np.inf, None, None, 0

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float], model: Module) -> bool:
        if self.monitor not in logs:
            raise GraphcError(f"EarlyStopping: no {self.monitor!r} among the logged values {sorted(logs)}",
                              fix="pass validation data for 'val_*' monitors, or monitor 'loss'")
        if not math.isfinite(logs[self.monitor]):
            raise NonFiniteError(f"EarlyStopping: the monitored {self.monitor!r} is {logs[self.monitor]} "
                                 f"in epoch {epoch + 1}, so no epoch can be called the best",
                                 fix="make the metric finite (a NaN metric is usually an empty or degenerate split)")
        score = self.sign * logs[self.monitor]
        if score < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = score, epoch, 0
            if self.restore_best:
                self.best_state = model.state_dict()
            return False
        self.wait += 1
        return self.wait >= self.patience

    def state_dict(self) -> dict[str, np.ndarray]:
        best = {} if self.best_state is None else {f"best_state/{k}": v for k, v in self.best_state.items()}
        return {"best": np.float64(self.best), "wait": np.int64(self.wait),
                "best_epoch": np.int64(-1 if self.best_epoch is None else self.best_epoch), **best}

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        self.best, self.wait = float(state["best"]), int(state["wait"])
        self.best_epoch = None if int(state["best_epoch"]) < 0 else int(state["best_epoch"])
        best = {k[len("best_state/"):]: v for k, v in state.items() if k.startswith("best_state/")}
        self.best_state = best or None

    def on_train_end(self, model: Module, history: History) -> None:
        history.best_epoch = self.best_epoch
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)


class Parallel(Protocol):
    """How fit trains as one of several processes (`gc.distributed.DataParallel`; None: alone).

    fit asks it to check the batch plan, to compile the train step, for this process's rows of each
    global batch, and to make every process take rank 0's logs and decisions; only the `root`
    process logs, plots and writes checkpoints.
    """

    root: bool

    def check(self, plan: Mapping[str, Any]) -> None:
        """Raise unless every process has the same plan (rows, batch_size, epochs, ...: else they would
        take different numbers of steps) and its global batches split evenly over the processes."""

    def compile(self, model: Module, inputs: Sequence[Tensor], loss: Tensor, optimizer: Optimizer,
                state_updates: Sequence[tuple[Tensor, Tensor]], backend: str, check_finite: bool
                ) -> Callable[[np.ndarray, np.ndarray], Any]:
        """The train step: this process's rows in, the global batch's mean loss out."""

    def rows(self, batch: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """This process's rows of a global batch."""

    def agree(self, value: Any) -> Any:
        """Rank 0's `value` on every process."""


def _placeholders(model: Module, x: np.ndarray, y: np.ndarray) -> tuple[Tensor, Tensor]:
    params = model.parameters()
    float_dtype = params[0].dtype if params else "float32"
    x_dtype = float_dtype if x.dtype.kind == "f" else x.dtype.name
    y_dtype = float_dtype if y.dtype.kind == "f" else "int64"
    return (placeholder((None,) + x.shape[1:], x_dtype, name="x"),
            placeholder((None,) + y.shape[1:], y_dtype, name="y"))


def _modes(model: Module) -> list[tuple[Module, bool]]:
    return [(m, m.training) for _, m in model.named_modules()]


def _restore(modes: list[tuple[Module, bool]]) -> None:
    """Each layer back in the mode it had (a BatchNorm the user left in eval mode stays so)."""
    for m, training in modes:
        object.__setattr__(m, "training", training)


@contextlib.contextmanager
def _mode(model: Module, training: bool) -> Iterator[None]:
    """The whole model in train (or eval) mode inside, and each layer back in the mode it had after."""
    before = _modes(model)
    model.train(training)
    try:
        yield
    finally:
        _restore(before)


class _Evaluator:
    """Eval-mode loss and predictions for whole arrays, compiled once, run in eval mode."""

    def __init__(self, model: Module, loss_fn: LossFn, xs: Tensor, ys: Tensor, backend: str = "auto",
                 check_finite: bool | None = None):
        self.model = model
        with _mode(model, False):
            pred = model(xs)
        self.fn = function([xs, ys], [loss_fn(pred, ys), pred], allow_input_downcast=True, backend=backend,
                           check_finite=check_finite)

    def __call__(self, x: np.ndarray, y: np.ndarray, metrics: Mapping[str, Metric], prefix: str = ""
                 ) -> dict[str, float]:
        _check_rows("the validation data" if prefix else "the data", x)
        with _mode(self.model, False):
            loss, pred = self.fn(x, y)
        logs = {f"{prefix}loss": float(loss)}
        logs.update({f"{prefix}{name}": float(m(y, pred)) for name, m in metrics.items()})
        return logs


def _check_rows(what: str, x: np.ndarray, batch_size: int = 1, drop_last: bool = False) -> None:
    """Refuse data that gives no batch: its mean loss would be 0/0, not a number to report."""
    if x.ndim == 0 or len(x) == 0:
        raise ArgumentError(f"{what} has no rows (shape {x.shape})", fix="pass at least one example")
    if drop_last and len(x) < batch_size:
        raise ArgumentError(f"{what}: drop_last=True drops all {len(x)} rows, fewer than batch_size={batch_size}",
                            fix="lower batch_size, or pass drop_last=False")


def evaluate(model: Module, loss_fn: LossFn, x: Any, y: Any, metrics: Mapping[str, Metric] | None = None, *,
             backend: str = "auto") -> dict[str, float]:
    """Eval-mode loss (and metrics) of `model` on (x, y), compiled for `backend` (as in `gc.function`)."""
    x, y = np.asarray(x), np.asarray(y)
    return _Evaluator(model, loss_fn, *_placeholders(model, x, y), backend)(x, y, metrics or {})


def predict(model: Module, x: Any, *, backend: str = "auto") -> np.ndarray:
    """Eval-mode outputs of `model` for the rows of `x`, compiled for `backend` (as in `gc.function`)."""
    x = np.asarray(x)
    xs, _ = _placeholders(model, x, np.zeros(1))
    with _mode(model, False):
        return function([xs], model(xs), allow_input_downcast=True, backend=backend)(x)


def classify(pred: np.ndarray) -> np.ndarray:
    """Labels from logits/probability rows (argmax), for metrics on classifier outputs."""
    return to_labels(pred)


def _progress(epochs: int, verbose: bool, first: int = 0) -> tuple[Iterable[int], Callable[[int, dict], None]]:
    if not verbose:
        return range(first, epochs), lambda epoch, logs: None
    text = lambda logs: " ".join(f"{k}={v:.4g}" for k, v in logs.items())  # noqa: E731
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return range(first, epochs), lambda epoch, logs: print(f"epoch {epoch + 1}/{epochs} {text(logs)}")
    bar = tqdm(range(first, epochs), desc="fit", unit="epoch", initial=first, total=epochs)
    return bar, lambda epoch, logs: bar.set_postfix_str(text(logs))


def fit(model: Module, loss_fn: LossFn, optimizer: Optimizer, x: Any, y: Any, *, epochs: int = 10,
        batch_size: int = 32, validation_data: tuple[Any, Any] | None = None, validation_split: float = 0.0,
        metrics: Mapping[str, Metric] | None = None, callbacks: Sequence[Callback] = (),
        early_stopping: EarlyStopping | None = None, shuffle: bool = True, seed: int = 0,
        drop_last: bool = False, verbose: bool = False, plot: str | os.PathLike | None = None,
        backend: str = "auto", check_finite: bool = True, checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int | None = None, resume: str | os.PathLike | None = None,
        parallel: Parallel | None = None) -> History:
    """Train `model` on (x, y) with minibatches; returns the per-epoch History.

    `loss_fn(prediction, target)` builds the loss (add penalties there or use the
    optimizer's weight_decay/l1). `metrics` maps names to `metric(y_true, y_pred)`
    on eval-mode outputs (see `classify`). `plot` saves the loss curves as a PNG.
    The train step and the evaluation compile for `backend` (as in `gc.function`: "auto" is llvm where
    it can build, else the NumPy reference with a `gc.BackendFallbackWarning`).

    A step or evaluation that makes a NaN or an infinity stops training with a
    `gc.NonFiniteError` (its `history` attribute holds the epochs done): the model
    keeps its last finite weights, or EarlyStopping's best ones. That guard copies
    and scans the weights and optimizer state every step; `check_finite=False`
    skips it, and then only a non-finite loss stops training, and the weights of
    that step may be NaN (unless EarlyStopping puts back its best).

    `checkpoint=path` writes a `gc.checkpoint` file (atomically) at the end of every epoch, and
    with `checkpoint_every=N` also after every N-th train step (batch). `resume=path` loads one
    into `model` and `optimizer` and continues where it was written, mid-epoch included: the
    run then ends bit-identical to one never stopped (same data and arguments; `epochs` may
    grow). Callbacks continue from their `state_dict()` (EarlyStopping's best weights and
    patience count).

    `parallel` trains as one of several processes: `gc.distributed.fit` passes its `DataParallel`,
    and then each process steps on its slice of every global batch of `batch_size` rows, and only
    rank 0 logs, plots and writes checkpoints (docs/distributed.md).
    """
    x, y = np.asarray(x), np.asarray(y)
    _check_rows("fit: the training data", x, batch_size, drop_last)
    if validation_data is None and validation_split:
        (x, y), validation_data = data.train_val_split(x, y, val_fraction=validation_split, seed=seed)
    metrics = dict(metrics or {})
    callbacks = list(callbacks) + ([early_stopping] if early_stopping is not None else [])
    plan = {"rows": len(x), "batch_size": batch_size, "shuffle": shuffle, "drop_last": drop_last, "seed": seed}
    if parallel is not None:
        parallel.check({**plan, "epochs": epochs})
    root = parallel is None or parallel.root
    run = checkpoints.Run(model, optimizer, callbacks, plan, checkpoint if root else None,
                          checkpoint_every if root else None)
    history = History(*run.resume(resume)) if resume is not None else History()
    xs, ys = _placeholders(model, x, y)
    modes_before = _modes(model)
    with _mode(model, True):  # the step's graph: dropout on, BatchNorm on batch statistics and updating its own
        loss = loss_fn(model(xs), ys)
        state = model.state_updates()
    if parallel is not None:
        step = parallel.compile(model, [xs, ys], loss, optimizer, state, backend, check_finite)
    else:
        step = function([xs, ys], loss, updates=optimizer.updates(loss) + state, allow_input_downcast=True,
                        backend=backend, check_finite=check_finite)
    evaluator = _Evaluator(model, loss_fn, xs, ys, backend, check_finite=check_finite)
    for cb in callbacks:
        cb.on_train_begin(model)
    run.restore_callbacks()
    epochs_iter, show = _progress(epochs, verbose and root, run.epoch if history.stopped_epoch is None else epochs)
    where, failure = "", None
    try:
        for epoch in epochs_iter:
            model.train()  # the step was compiled in train mode (a callback may have left the model in eval mode)
            for i, (xb, yb) in run.batches(x, y):
                where = f"epoch {epoch + 1}, batch {i + 1}"
                value = float(step(xb, yb) if parallel is None else step(*parallel.rows((xb, yb))))
                if not math.isfinite(value):
                    raise NonFiniteError(f"the loss is {value}", loc=loss.loc, fix=f"{finite.GROWTH}; "
                                         "check_finite=True names the op and keeps the weights from before the step")
                run.step_done(value, len(xb))
            where = f"epoch {epoch + 1}, the metrics on the training data"
            logs = {"loss": run.mean_loss}
            if metrics:
                logs.update({k: v for k, v in evaluator(x, y, metrics).items() if k != "loss"})
            if validation_data is not None:
                where = f"epoch {epoch + 1}, validation"
                logs.update(evaluator(*(np.asarray(a) for a in validation_data), metrics, prefix="val_"))
            if parallel is not None:
                logs = parallel.agree(logs)  # every rank decides (early stopping) on rank 0's numbers
            history.add(logs)
            show(epoch, logs)
            where = f"epoch {epoch + 1}, the callbacks"
            stop = any([cb.on_epoch_end(epoch, logs, model) for cb in callbacks])
            if parallel is not None:
                stop = parallel.agree(stop)  # rank 0's decision, so that no rank trains on alone
            if stop:
                history.stopped_epoch = epoch
            run.epoch_done(history.values, history.stopped_epoch)
            if history.stopped_epoch is not None:
                break
    except NonFiniteError as e:
        history.stopped_epoch, failure = epoch, e
    for cb in callbacks:
        cb.on_train_end(model, history)
    _restore(modes_before)
    if failure is not None:
        raise _stopped(failure, where, history, callbacks, check_finite) from None
    if plot is not None and root:
        plot_history(history, plot)
    return history


def _stopped(e: NonFiniteError, where: str, history: History, callbacks: Sequence[Callback],
             checked: bool) -> NonFiniteError:
    """The error that ends fit: where it happened, what the model holds now, and the history so far."""
    restored = [cb.best_epoch for cb in callbacks
                if isinstance(cb, EarlyStopping) and cb.restore_best and cb.best_state is not None]
    kept = f"the weights of epoch {restored[0] + 1} (EarlyStopping's best)" if restored else \
        "its last finite weights" if checked else "the weights that step left (unchecked: they may be NaN)"
    error = NonFiniteError(f"fit stopped in {where}: {e.what}", fix=f"{e.fix}; the model holds {kept}",
                           loc=e.loc, locate=False)
    error.history = history
    return error


def plot_history(history: History, path: str | os.PathLike, keys: Sequence[str] = ("loss", "val_loss")) -> None:
    """Save the curves of `keys` per epoch as a PNG (atomically)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise GraphcError("plot_history: needs matplotlib", fix="pip install 'graphc[plot]'") from None
    fig, ax = plt.subplots(figsize=(6, 4))
    for k in keys:
        if k in history:
            ax.plot(range(1, len(history[k]) + 1), history[k], label=k)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


__all__ = ["History", "Callback", "Parallel", "EarlyStopping", "fit", "evaluate", "predict", "classify", "plot_history"]
