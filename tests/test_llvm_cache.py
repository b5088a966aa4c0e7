"""The LLVM backend's on-disk object cache: hits across processes, corrupt entries, key, atomic writes."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import graphc as gc
from graphc.backends.llvm import cache, runtime


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh cache folder, and no in-memory machines, so every compile goes through the disk cache."""
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GRAPHC_CACHE", raising=False)
    monkeypatch.setattr(runtime, "_MACHINES", {})
    return tmp_path


def step(act="tanh", backend="llvm"):
    """A small training step (matmul, activation, mean, SGD update) with its own weights."""
    rng = np.random.default_rng(0)
    x = gc.placeholder((8, 3), name="x")
    w = gc.parameter(rng.standard_normal((3, 2)).astype(np.float32), name="w")
    loss = gc.mean(gc.square(getattr(gc, act)(x @ w) - 0.5))
    return gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w))], backend=backend)


X = np.linspace(-1, 1, 24, dtype=np.float32).reshape(8, 3)


def losses(fn, n=3):
    return [float(fn(X)) for _ in range(n)]


def objects(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".obj"))


SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from test_llvm_cache import X, losses, step
    from graphc.backends.llvm import cache
    fn = step()
    print(losses(fn))
    print(cache.explain(fn))
""")


def test_second_process_loads_the_object_code(cache_dir):
    script = SCRIPT.format(tests=os.path.dirname(__file__))
    env = dict(os.environ, GRAPHC_CACHE_DIR=str(cache_dir))
    first, second = (subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                                    timeout=300) for _ in range(2))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    values, status = first.stdout.splitlines()
    assert status.startswith("miss: the cache") and "is empty" in status
    assert second.stdout.splitlines() == [values, f"hit: loaded {cache_dir / objects(cache_dir)[0]}"]
    assert len(objects(cache_dir)) == 1
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


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_corrupt_entry_is_reported_and_rebuilt(cache_dir, monkeypatch, damage):
    expected = losses(step(backend="numpy"))
    losses(step())
    (name,) = objects(cache_dir)
    path = cache_dir / name
    data = path.read_bytes()
    path.write_bytes({"truncate": data[:len(data) // 2], "empty": b"",
                      "flip": data[:200] + bytes([data[200] ^ 1]) + data[201:]}[damage])
    monkeypatch.setattr(runtime, "_MACHINES", {})
    with pytest.warns(RuntimeWarning, match="is corrupt"):
        assert losses(step()) == pytest.approx(expected, rel=1e-5)
    assert path.read_bytes() == data  # rebuilt: the same object code, whole again
    assert cache.load(name[:-4]) is not None


def test_entries_are_written_atomically(cache_dir, monkeypatch):
    seen = []
    replace = os.replace

    def checking_replace(src, dst):
        seen.append((os.path.basename(dst), os.path.exists(dst), os.path.getsize(src)))
        replace(src, dst)
    monkeypatch.setattr(os, "replace", checking_replace)
    losses(step())
    (name,) = objects(cache_dir)
    assert [(n, exists) for n, exists, _ in seen] == [(name[:-4] + ".json", False), (name, False)]
    assert seen[1][2] == os.path.getsize(cache_dir / name)
    assert sorted(os.listdir(cache_dir)) == [name[:-4] + ".json", name]  # no temporary file left


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
