"""The LLVM backend's on-disk object cache: hits across processes, corrupt entries, key, atomic writes."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import graphc as gc
from graphc.backends.llvm import cache, ircache, runtime
from graphc.backends.llvm.lowering import lower_program
from shared import X, losses, step


def objects(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".obj"))


SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from shared import X, losses, step
    from graphc.backends.llvm import cache, ircache
    if sys.argv[1] == "warm":  # the IR must come from the cache too
        ircache.lower_program = None
    fn = step()
    print(losses(fn))
    print(cache.explain(fn))
""")


def test_second_process_loads_the_ir_and_object_code(cache_dir):
    script = SCRIPT.format(tests=os.path.dirname(__file__))
    env = dict(os.environ, GRAPHC_CACHE_DIR=str(cache_dir))
    first, second = (subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, env=env,
                                    timeout=300) for mode in ("cold", "warm"))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    values, status = first.stdout.splitlines()
    assert status.startswith("miss: the cache") and "is empty" in status
    assert second.stdout.splitlines() == [values, f"hit: loaded {cache_dir / objects(cache_dir)[0]}"]
    assert len(objects(cache_dir)) == 1 and len([n for n in os.listdir(cache_dir) if n.endswith(".low")]) == 1
    assert eval(values) == pytest.approx(losses(step(backend="numpy")), rel=1e-5)


def test_miss_names_the_key_component_that_differs(cache_dir, monkeypatch):
    cpu, features = cache.host()
    losses(step())
    monkeypatch.setattr(runtime, "_MACHINES", {})
    monkeypatch.setattr(cache, "host", lambda: (cpu, features + ",+graphc-test-feature"))
    fn = step()
    assert cache.explain(fn).startswith("miss: the nearest entry differs in cpu_features")
    assert len(objects(cache_dir)) == 2  # one per CPU
    assert cache.explain(step(act="sigmoid")).startswith("miss: no entry for this program")


def test_key_covers_every_component():
    parts = cache.components("define i32 @run() { ret i32 0 }", runtime.PIPELINE)
    assert set(parts) == {"ir", "pipeline", "graphc", "llvmlite", "llvm", "cpu", "cpu_features"}
    for name in parts:
        assert cache.key({**parts, name: parts[name] + "x"}) != cache.key(parts), name


