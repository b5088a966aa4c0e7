"""The disk cache on a shared machine: whose folders and files it uses, what it reads, what it deletes,
what its keys cover (backends/llvm/cache.py; docs/backends.md, "Trust model of the disk cache")."""
import contextlib
import json
import os
import shutil
import signal
import stat

import pytest

from graphc import cli
from graphc.backends.llvm import cache, ircache, runtime, stepcache
from shared import X, losses, step

OTHER_UID = 54321


@pytest.fixture
def expected():
    return losses(step(backend="numpy"))


def fresh_process(monkeypatch):
    """Forget what this process compiled, as a new process would have."""
    monkeypatch.setattr(runtime, "_MACHINES", {})


def entry(folder, suffix):
    (name,) = [n for n in os.listdir(folder) if n.endswith(suffix)]
    return folder / name


def rewrite(path, change):
    """Replace the payload of a graphc entry by change(payload), with a matching checksum: what anyone
    who can write the file can do."""
    k, suffix = path.name[:64], path.name[64:]
    payload = cache._payload(k, suffix)
    path.write_bytes(cache._framed(k, change(payload)))


def someone_elses(path, monkeypatch):
    """Make `path` belong to another user (as root: chown; otherwise this process pretends to be another)."""
    if os.geteuid() == 0:
        os.chown(path, OTHER_UID, -1)
    else:
        uid = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: uid + 1)


@contextlib.contextmanager
def deadline(seconds):
    """Fail instead of hanging (a blocking open of a FIFO, an endless read)."""
    def expire(*_):
        raise TimeoutError(f"still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- `graphc cache clear` deletes graphc's files and nothing else ---------------------------------

def test_clear_in_a_project_folder_removes_only_graphcs_entries(tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(project))
    fresh_process(monkeypatch)
    user = {"model.obj": b"user's model", "package.json": b"{}", "results.json": b"[1, 2]", "run.step": b"notes",
            "a" * 64 + ".obj": b"a user's file with graphc's kind of name",
            "b" * 64 + ".obj.abcdefgh.tmp": b"another one", "notes.tmp": b""}
    for name, data in user.items():
        (project / name).write_bytes(data)
    (project / "data").mkdir()
    os.symlink(project / "model.obj", project / ("c" * 64 + ".low"))
    losses(step())
    ours = [n for n in os.listdir(project) if cache.NAME.fullmatch(n) and n[:64] not in ("a" * 64, "b" * 64, "c" * 64)]
    assert sorted(n[64:] for n in ours) == [".key", ".low", ".obj", ".step"]

    assert cli.main(["cache", "clear"]) == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert sorted(os.listdir(project)) == sorted([*user, "data", "c" * 64 + ".low"])
    for name, data in user.items():
        assert (project / name).read_bytes() == data
    assert (project / ("c" * 64 + ".low")).is_symlink()


def test_info_counts_only_graphcs_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))
    fresh_process(monkeypatch)
    losses(step())
    ours = sum(os.path.getsize(tmp_path / n) for n in os.listdir(tmp_path))
    (tmp_path / "model.obj").write_bytes(b"x" * 1000)
    (tmp_path / ("d" * 64 + ".obj")).write_bytes(b"y" * 1000)
    assert (cache.info().entries, cache.info().bytes) == (1, ours)


# --- the folder: private to its user, or not used ---------------------------------------------

