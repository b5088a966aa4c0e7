"""The `graphc` command: info, demo, and errors as one line."""
from __future__ import annotations

import pytest

from graphc import __version__
from graphc.cli import main


def test_info_reports_versions_backends_cpu_gpu_cache(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"graphc {__version__}\n")
    for line in ("python ", "numpy ", "sympy ", "llvmlite ", "networkx ", "backends:", "cpu: ", "cpu features: ",
                 "gpu: "):
        assert f"\n{line}" in out, line
    assert "  numpy " in out and "available" in out
    assert f"cache: {tmp_path / 'cache'} (not created yet)" in out


def test_info_cache_size(capsys, tmp_path, monkeypatch):
    from graphc.backends.llvm import cache
    (tmp_path / ("0" * 64 + ".obj")).write_bytes(cache._framed("0" * 64, b"x" * 2 ** 20))
    (tmp_path / ("1" * 64 + ".obj")).write_bytes(b"x" * 2 ** 20)  # not graphc's: no magic
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))
    main(["info"])
    assert f"cache: {tmp_path} (1 entry, 1.0 MiB)" in capsys.readouterr().out


def test_cache_info_and_clear(capsys, tmp_path, monkeypatch):
    import numpy as np

    import graphc as gc
    from graphc.backends.llvm import runtime
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(runtime, "_MACHINES", {})
    for act in (gc.tanh, gc.sigmoid):
        x = gc.placeholder((4,), name="x")
        gc.function([x], act(x) * 2.0, backend="llvm")(np.ones(4, np.float32))
    size = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert main(["cache", "info"]) == 0
    assert f"cache: {tmp_path} (2 entries, " in capsys.readouterr().out
    assert main(["cache", "clear"]) == 0
    assert capsys.readouterr().out == f"removed 2 entries ({size} bytes) from {tmp_path}\n"
    assert list(tmp_path.iterdir()) == []
    main(["cache", "info"])
    assert f"cache: {tmp_path} (0 entries, 0.0 MiB)" in capsys.readouterr().out


def _demo(capsys, *argv: str) -> tuple[list[int], list[float], str, str]:
    """Run `graphc demo`; return its printed step numbers and losses, and its stdout and stderr."""
    assert main(["demo", *argv, "--backend", "numpy"]) == 0
    out, err = capsys.readouterr()
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("step")]
    return [int(r[1]) for r in rows], [float(r[-1]) for r in rows], out, err


def test_demo_runs_the_steps_it_is_asked_for(capsys):
    steps, losses, out, err = _demo(capsys, "--steps", "5")
    assert out.startswith("graphc demo: sine MLP 2->64->64->1") and "\n5 full-batch steps in" in out
    assert steps == [1, 2, 3, 4, 5] and losses[-1] < losses[0] and err == ""
    steps, _, out, _ = _demo(capsys, "--steps", "20")
    assert steps == [1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20] and "\n20 full-batch steps in" in out


def test_demo_old_epochs_flag_warns_and_means_steps(capsys):
    steps, losses, _, _ = _demo(capsys, "--steps", "3")
    old_steps, old_losses, _, err = _demo(capsys, "--epochs", "3")
    assert (old_steps, old_losses) == (steps, losses)  # same data, weights and count: the same run
    assert err == ("graphc: warning: demo: --epochs is renamed --steps (each step is full-batch, one epoch); "
                   "it still works for now\n")


def test_demo_refuses_a_bad_step_count(capsys):
    for argv in (["--steps", "0"], ["--epochs", "-5"], ["--steps", "ten"]):
        with pytest.raises(SystemExit) as exit_:
            main(["demo", *argv])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(f"graphc: error: demo: argument {argv[0]}: {argv[1]!r} is not ") and err.count("\n") == 1


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"graphc {__version__}\n"


def test_errors_are_one_line(capsys):
    assert main(["demo", "--backend", "bogus"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("graphc: error: ") and err.count("\n") == 1
    assert "unknown backend 'bogus' (fix: use one of" in err