@pytest.mark.parametrize("suffix", [".obj", ".low", ".step"])
@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_corrupt_entry_is_reported_and_rebuilt(cache_dir, monkeypatch, damage, suffix):
    expected = losses(step(backend="numpy"))
    losses(step())
    if suffix == ".low":  # the lowered IR is read only when the whole step is not in the cache
        for n in os.listdir(cache_dir):
            if n.endswith(".step"):
                os.unlink(cache_dir / n)
    (name,) = [n for n in os.listdir(cache_dir) if n.endswith(suffix)]
    path = cache_dir / name
    data = path.read_bytes()
    path.write_bytes({"truncate": data[:len(data) // 2], "empty": b"",
                      "flip": data[:200] + bytes([data[200] ^ 1]) + data[201:]}[damage])
    monkeypatch.setattr(runtime, "_MACHINES", {})
    with pytest.warns(RuntimeWarning, match="is corrupt"):
        assert losses(step()) == pytest.approx(expected, rel=1e-5)
    assert path.read_bytes() == data  # rebuilt: the same entry, whole again
    assert cache.load(name[:-len(suffix)], suffix) is not None


def test_entries_are_written_atomically(cache_dir, monkeypatch):
    seen = []
    replace = os.replace

    def checking_replace(src, dst):
        seen.append((os.path.basename(dst), os.path.exists(dst), os.path.getsize(src)))
        replace(src, dst)
    monkeypatch.setattr(os, "replace", checking_replace)
    losses(step())
    (name,) = objects(cache_dir)
    (low,) = [n for n in os.listdir(cache_dir) if n.endswith(".low")]
    (whole,) = [n for n in os.listdir(cache_dir) if n.endswith(".step")]
    assert [(n, exists) for n, exists, _ in seen] == [(low, False), (name[:-4] + ".key", False), (name, False),
                                                      (whole, False)]
    assert seen[2][2] == os.path.getsize(cache_dir / name)
    assert sorted(os.listdir(cache_dir)) == sorted([low, name[:-4] + ".key", name, whole])  # no temporary file left


def test_failed_write_leaves_no_entry(cache_dir, monkeypatch):
    def failing_replace(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.warns(RuntimeWarning, match="cannot write"):
        values = losses(step())
    assert os.listdir(cache_dir) == []
    assert values == pytest.approx(losses(step(backend="numpy")), rel=1e-5)


def test_disabled_by_environment(cache_dir, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE", "0")
    fn = step()
    assert losses(fn) == pytest.approx(losses(step(backend="numpy")), rel=1e-5)
    assert os.listdir(cache_dir) == []
    assert cache.explain(fn) == "miss: the disk cache is off (GRAPHC_CACHE=0)"


def test_location_info_and_clear(tmp_path, monkeypatch):
    monkeypatch.delenv("GRAPHC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.directory() == str(tmp_path / "xdg" / "graphc")
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setattr(runtime, "_MACHINES", {})
    assert cache.info().entries == 0 and cache.info().bytes == 0
    losses(step())
    losses(step(act="sigmoid"))
    info = cache.info()
    assert info.directory == str(tmp_path / "c") and info.entries == 2
    assert info.bytes == sum(os.path.getsize(tmp_path / "c" / n) for n in os.listdir(tmp_path / "c"))
    assert len(os.listdir(tmp_path / "c")) == 8  # per program: object code, its key components, lowered IR, step
    freed = cache.clear()
    assert (freed.entries, freed.bytes) == (2, info.bytes)
    assert os.listdir(tmp_path / "c") == []


def test_inspection_still_works_after_a_hit(cache_dir, monkeypatch):
    fn = step()
    losses(fn)
    compiled = fn.asm()
    monkeypatch.setattr(runtime, "_MACHINES", {})
    again = step()
    losses(again)
    assert cache.explain(again).startswith("hit")
    assert again.asm() == compiled and "define" in again.llvm_ir(optimized=True)


def test_explain_needs_the_llvm_backend():
    fn = step(backend="numpy")
    fn(X)
    with pytest.raises(gc.BackendError, match="llvm backend"):
        cache.explain(fn)


def program_of(fn):
    """The kernel program of fn, scheduled without compiling it."""
    return fn.kernel_program(X.shape)


def test_ir_fingerprint_is_exact():
    base = program_of(step(backend="numpy"))
    assert ircache.fingerprint(base, 64) == ircache.fingerprint(program_of(step(backend="numpy")), 64)
    assert len({ircache.fingerprint(base, bits) for bits in (0, 32, 64)}) == 3  # no BLAS, LP64, ILP64
    assert ircache.fingerprint(program_of(step(act="sigmoid", backend="numpy")), 64) != ircache.fingerprint(base, 64)
    x = gc.placeholder((3,), name="x")
    near = [gc.function([x], x * c).kernel_program((3,)) for c in (np.float32(0.1), np.nextafter(np.float32(0.1), 1))]
    assert ircache.fingerprint(near[0], 64) != ircache.fingerprint(near[1], 64)  # one ulp apart
    table = [gc.function([x], x + gc.constant(np.arange(3, dtype=np.float32) * s)).kernel_program((3,))
             for s in (1, 2)]
    assert ircache.fingerprint(table[0], 64) != ircache.fingerprint(table[1], 64)  # constants by content


def test_unknown_attributes_make_a_program_uncacheable(cache_dir, monkeypatch):
    program = program_of(step(backend="numpy"))
    monkeypatch.setattr(type(program.kernels[0].node.op), "attrs", lambda self: (object(),))
    assert ircache.fingerprint(program, 64) is None
    assert ircache.lower_cached(program, 64, False).ir == lower_program(program, blas=64).ir
    assert not [n for n in os.listdir(cache_dir) if n.endswith(".low")]


def test_checked_builds_are_lowered_afresh(cache_dir):
    program = program_of(step(backend="numpy"))
    lowered = ircache.lower_cached(program, 64, True)
    assert lowered.sites is not None and not [n for n in os.listdir(cache_dir) if n.endswith(".low")]


def test_cached_lowering_equals_a_fresh_one(cache_dir):
    program = program_of(step(backend="numpy"))
    first = ircache.lower_cached(program, 64, False)  # stored
    again = ircache.lower_cached(program, 64, False)  # loaded
    assert again == first == lower_program(program, blas=64)


def rnn_step(act="tanh", backend="numpy"):
    """A training step through a scan (a natively run loop with its own body program)."""
    rng = np.random.default_rng(1)
    x = gc.placeholder((5, 8, 3), name="x")
    w = gc.parameter(rng.standard_normal((3, 3)).astype(np.float32) * 0.5, name="w")
    hs = gc.scan(lambda h, xt: getattr(gc, act)(h @ w + xt), gc.constant(np.zeros((8, 3), np.float32)), [x])
    loss = gc.mean(gc.square(hs))
    return gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w))], backend=backend)


XS = np.linspace(-1, 1, 120, dtype=np.float32).reshape(5, 8, 3)


def test_loop_programs_are_keyed_by_their_bodies_not_their_ids():
    base = rnn_step().kernel_program(XS.shape)
    assert any(k.kind == "loop" for k in base.kernels)
    assert ircache.fingerprint(base, 64) == ircache.fingerprint(rnn_step().kernel_program(XS.shape), 64)
    assert ircache.fingerprint(base, 64) != ircache.fingerprint(rnn_step("sigmoid").kernel_program(XS.shape), 64)


def test_a_cached_loop_program_lowers_its_bodies_from_the_cache(cache_dir, monkeypatch):
    program = rnn_step().kernel_program(XS.shape)
    first = ircache.lower_cached(program, 64, False)  # stored: the program and each body
    assert first.loops and len([n for n in os.listdir(cache_dir) if n.endswith(".low")]) == 1 + len(first.loops)
    monkeypatch.setattr(ircache, "lower_program", None)  # a hit must not generate IR
    again = ircache.lower_cached(program, 64, False)
    assert (again.ir, again.fallbacks, again.private_slots) == (first.ir, first.fallbacks, first.private_slots)
    assert [(n.fn_slot, n.table_slot, n.program, n.lowered) for n in again.loops] == \
        [(n.fn_slot, n.table_slot, n.program, n.lowered) for n in first.loops]
    # a new graph of the same step runs from the cached IR alone
    assert losses(rnn_step(backend="llvm"), x=XS) == pytest.approx(losses(rnn_step(), x=XS), rel=1e-5)