def test_the_default_folder_is_created_private(tmp_path, monkeypatch, expected):
    monkeypatch.delenv("GRAPHC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    fresh_process(monkeypatch)
    assert losses(step()) == pytest.approx(expected, rel=1e-5)
    folder = tmp_path / "xdg" / "graphc"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert {stat.S_IMODE(os.stat(folder / n).st_mode) for n in os.listdir(folder)} == {0o600}


def forge_fadd_to_fsub(folder, monkeypatch):
    """Compile the step, then turn every fadd of its cached IR into fsub (checksum recomputed)."""
    losses(step())
    path = entry(folder, ".step")
    rewrite(path, lambda p: p.replace(b"fadd", b"fsub"))
    assert b"fsub" in cache._payload(path.name[:64], ".step")
    fresh_process(monkeypatch)
    return path


@pytest.mark.parametrize("how", ["writable by others", "someone else's"])
def test_a_folder_others_could_write_is_not_used(cache_dir, monkeypatch, expected, how):
    forge_fadd_to_fsub(cache_dir, monkeypatch)
    if how == "writable by others":
        os.chmod(cache_dir, 0o777)
    else:
        someone_elses(cache_dir, monkeypatch)
    before = sorted(os.listdir(cache_dir))
    with pytest.warns(RuntimeWarning, match=r"not using .*(others can write it \(mode 777\)|belongs to uid)"):
        fn = step()
        assert losses(fn) == pytest.approx(expected, rel=1e-5)  # the forged IR was not run
    assert cache.explain(fn).startswith("miss: the disk cache is off (") and "refused" in cache.explain(fn)
    assert sorted(os.listdir(cache_dir)) == before  # nothing written there either
    assert cache.load(entry(cache_dir, ".step").name[:64], ".step") is None


def test_cache_info_says_why_a_folder_is_not_used(cache_dir, capsys):
    os.chmod(cache_dir, 0o775)
    assert cli.main(["cache", "info"]) == 0
    assert f"not in use: {cache_dir} refused: others can write it (mode 775)" in capsys.readouterr().out


# --- entries: yours, no one else can write them, regular files, under the size limit ---------------

@pytest.mark.parametrize("how", ["writable by others", "someone else's"])
def test_an_entry_others_could_have_written_is_refused(cache_dir, monkeypatch, expected, how):
    path = forge_fadd_to_fsub(cache_dir, monkeypatch)
    if how == "writable by others":
        os.chmod(path, 0o666)
    else:
        someone_elses(path, monkeypatch)
    with pytest.warns(RuntimeWarning, match=r"(others can write it \(mode 666\)|belongs to uid)"):
        assert losses(step()) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("suffix", [".step", ".obj"])
def test_a_fifo_in_place_of_an_entry_is_a_miss_not_a_hang(cache_dir, monkeypatch, expected, suffix):
    losses(step())
    path = entry(cache_dir, suffix)
    path.unlink()
    os.mkfifo(path)
    fresh_process(monkeypatch)
    with deadline(30), pytest.warns(RuntimeWarning, match="not a regular file"):
        assert losses(step()) == pytest.approx(expected, rel=1e-5)
        cache.nearest({"ir": ""}), cache.info(), cache.clear()  # nor do listing and clearing hang
    assert stat.S_ISFIFO(os.lstat(path).st_mode)  # not graphc's file: left alone


def test_a_symlink_to_dev_zero_is_a_miss(cache_dir, monkeypatch, expected):
    losses(step())
    path = entry(cache_dir, ".step")
    path.unlink()
    os.symlink("/dev/zero", path)
    fresh_process(monkeypatch)
    with deadline(30), pytest.warns(RuntimeWarning, match="symbolic link"):
        assert losses(step()) == pytest.approx(expected, rel=1e-5)
    assert os.readlink(path) == "/dev/zero"


def test_an_oversized_entry_is_refused_and_none_is_written(cache_dir, monkeypatch, expected):
    losses(step())
    path = entry(cache_dir, ".step")
    monkeypatch.setattr(cache, "MAX_BYTES", path.stat().st_size - 1)
    fresh_process(monkeypatch)
    with pytest.warns(RuntimeWarning, match="over the .*-byte limit"):
        assert losses(step()) == pytest.approx(expected, rel=1e-5)
    monkeypatch.setattr(cache, "MAX_BYTES", 100)
    path.unlink()
    fresh_process(monkeypatch)
    with pytest.warns(RuntimeWarning, match="cannot write .* over the 100-byte limit"):
        losses(step())
    assert not path.exists()


# --- damage a checksum cannot see: rebuilt, never run --------------------------------------------

def step_json(change):
    def edit(payload):
        data = json.loads(payload)
        change(data)
        return json.dumps(data).encode()
    return edit


DAMAGE = {
    "arena_bytes 0": (".step", step_json(lambda e: e["plan"].__setitem__(1, 0)), "outside the 0-byte arena"),
    "an input's shape": (".step", step_json(lambda e: e["buffers"][e["inputs"][0]].__setitem__(1, [2, 3])),
                         "inputs differ"),
    "a view past its buffer": (".step", step_json(lambda e: e["outputs"][0].__setitem__(3, 10 ** 6)),
                               "reaches outside"),
    "n_buffers": (".step", step_json(lambda e: e["lowered"].__setitem__("n_buffers", 1)), "buffers and"),
    "not JSON": (".step", lambda p: p[:-5], "unreadable"),
    "object code cut": (".obj", lambda p: p[:len(p) // 2], "past the file"),
    "section table moved": (".obj", lambda p: p[:0x28] + (len(p) - 64).to_bytes(8, "little") + p[0x30:],
                            "past the file"),
    "lowered IR n_buffers": (".low", step_json(lambda e: e.__setitem__("n_buffers", 1)), "buffers and"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_an_entry_damaged_under_a_matching_checksum_is_rebuilt(cache_dir, monkeypatch, expected, damage):
    suffix, change, why = DAMAGE[damage]
    losses(step())
    if suffix in (".low", ".obj"):  # read only when the whole step is not in the cache
        entry(cache_dir, ".step").unlink()
    path = entry(cache_dir, suffix)
    sound = path.read_bytes()
    rewrite(path, change)
    fresh_process(monkeypatch)
    with pytest.warns(RuntimeWarning, match=why):
        assert losses(step()) == pytest.approx(expected, rel=1e-5)
    assert path.read_bytes() == sound  # rebuilt


# --- the key covers every source file that shapes the code ---------------------------------------

def test_the_source_hash_covers_every_python_file_of_graphc_and_the_backends(tmp_path):
    import graphc
    import graphc.backends
    tops = [shutil.copytree(os.path.dirname(m.__file__), tmp_path / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
            for m, name in ((graphc, "graphc"), (graphc.backends, "backends"))]
    folders = [str(t) for t in tops]
    base = cache.source_hash(folders)
    for rel in ("graphc/ops/random.py", "graphc/schedule/__init__.py", "graphc/passes/__init__.py",
                "graphc/ir/__init__.py", "graphc/function.py", "backends/llvm/codegen.py"):
        original = (tmp_path / rel).read_bytes()
        (tmp_path / rel).write_bytes(original.replace(b"\n", b"\n\n", 1))
        assert cache.source_hash(folders) != base, rel
        (tmp_path / rel).write_bytes(original)
    (tmp_path / "graphc" / "ops" / "new_op.py").write_text("X = 1\n")
    assert cache.source_hash(folders) != base


def test_the_ir_and_step_caches_miss_when_any_source_changes(cache_dir, monkeypatch, expected):
    fn = step(backend="numpy")
    program, graph = fn.kernel_program(X.shape), fn.specialize((X.shape,))
    keys = ircache.fingerprint(program, 64), stepcache.graph_key(graph, "O2")
    monkeypatch.setattr(cache, "sources", lambda: "graphc/ops/random.py edited")  # e.g. the Philox rounds
    assert ircache.fingerprint(program, 64) != keys[0]
    assert stepcache.graph_key(graph, "O2") != keys[1]
