"""Resumable training: a stopped, killed or crashed fit run continues to the same bits as one never stopped.

Every comparison is exact (`np.array_equal`, `==` on the history floats): parameters, buffers
(BatchNorm statistics, Dropout RNG keys), every optimizer slot and step counter, and the history.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import graphc as gc
from graphc import checkpoint as ckpt

# The child of the kill test and the tests here build the same run from this one script.
RUN = textwrap.dedent('''
    import sys
    import numpy as np
    import graphc as gc

    def make(optimizer="adam", hidden=16):
        model = gc.nn.Sequential(gc.nn.Dense(2, hidden, "relu", rng=0), gc.nn.BatchNorm(hidden),
                                 gc.nn.Dropout(0.25, seed=7), gc.nn.Dense(hidden, 1, rng=1))
        if optimizer == "adam":
            opt = gc.optim.Adam(model, lr=1e-2, schedule=gc.optim.Warmup(5, then=gc.optim.Cosine(30)))
        else:
            opt = gc.optim.SGD(model, lr=1e-2, momentum=0.9)
        return model, opt

    def data():
        x, y = gc.data.sine(54, seed=3)
        return (x - 5.0) / 3.0, y

    def fit(model, opt, backend="numpy", epochs=4, **kw):
        x, y = data()
        return gc.train.fit(model, gc.losses.mse, opt, x, y, epochs=epochs, batch_size=8, shuffle=True, seed=5,
                            validation_data=(x[:10], y[:10]), metrics={"mae": gc.metrics.mae}, backend=backend,
                            **kw)

    if __name__ == "__main__":  # the child of the kill test: stall in its 6th checkpoint write, to be killed
        path, marker = sys.argv[1], sys.argv[2]
        import time
        from graphc import checkpoint
        real, writes = checkpoint.save_checkpoint, []

        def save(p, model, opt, progress):
            writes.append(progress.steps)
            if len(writes) == 6:
                with open(marker, "w") as f:
                    f.write(str(progress.steps))
                time.sleep(600)
            real(p, model, opt, progress)

        checkpoint.save_checkpoint = save
        model, opt = make()
        fit(model, opt, checkpoint=path, checkpoint_every=2)
''')


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("resume") / "run.py"
    path.write_text(RUN)
    namespace: dict = {"__name__": "resume_run"}
    exec(compile(RUN, str(path), "exec"), namespace)
    return path, namespace


def state(model, opt):
    out = {f"model/{k}": v for k, v in model.state_dict().items()}
    out.update({f"opt/{i}": p.value for i, p in enumerate(opt.state_parameters())})
    return out


def assert_same(a, b):
    (model_a, opt_a, hist_a), (model_b, opt_b, hist_b) = a, b
    sa, sb = state(model_a, opt_a), state(model_b, opt_b)
    assert list(sa) == list(sb)
    for key in sa:
        assert sa[key].dtype == sb[key].dtype and np.array_equal(sa[key], sb[key]), key
    assert list(hist_a.values) == list(hist_b.values)
    assert (hist_a.values, hist_a.stopped_epoch, hist_a.best_epoch) == \
        (hist_b.values, hist_b.stopped_epoch, hist_b.best_epoch)


def uninterrupted(ns, backend, **kw):
    model, opt = ns["make"](**kw)
    return model, opt, ns["fit"](model, opt, backend)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_resumed_from_any_checkpoint_ends_bit_identical(script, tmp_path, monkeypatch, backend):
    _, ns = script
    reference = uninterrupted(ns, backend)
    real, copies = ckpt.save_checkpoint, []

    def keep_every_version(path, model, opt, progress):
        real(path, model, opt, progress)
        copies.append((progress.epoch, progress.batch, shutil.copy(path, tmp_path / f"v{len(copies)}.npz")))

    monkeypatch.setattr(ckpt, "save_checkpoint", keep_every_version)
    model, opt = ns["make"]()
    written = ns["fit"](model, opt, backend, checkpoint=tmp_path / "run.npz", checkpoint_every=3)
    monkeypatch.undo()
    assert_same(reference, (model, opt, written))  # writing checkpoints changes nothing
    # 7 batches an epoch: mid-epoch writes after batches 3 and 6, and one at each epoch's end
    assert [(e, b) for e, b, _ in copies[:4]] == [(0, 3), (0, 6), (1, 0), (1, 2)]
    assert len(copies) == 4 * 3
    for _, _, path in [copies[0], copies[2], copies[3], copies[-2]]:
        model, opt = ns["make"]()
        resumed = ns["fit"](model, opt, backend, resume=path)
        assert_same(reference, (model, opt, resumed))


def test_early_stopping_continues_where_it_was(script, tmp_path, monkeypatch):
    _, ns = script
    # min_delta=10: epoch 1 is the best, epochs 2 and 3 exhaust patience=2, epoch 1's weights come back
    stopping = lambda: gc.train.EarlyStopping("val_loss", patience=2, min_delta=10.0)  # noqa: E731
    model, opt = ns["make"]()
    reference = (model, opt, ns["fit"](model, opt, epochs=8, early_stopping=stopping()))
    assert (reference[2].stopped_epoch, reference[2].best_epoch, reference[2].epochs) == (2, 0, 3)
    real, copies = ckpt.save_checkpoint, []
    monkeypatch.setattr(ckpt, "save_checkpoint", lambda path, *a: (
        real(path, *a), copies.append(shutil.copy(path, tmp_path / f"v{len(copies)}.npz"))))
    model, opt = ns["make"]()
    ns["fit"](model, opt, epochs=8, early_stopping=stopping(), checkpoint=tmp_path / "run.npz", checkpoint_every=4)
    monkeypatch.undo()
    for path in copies[2:]:  # epoch 1 done (its weights the best so far), mid-epoch 2, ..., the stopped end
        model, opt = ns["make"]()
        resumed = ns["fit"](model, opt, epochs=8, early_stopping=stopping(), resume=path)
        assert_same(reference, (model, opt, resumed))
    with pytest.raises(gc.CheckpointError, match=r"callbacks \['EarlyStopping'\] then, \[\] now"):
        ns["fit"](*ns["make"](), epochs=8, resume=copies[-1])


def test_resume_can_train_for_more_epochs_and_write_on(script, tmp_path):
    _, ns = script
    reference = uninterrupted(ns, "numpy")
    path = tmp_path / "run.npz"
    model, opt = ns["make"]()
    first = ns["fit"](model, opt, epochs=2, checkpoint=path)
    assert first.epochs == 2
    model, opt = ns["make"]()
    ns["fit"](model, opt, epochs=3, checkpoint=path, resume=path)
    model, opt = ns["make"]()
    resumed = ns["fit"](model, opt, resume=path)
    assert_same(reference, (model, opt, resumed))


@pytest.mark.parametrize("name, schedule", [
    ("SGD", gc.optim.StepDecay(4, 0.5)), ("Momentum", None), ("Nesterov", gc.optim.ExponentialDecay(0.97)),
    ("AdaGrad", None), ("RMSProp", gc.optim.Warmup(6)), ("Adam", gc.optim.Cosine(20)), ("AdamW", None)],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__ if v else "constant-lr")
def test_every_optimizer_resumes_bit_identical(script, tmp_path, name, schedule):
    _, ns = script

    def run(**kw):
        model, _ = ns["make"]()
        opt = getattr(gc.optim, name)(model, lr=1e-2, schedule=schedule, clip_norm=1.0)
        return model, opt, ns["fit"](model, opt, epochs=3, **kw)

    reference = run()
    model, opt = ns["make"]()
    opt = getattr(gc.optim, name)(model, lr=1e-2, schedule=schedule, clip_norm=1.0)
    ns["fit"](model, opt, epochs=1, checkpoint=tmp_path / "b.npz", checkpoint_every=3)
    assert ckpt.load_checkpoint(tmp_path / "b.npz", model, opt).steps == 7
    assert_same(reference, run(resume=tmp_path / "b.npz"))


def test_run_killed_between_checkpoints_resumes_bit_identical(script, tmp_path):
    path, ns = script
    target, marker = tmp_path / "run.npz", tmp_path / "stalled"
    child = subprocess.Popen([sys.executable, str(path), str(target), str(marker)])
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"the child did not reach its 6th checkpoint (exit code {child.poll()})"
        time.sleep(0.1)
        child.send_signal(signal.SIGKILL)
        assert child.wait(60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    stalled_at = int(marker.read_text())
    model, opt = ns["make"]()
    progress = ckpt.load_checkpoint(target, model, opt)
    # the file holds the 5th checkpoint, mid-epoch; the steps after it were done and lost
    assert (progress.epoch, progress.batch, progress.steps) == (1, 1, 8) and stalled_at == 10
    assert sorted(os.listdir(tmp_path)) == ["run.npz", "stalled"]  # no temporary file left behind
    model, opt = ns["make"]()
    resumed = ns["fit"](model, opt, resume=target)
    assert_same(uninterrupted(ns, "numpy"), (model, opt, resumed))


def test_crash_while_writing_leaves_the_previous_checkpoint(script, tmp_path, monkeypatch):
    _, ns = script
    path = tmp_path / "run.npz"
    model, opt = ns["make"]()
    ns["fit"](model, opt, epochs=1, checkpoint=path)
    before = state(model, opt)
    real_savez, torn = np.savez, []

    def crash_midway(f, **arrays):
        real_savez(f, **arrays)
        f.seek(f.tell() // 2)
        f.truncate()
        torn.append(f.name)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", crash_midway)
    model, opt = ns["make"]()
    with pytest.raises(OSError, match="No space left"):
        ns["fit"](model, opt, epochs=3, checkpoint=path, resume=path)
    monkeypatch.undo()
    assert torn and os.path.dirname(torn[0]) == str(tmp_path)  # the write went to a temporary file beside it
    assert os.listdir(tmp_path) == ["run.npz"]
    model, opt = ns["make"]()
    assert ckpt.load_checkpoint(path, model, opt).epoch == 1
    after = state(model, opt)
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_loading_into_another_model_or_optimizer_lists_the_mismatches(script, tmp_path):
    _, ns = script
    path = tmp_path / "run.npz"
    model, opt = ns["make"]()
    ns["fit"](model, opt, epochs=1, checkpoint=path)

    other, other_opt = ns["make"](hidden=8)
    untouched = state(other, other_opt)
    with pytest.raises(gc.CheckpointError) as e:
        ckpt.load_checkpoint(path, other, other_opt)
    message = str(e.value)
    assert "model/0.weight: this one is float32[2, 8], the checkpoint holds float32[2, 16]" in message
    assert "optimizer/0.weight/m: this one is float32[2, 8], the checkpoint holds float32[2, 16]" in message
    assert "fix: build the model and optimizer as the run that wrote it did" in message
    assert all(np.array_equal(v, state(other, other_opt)[k]) for k, v in untouched.items())  # nothing was set

    bigger = gc.nn.Sequential(*ns["make"]()[0], gc.nn.Dense(1, 1))
    with pytest.raises(gc.CheckpointError, match=r"missing from the checkpoint: model/4\.bias, model/4\.weight"):
        ckpt.load_checkpoint(path, bigger)
    smaller = gc.nn.Sequential(*list(ns["make"]()[0])[:3])
    with pytest.raises(gc.CheckpointError, match=r"not in this model/optimizer: model/3\.bias, model/3\.weight"):
        ckpt.load_checkpoint(path, smaller)

    model, sgd = ns["make"]("sgd")
    with pytest.raises(gc.CheckpointError, match=r"optimizer is Adam \(slots \['m', 'v'\]\), this one is SGD "
                                                 r"\(slots \['velocity'\]\)"):
        ns["fit"](model, sgd, resume=path)

    model, opt = ns["make"]()
    x, y = ns["data"]()
    with pytest.raises(gc.CheckpointError, match="batch_size=8 then, 16 now"):
        gc.train.fit(model, gc.losses.mse, opt, x, y, batch_size=16, seed=5, resume=path, backend="numpy")

    model.save(tmp_path / "weights.npz")
    with pytest.raises(gc.CheckpointError, match="(?s)parameter file .* fix: load it with model.load"):
        ns["fit"](model, opt, resume=tmp_path / "weights.npz")


def test_a_newer_format_version_is_refused(script, tmp_path):
    _, ns = script
    path = tmp_path / "run.npz"
    model, opt = ns["make"]()
    ns["fit"](model, opt, epochs=1, checkpoint=path)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays["__graphc__"]))
    assert (header["format"], header["version"]) == ("graphc.checkpoint", 1)
    header["version"] = 2
    arrays["__graphc__"] = np.array(json.dumps(header))
    np.savez(tmp_path / "future.npz", **arrays)
    for load in (lambda p: ckpt.load_checkpoint(p, model, opt), model.load):
        with pytest.raises(gc.CheckpointError, match="(?s)format version 2; this graphc reads versions 1 to 1.*"
                                                     "fix: load it with the \\(newer\\) graphc"):
            load(tmp_path / "future.npz")
    header["format"] = "something.else"
    arrays["__graphc__"] = np.array(json.dumps(header))
    np.savez(tmp_path / "other.npz", **arrays)
    with pytest.raises(gc.CheckpointError, match="not of a 'graphc.checkpoint' file"):
        model.load(tmp_path / "other.npz")


def test_parameter_files_still_load_and_checkpoints_load_as_weights(script, tmp_path):
    _, ns = script
    model, opt = ns["make"]()
    ns["fit"](model, opt, epochs=1, checkpoint=tmp_path / "run.npz")
    weights = model.state_dict()
    np.savez(tmp_path / "old.npz", **weights)  # a parameter-only file, as Module.save has always written
    model.save(tmp_path / "new.npz")
    with np.load(tmp_path / "new.npz", allow_pickle=False) as z:
        assert sorted(z.files) == sorted(weights)  # Module.save still writes no header
    for name in ("old.npz", "new.npz", "run.npz"):
        fresh, _ = ns["make"]()
        fresh.load(tmp_path / name)
        assert all(np.array_equal(v, fresh.state_dict()[k]) for k, v in weights.items()), name


def test_checkpoint_arguments_are_checked(script, tmp_path):
    _, ns = script
    model, opt = ns["make"]()
    with pytest.raises(gc.CheckpointError, match="checkpoint_every must be a positive number of steps, got 0"):
        ns["fit"](model, opt, checkpoint=tmp_path / "a.npz", checkpoint_every=0)
    with pytest.raises(gc.CheckpointError, match="checkpoint_every needs checkpoint=path"):
        ns["fit"](model, opt, checkpoint_every=5)
    with pytest.raises(gc.CheckpointError, match="the folder of checkpoint=.* does not exist"):
        ns["fit"](model, opt, checkpoint=tmp_path / "no" / "run.npz")
    with pytest.raises(gc.GraphcError, match="cannot read"):
        ns["fit"](model, opt, resume=tmp_path / "missing.npz")
    x, y = ns["data"]()  # NumPy integers as arguments still make a JSON header
    gc.train.fit(model, gc.losses.mse, opt, x, y, epochs=1, batch_size=np.int64(8), seed=np.int64(5),
                 checkpoint=tmp_path / "np.npz", backend="numpy")
    assert ckpt.load_checkpoint(tmp_path / "np.npz", model, opt).plan == \
        {"rows": 54, "batch_size": 8, "shuffle": True, "drop_last": False, "seed": 5}
