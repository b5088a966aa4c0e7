"""Training checkpoints: everything a `gc.train.fit` run needs to continue bit for bit.

A checkpoint is the `.npz` archive of `Module.save` extended with a JSON header
(format name and version, see `graphc.nn.state`) and sections of arrays:

    model/<name>             parameters and buffers (BatchNorm statistics, Dropout RNG keys)
    optimizer/step           the step counter (learning-rate schedules are functions of it)
    optimizer/<param>/<slot> the rule's per-parameter state (Adam's m and v, a velocity, ...)
    progress/...             fit's position: the epoch's row order, its running loss, the history

The header also records the optimizer's class, the shuffle generator's state and
the fit arguments that fix the data order. Loading checks every name, shape and
dtype first and sets nothing unless all fit. No pickle: loading never runs code.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from .data.batching import batch_count, batches_in_order, epoch_order
from .ir import CheckpointError, Tensor
from .nn.module import Module
from .nn.state import FORMAT, MODEL, VERSION, read_archive, save_state
from .optim.base import Optimizer

_OPT, _PROGRESS, _HISTORY, _CALLBACKS = "optimizer/", "progress/", "progress/history/", "progress/callbacks/"


@dataclass
class Progress:
    """Where a fit run stands: a checkpoint taken after `batch` batches of epoch `epoch` (0-based).

    `batch == 0` is the start of an epoch (its row order not drawn yet); otherwise `order` is the
    epoch's row order and `total`/`count` the loss sum and row count of its batches so far. `rng`
    is the shuffle generator's `bit_generator.state`, `steps` the train steps of the whole run, and
    `plan` the fit arguments that fix the data order (a resume must pass the same ones), and
    `callbacks` the class name and `state_dict()` of each callback (EarlyStopping's best so far);
    `stopped_epoch` is set once a callback has stopped the run (a resume then trains no more).
    """

    epoch: int = 0
    batch: int = 0
    steps: int = 0
    order: np.ndarray | None = None
    total: float = 0.0
    count: int = 0
    rng: dict[str, Any] | None = None
    plan: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    stopped_epoch: int | None = None
    callbacks: list[tuple[str, dict[str, np.ndarray]]] = field(default_factory=list)


def _tensors(model: Module, optimizer: Optimizer | None) -> dict[str, Tensor]:
    """Every tensor a checkpoint holds, by archive key; optimizer slots are named by their parameter."""
    out = {MODEL + name: p for name, p in [*model.named_parameters(), *model.named_buffers()]}
    if optimizer is not None:
        names = {id(p): name for name, p in model.named_parameters()}
        out[_OPT + "step"] = optimizer.step_count
        for i, (p, slots) in enumerate(zip(optimizer.params, optimizer.slots)):
            for slot, t in slots.items():
                out[f"{_OPT}{names.get(id(p), f'#{i}')}/{slot}"] = t
    return out


def _describe(optimizer: Optimizer) -> dict[str, Any]:
    return {"class": type(optimizer).__name__, "slots": list(optimizer.slot_names())}


def save_checkpoint(path: str | os.PathLike, model: Module, optimizer: Optimizer | None = None,
                    progress: Progress | None = None) -> None:
    """Write model, optimizer state and (for fit) its progress to `path` (.npz), atomically.

    A crash during the write leaves the previous file at `path` as it was.
    """
    arrays = {key: t.value for key, t in _tensors(model, optimizer).items()}
    header: dict[str, Any] = {"format": FORMAT, "version": VERSION, "model": type(model).__name__,
                              "optimizer": None if optimizer is None else _describe(optimizer)}
    if progress is not None:
        header["progress"] = {"epoch": progress.epoch, "batch": progress.batch, "steps": progress.steps,
                              "count": progress.count, "rng": progress.rng, "plan": progress.plan,
                              "history": list(progress.history), "stopped_epoch": progress.stopped_epoch,
                              "callbacks": [[name, list(st)] for name, st in progress.callbacks]}
        arrays[_PROGRESS + "total"] = np.float64(progress.total)
        for i, (_, st) in enumerate(progress.callbacks):
            arrays.update({f"{_CALLBACKS}{i}/{k}": np.asarray(v) for k, v in st.items()})
        if progress.order is not None:
            arrays[_PROGRESS + "order"] = np.asarray(progress.order, np.int64)
        arrays.update({_HISTORY + k: np.asarray(v, np.float64) for k, v in progress.history.items()})
    save_state(arrays, path, header)


def _mismatches(arrays: Mapping[str, np.ndarray], expected: Mapping[str, Tensor]) -> list[str]:
    found = {k for k in arrays if not k.startswith(_PROGRESS)}
    lines = []
    if missing := sorted(set(expected) - found):
        lines.append(f"missing from the checkpoint: {', '.join(missing)}")
    if unexpected := sorted(found - set(expected)):
        lines.append(f"in the checkpoint but not in this model/optimizer: {', '.join(unexpected)}")
    for key in sorted(set(expected) & found):
        want, got = expected[key].value, arrays[key]
        if (want.shape, want.dtype) != (got.shape, got.dtype):
            lines.append(f"{key}: this one is {want.dtype}{list(want.shape)}, the checkpoint holds "
                         f"{got.dtype}{list(got.shape)}")
    return lines


def load_checkpoint(path: str | os.PathLike, model: Module, optimizer: Optimizer | None = None
                    ) -> Progress | None:
    """Set `model` (and `optimizer`) from a checkpoint; returns the fit progress it holds, if any.

    Everything is checked before anything is set: a checkpoint of another architecture or
    optimizer raises a `CheckpointError` that lists every missing, extra and mismatched array.
    """
    apply, progress = _read(path, model, optimizer)
    apply()
    return progress


def _read(path: str | os.PathLike, model: Module, optimizer: Optimizer | None
          ) -> tuple[Callable[[], None], Progress | None]:
    """Check a checkpoint against model and optimizer: (the function that sets them, its progress)."""
    where = f"load_checkpoint({os.fspath(path)!r})"
    header, arrays = read_archive(path, "load_checkpoint")
    if header is None:
        raise CheckpointError(f"{where}: this is a parameter file (Module.save): it holds no optimizer state "
                              "or training progress", fix="load it with model.load(path), or pass a checkpoint "
                              "written by gc.train.fit(checkpoint=...) or gc.checkpoint.save_checkpoint")
    problems = []
    saved = header.get("optimizer")
    if optimizer is not None and saved is None:
        problems.append("the checkpoint holds no optimizer state")
    elif optimizer is not None and saved != _describe(optimizer):
        problems.append(f"the checkpoint's optimizer is {saved['class']} (slots {saved['slots']}), this one is "
                        f"{type(optimizer).__name__} (slots {list(optimizer.slot_names())})")
    expected = _tensors(model, optimizer)
    if optimizer is None:
        arrays = {k: v for k, v in arrays.items() if not k.startswith(_OPT)}
    problems += _mismatches(arrays, expected)
    if problems:
        raise CheckpointError(f"{where}: the checkpoint does not fit this model and optimizer:\n    "
                              + "\n    ".join(problems),
                              fix="build the model and optimizer as the run that wrote it did (same layers, sizes, "
                              "dtypes and optimizer class), or load only the weights with model.load(path)")

    def apply() -> None:
        for key, t in expected.items():
            t.value = arrays[key]
    try:
        return apply, _progress(header, arrays)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{where}: its training progress is incomplete ({type(e).__name__}: {e})",
                              fix="the file is corrupt or was not written by graphc; use an earlier checkpoint"
                              ) from None


def _progress(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Progress | None:
    p = header.get("progress")
    if p is None:
        return None
    return Progress(epoch=p["epoch"], batch=p["batch"], steps=p["steps"], order=arrays.get(_PROGRESS + "order"),
                    total=float(arrays[_PROGRESS + "total"]), count=p["count"], rng=p["rng"], plan=p["plan"],
                    history={k: arrays[_HISTORY + k].tolist() for k in p["history"]}, stopped_epoch=p["stopped_epoch"],
                    callbacks=[(name, {k: arrays[f"{_CALLBACKS}{i}/{k}"] for k in keys})
                               for i, (name, keys) in enumerate(p["callbacks"])])


class Run:
    """fit's resumable position: epoch, batch, the shuffle generator, the epoch's running loss.

    It draws each epoch's row order, counts the steps, and writes a checkpoint at the end of
    every epoch and (with `every`) after every `every`-th step.
    """

    def __init__(self, model: Module, optimizer: Optimizer, callbacks: Sequence[Any], plan: dict[str, Any],
                 path: str | os.PathLike | None, every: int | None):
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise CheckpointError(f"fit: checkpoint_every must be a positive number of steps, got {every!r}",
                                  fix="checkpoint_every=100 writes after every 100th batch; None: once an epoch")
        if every is not None and path is None:
            raise CheckpointError("fit: checkpoint_every needs checkpoint=path", fix="pass checkpoint='run.npz'")
        if path is not None and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise CheckpointError(f"fit: the folder of checkpoint={os.fspath(path)!r} does not exist",
                                  fix="create it first, or write the checkpoint into an existing folder")
        self.model, self.optimizer, self.callbacks = model, optimizer, callbacks
        plan = {k: v.item() if isinstance(v, np.generic) else v for k, v in plan.items()}  # JSON-able
        self.plan, self.path, self.every = plan, path, every
        self.rng = np.random.default_rng(plan["seed"])
        self.at = Progress(plan=plan)

    def resume(self, path: str | os.PathLike) -> tuple[dict[str, list[float]], int | None]:
        """Load model, optimizer and position from `path`; returns the history so far and its stopped epoch.

        The callbacks' states are put back by `restore_callbacks`, after their `on_train_begin`."""
        apply, at = _read(path, self.model, self.optimizer)
        if at is None:
            raise CheckpointError(f"fit(resume={os.fspath(path)!r}): the checkpoint holds no training progress",
                                  fix="pass a checkpoint written by fit(checkpoint=...)")
        changed = [f"{k}={at.plan.get(k)!r} then, {v!r} now" for k, v in self.plan.items() if at.plan.get(k) != v]
        classes = [type(cb).__name__ for cb in self.callbacks]
        if [name for name, _ in at.callbacks] != classes:
            changed.append(f"callbacks {[name for name, _ in at.callbacks]} then, {classes} now")
        if changed:
            raise CheckpointError(f"fit(resume={os.fspath(path)!r}): the run differs from the one that wrote the "
                                  f"checkpoint: {'; '.join(changed)}",
                                  fix="resume with the same data, batch_size, shuffle, drop_last, seed and callbacks")
        apply()
        self.rng.bit_generator.state = at.rng
        self.at = at
        return at.history, at.stopped_epoch

    def restore_callbacks(self) -> None:
        """Give each callback the state it had when the checkpoint was written (if fit resumed)."""
        for cb, (_, st) in zip(self.callbacks, self.at.callbacks):
            cb.load_state_dict(st)

    @property
    def epoch(self) -> int:
        """The epoch the run is in (or starts next), 0-based."""
        return self.at.epoch

    @property
    def mean_loss(self) -> float:
        """The current epoch's training loss: the mean over its rows of each batch's mean loss."""
        return self.at.total / self.at.count

    def batches(self, x: np.ndarray, y: np.ndarray) -> Iterator[tuple[int, tuple[np.ndarray, np.ndarray]]]:
        """(batch index, (x, y) batch) of the current epoch, from where the run stands."""
        at = self.at
        if at.batch == 0:
            at.order, at.total, at.count = epoch_order(len(x), self.plan["shuffle"], self.rng), 0.0, 0
        size, drop = self.plan["batch_size"], self.plan["drop_last"]
        last = batch_count(len(x), size, drop)
        for i, batch in enumerate(batches_in_order((x, y), at.order, size, drop, at.batch), at.batch):
            yield i, batch
            if self.every and at.steps % self.every == 0 and i + 1 < last:
                self.save()

    def step_done(self, loss: float, rows: int) -> None:
        """Count a finished train step (call it before asking for the next batch)."""
        self.at.total += loss * rows
        self.at.count += rows
        self.at.batch += 1
        self.at.steps += 1

    def epoch_done(self, history: Mapping[str, list[float]], stopped_epoch: int | None) -> None:
        """Move to the next epoch and write a checkpoint (if fit was given a path)."""
        self.at = Progress(epoch=self.at.epoch + 1, steps=self.at.steps, plan=self.plan,
                           history={k: list(v) for k, v in history.items()}, stopped_epoch=stopped_epoch)
        self.save()

    def save(self) -> None:
        """Write where the run stands to the checkpoint path (if any)."""
        if self.path is not None:
            self.at.rng = self.rng.bit_generator.state
            self.at.callbacks = [(type(cb).__name__, cb.state_dict()) for cb in self.callbacks]
            save_checkpoint(self.path, self.model, self.optimizer, self.at)


__all__ = ["Progress", "save_checkpoint", "load_checkpoint"]
