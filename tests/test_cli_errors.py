"""Every `graphc` subcommand: a bad argument or a failure is one `graphc: error:` line, exit status 2 or 1.

Usage errors (2) are refused before any work; failures while running (1) never show a traceback.
"""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig

import pytest

from graphc import cli
from graphc.cli import main

USAGE, FAILED = 2, 1
SCRIPTS = {
    "raises.py": "import graphc as gc\nx = gc.placeholder((3,))\nraise ValueError('boom')\n",
    "syntax.py": "import graphc as gc\nx = (\n",
    "exits.py": "import sys\nsys.exit(3)\n",
    "declares.py": "import graphc as gc\nx = gc.placeholder((3,))\ny = gc.reshape(x, (2, 2))\n",
    "good.py": "import graphc as gc\nx = gc.placeholder((3,), name='x')\ny = gc.exp(x) * 2.0\n",
}


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A working folder with the scripts above, a file named `afile` and a folder named `adir.html`."""
    for name, text in SCRIPTS.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "adir.html").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """`graphc argv` in this process: (exit status, stdout, stderr)."""
    try:
        status = main(argv)
    except SystemExit as e:  # argparse's way out, for usage errors and --help
        status = e.code
    out, err = capsys.readouterr()
    return status, out, err


CASES = [
    # (command line, exit status, what the one line says)
    (["demo", "--steps", "-5"], USAGE, "demo: argument --steps: '-5' is not a positive whole number"),
    (["demo", "--steps", "0"], USAGE, "'0' is not a positive whole number"),
    (["demo", "--steps", "ten"], USAGE, "'ten' is not a whole number"),
    (["demo", "--seed", "-1"], USAGE, "demo: argument --seed: '-1' is negative"),
    (["demo", "--bogus"], USAGE, "unrecognized arguments: --bogus"),
    (["demo", "--steps", "1", "--backend", "bogus"], FAILED, "unknown backend 'bogus' (fix: use one of"),
    (["info", "extra"], USAGE, "unrecognized arguments: extra"),
    (["cache", "bogus"], USAGE, "cache: argument action: invalid choice: 'bogus'"),
    ([], USAGE, "the following arguments are required: command"),
    (["nonsense"], USAGE, "invalid choice: 'nonsense'"),
    (["compare-diff", "--max-depth", "-1"], USAGE, "compare-diff: argument --max-depth: '-1' is not a positive"),
    (["compare-diff", "--methods", ""], USAGE, "argument --methods: unknown ''"),
    (["compare-diff", "--methods", "reverse,bogus"], USAGE, "unknown bogus; choose from symbolic,reverse,"),
    (["compare-diff", "--max-tree", "-5"], USAGE, "argument --max-tree: '-5' is not a positive whole number"),
    (["compare-diff", "--sweep-depth", "-2"], USAGE, "argument --sweep-depth: '-2' is not a positive whole number"),
    (["compare-diff", "--width", "0"], USAGE, "argument --width: '0' is not a positive whole number"),
    (["compare-diff", "--max-seconds", "nan"], USAGE, "argument --max-seconds: 'nan' is not a positive number"),
    (["compare-diff", "--report", "afile"], USAGE, "argument --report: 'afile' is a file, not a folder"),
    (["compare-diff", "--report", "afile/sub"], USAGE, "'afile/sub' cannot be made"),
    (["compare-diff", "--family", "bogus"], USAGE, "argument --family: invalid choice: 'bogus'"),
    (["viz", "good.py:y"], USAGE, "the following arguments are required: --out"),
    (["viz", "good.py:y", "--out", "missing/g.html"], USAGE, "--out: the folder of 'missing/g.html' does not exist"),
    (["viz", "good.py:y", "--out", "afile"], USAGE, "cannot tell the format of 'afile'"),
    (["viz", "good.py:y", "--out", "adir.html"], USAGE, "argument --out: 'adir.html' is a folder; give a file name"),
    (["viz", "good.py:y", "--out", "g.txt"], USAGE, "cannot tell the format of 'g.txt'"),
    (["viz", "good.py:y", "--out", "g.dot", "--depth", "-1"], USAGE, "argument --depth: '-1' is negative"),
    (["viz", "good.py", "--out", "g.dot"], FAILED, "viz: expected PATH/TO/script.py:object"),
    (["viz", "nothere.py:y", "--out", "g.dot"], FAILED, "viz: no script at 'nothere.py'"),
    (["viz", "good.py:z", "--out", "g.dot"], FAILED,
     "good.py defines no 'z' (fix: it defines these drawable objects: x, y"),
    (["viz", "good.py:y", "--stage", "bogus", "--out", "g.dot"], FAILED, "bogus"),
    (["viz", "raises.py:x", "--out", "g.dot"], FAILED,
     "raises.py:3: viz: the script raises.py raised ValueError: boom"),
    (["viz", "syntax.py:x", "--out", "g.dot"], FAILED, "syntax.py:2: viz: the script syntax.py has a syntax error"),
    (["viz", "exits.py:x", "--out", "g.dot"], FAILED, "exits.py:2: viz: the script exits.py exited (sys.exit(3))"),
    (["viz", "declares.py:y", "--out", "g.dot"], FAILED, "declares.py:3: reshape: cannot reshape float32[3]"),
    (["bench", "--threads", "-1"], USAGE, "bench: argument --threads: '-1' is not a positive whole number"),
    (["bench", "--rounds", "0"], USAGE, "argument --rounds: '0' is not a positive whole number"),
    (["bench", "--workloads", ""], USAGE, "argument --workloads: unknown ''"),
    (["bench", "--json", "adir.html"], USAGE, "argument --json: 'adir.html' is a folder"),
    (["bench", "--json", "missing/r.json"], USAGE, "the folder of 'missing/r.json' does not exist"),
]


@pytest.mark.parametrize("argv, status, message", CASES, ids=[" ".join(c[0]) or "(nothing)" for c in CASES])
def test_every_failure_is_one_line_with_its_exit_status(folder, capsys, argv, status, message):
    code, out, err = run(argv, capsys)
    assert code == status
    assert err.startswith("graphc: error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert "Traceback" not in out + err
    assert sorted(os.listdir(folder)) == sorted([*SCRIPTS, "afile", "adir.html"])  # nothing written


@pytest.mark.parametrize("raised, line", [
    (OSError(28, "No space left on device", "/data/g.html"), "graphc: error: /data/g.html: No space left on device\n"),
    (RuntimeError("two\nlines"), "graphc: error: RuntimeError: two lines (this is a bug in graphc: please report it"),
    (KeyboardInterrupt(), "graphc: error: interrupted\n"),
])
def test_failures_outside_graphc_errors_are_one_line_too(folder, capsys, monkeypatch, raised, line):
    def fail(args):
        raise raised
    monkeypatch.setattr(cli, "info", fail)
    code, _, err = run(["info"], capsys)
    assert code == (130 if isinstance(raised, KeyboardInterrupt) else FAILED)
    assert err.startswith(line) and err.count("\n") == 1


def test_graphc_traceback_shows_a_bug(folder, capsys, monkeypatch):
    monkeypatch.setenv("GRAPHC_TRACEBACK", "1")
    monkeypatch.setattr(cli, "info", lambda args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        main(["info"])
    assert capsys.readouterr().err.startswith("graphc: error: ZeroDivisionError: division by zero")


def test_good_arguments_still_run(folder, capsys):
    assert run(["viz", "good.py:y", "--out", "g.dot", "--depth", "0"], capsys)[:2] == (0, "wrote g.dot\n")
    assert "exp" in (folder / "g.dot").read_text()


def test_the_installed_script_prints_one_line_and_exits_2():
    script = os.path.join(sysconfig.get_path("scripts"), "graphc")
    assert os.access(script, os.X_OK), f"the graphc script is not installed at {script}"
    done = subprocess.run([script, "demo", "--steps", "-5"], capture_output=True, text=True, timeout=120)
    assert done.returncode == USAGE and done.stdout == ""
    assert done.stderr == ("graphc: error: demo: argument --steps: '-5' is not a positive whole number "
                           "(see graphc demo --help)\n")
    done = subprocess.run([sys.executable, "-m", "graphc.cli", "viz", "/no/script.py:x", "--out", "g.dot"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == FAILED and done.stderr == "graphc: error: viz: no script at '/no/script.py'\n"
