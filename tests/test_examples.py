"""Every example runs as `--quick --out DIR`, writes exactly the files it announces, all under DIR
(the source tree stays as it was), and shows what it claims."""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from shared import MPIEXEC, mpiexec_env

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
#: every example script (examples/_common.py is their shared helper, not an example)
SCRIPTS = sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.py")
                 if not p.name.startswith("_") and "out" not in p.relative_to(EXAMPLES).parts)

pytest.importorskip("matplotlib")


def source_tree() -> dict[str, tuple[int, int]]:
    """Every file of the repository (all but .git and Python's __pycache__): path -> (size, mtime)."""
    files = {}
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in (".git", "__pycache__")]
        for name in names:
            stat = os.stat(os.path.join(folder, name))
            files[os.path.join(folder, name)] = (stat.st_size, stat.st_mtime_ns)
    return files


def load(script: str, monkeypatch):
    """Import examples/<script> as a module (its folder is no package; _common comes from examples/)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{Path(script).stem}", EXAMPLES / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(script: str, tmp_path: Path, capsys, monkeypatch, *options: str):
    """Run examples/<script> as `--quick --out <tmp>/out [options]` from the repository root; check it wrote
    exactly what it announced (`wrote PATH` lines), all under that folder, and nothing anywhere else.
    Return what its main returned and the announced paths."""
    monkeypatch.chdir(ROOT)  # where the README runs them: a write relative to the working folder would show
    module = load(script, monkeypatch)
    out = tmp_path / "out"  # missing: the example makes it
    before = source_tree()
    result = module.main(["--quick", "--out", str(out), *options])
    announced = [line.removeprefix("wrote ") for line in capsys.readouterr().out.splitlines()
                 if line.startswith("wrote ")]
    assert sorted(announced) == sorted(str(p) for p in out.rglob("*") if p.is_file()), "announced != written"
    assert announced and all(os.path.getsize(p) > 0 for p in announced)
    assert list(tmp_path.iterdir()) == [out]
    assert source_tree() == before, "the example changed the source tree"
    return result, announced


def names(paths: list[str]) -> list[str]:
    return sorted(os.path.basename(p) for p in paths)


def test_every_example_is_tested():
    tested = {name.removeprefix("test_").split("__")[0] for name in globals() if name.startswith("test_")}
    untested = [s for s in SCRIPTS if s.replace("/", "_").removesuffix(".py") not in tested]
    assert not untested, f"add a test_<name> for {untested}"


def test_every_example_takes_out_and_quick():
    for script in SCRIPTS:
        text = (EXAMPLES / script).read_text()
        assert "parse_args(__doc__, argv" in text and "sys.argv" not in text, script
        assert "[--out DIR] [--quick]" in text, f"{script}: its docstring's command line"


def test_perceptron_linear_regression(tmp_path, capsys, monkeypatch):
    r, files = run("perceptron_linear_regression.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["perceptron_linear_regression.png"]
    assert r["perceptron_accuracy"] == 1.0
    assert r["coef_gap"] < 1e-3 and abs(r["loss_gap"]) < 1e-6


def test_linear_mlp_is_linear(tmp_path, capsys, monkeypatch):
    r, files = run("linear_mlp_is_linear.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["linear_mlp_is_linear.png"]
    assert r["coef_gap"] < 1e-4 and abs(r["loss_gap"]) < 1e-8


def test_sine_fit(tmp_path, capsys, monkeypatch):
    r, files = run("sine_fit.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["sine_fit.png"]
    assert r["relu"] < r["sigmoid"] and r["relu"] < 0.05


def test_universal_approximation(tmp_path, capsys, monkeypatch):
    errors, files = run("universal_approximation.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["universal_approximation.png"]
    assert errors[32] < errors[2] / 3 and errors[128] < errors[2] / 3
    assert min(errors[32], errors[128]) < 0.2


def test_optimizers_compared(tmp_path, capsys, monkeypatch):
    final, files = run("optimizers_compared.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["optimizers_compared.png"]
    assert set(final) == {"SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam"}
    assert final["Adam"] < final["SGD"] and final["Nesterov"] < final["SGD"]


def test_overfitting(tmp_path, capsys, monkeypatch):
    gaps, files = run("overfitting.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["overfitting.png"]
    for cure in ("L2", "dropout", "early stopping"):
        assert gaps[cure] < gaps["none"] / 2, cure


def test_digits_metrics(tmp_path, capsys, monkeypatch):
    r, files = run("digits_metrics.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["digits_confusion.png"]
    assert r["accuracy"] >= 0.95
    assert r["F1_micro"] == pytest.approx(r["accuracy"]) and r["F1_macro"] >= 0.94


def test_backprop_by_hand(tmp_path, capsys, monkeypatch):
    r, files = run("backprop_by_hand.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["backprop_by_hand.html"]
    assert r["max_difference"] < 1e-6
    assert "sigmoid" in Path(files[0]).read_text()  # the gradient graph's page
    assert "\ndb2 = t2\n" in r["gradient_text"]  # the gradient graph was printed, outputs by name


def test_cnn_digits(tmp_path, capsys, monkeypatch):
    r, files = run("cnn_digits.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["cnn_digits.png"]
    assert r["accuracy"] >= 0.85 and r["last_loss"] < r["first_loss"] / 3  # 3 epochs; 12 reach ~98%


def test_distributed_mnist(tmp_path):
    """Its point is `mpiexec -n 2`, so it runs so, in a subprocess (only with the optional extra)."""
    pytest.importorskip("mpi4py", reason="the example needs the optional extra: pip install 'graphc[mpi]'")
    if MPIEXEC is None:
        pytest.skip("no mpiexec on PATH (the mpich wheel of graphc[mpi] brings one)")
    out = tmp_path / "out"
    before = source_tree()
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "examples/distributed_mnist.py", "--quick",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=mpiexec_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    announced = [line.removeprefix("wrote ") for line in proc.stdout.splitlines() if line.startswith("wrote ")]
    assert sorted(announced) == sorted(str(p) for p in out.rglob("*") if p.is_file())  # rank 0 wrote each once
    assert names(announced) == ["distributed_mnist.npz", "distributed_mnist.png"]
    accuracy = float(re.search(r"2 ranks, global batch 64: test accuracy ([\d.]+)%", proc.stdout).group(1))
    assert accuracy >= 70  # 2 epochs; 10 reach ~96%
    assert source_tree() == before


def test_lstm_sequence(tmp_path, capsys, monkeypatch):
    r, files = run("lstm_sequence.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["lstm_sequence.png"]
    assert r["accuracy"] >= 0.8 and r["last_loss"] < r["first_loss"] / 3  # 150 steps; 500 reach ~98%


def test_lstm_sequence__measure(tmp_path, capsys, monkeypatch):
    r, files = run("lstm_sequence.py", tmp_path, capsys, monkeypatch, "--measure")
    assert names(files) == ["lstm_measure.md"]
    (scan8, unrolled8), (scan32, unrolled32) = r["nodes"][8], r["nodes"][32]
    assert scan8 == scan32 and unrolled32 > 3 * unrolled8  # one scan node against a graph per step
    assert Path(files[0]).read_text().splitlines()[2].startswith(f"| 8 | {scan8} | ")


def test_attention_toy(tmp_path, capsys, monkeypatch):
    r, files = run("attention_toy.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["attention_toy.png"]
    assert r["accuracy"] >= 0.95


def test_diff_simplest_mlp(tmp_path, capsys, monkeypatch):
    r, files = run("diff_simplest_mlp.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["fd_sweep.png", "report.md"]
    assert r["chain_rule_matches"] == 4 and r["reverse_rel_err"] < 1e-12


def test_expression_swell(tmp_path, capsys, monkeypatch):
    r, files = run("expression_swell.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["report.md", "sizes.png"]
    for family in ("iterated sin(x)*x", "logistic map"):
        reverse, tree = r[family]["reverse"], [t for t in r[family]["symbolic_tree"] if t is not None]
        assert len({b - a for a, b in zip(reverse, reverse[1:])}) == 1, family  # reverse mode: linear in depth
        assert len(tree) >= 4 and all(b >= 2 * a for a, b in zip(tree, tree[1:])), family  # symbolic: doubles


def test_diff_mlp_blowup(tmp_path, capsys, monkeypatch):
    r, files = run("diff_mlp_blowup.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["report.md", "sizes.png"]
    assert r["depths"] == [1, 2, 3, 4] and None in r["symbolic_tree"]  # symbolic hits its limit; reverse does not
    assert all(ratio <= 13 / 3 for ratio in r["reverse_over_forward"])


def test_visualize_mlp(tmp_path, capsys, monkeypatch):
    written, files = run("visualize_mlp.py", tmp_path, capsys, monkeypatch)
    assert written == files
    assert {"mlp_forward.svg", "mlp_gradients.svg", "mlp_path_w1.svg", "mlp.html"} <= set(names(files))
    assert "<svg" in Path(files[0]).read_text() and ">w1<" in Path(files[0]).read_text()


def test_visualize_lenet(tmp_path, capsys, monkeypatch):
    written, files = run("visualize_lenet.py", tmp_path, capsys, monkeypatch)
    assert written == files and sorted(names(files)) == ["lenet.dot", "lenet.html"]
    dot, page = (Path(f).read_text() for f in sorted(files))
    assert "cluster_" in dot and '"features.0\\n' in dot and "Adam" not in dot  # opened one level, no optimizer
    assert page.count('"kind":"pass"') >= 3 and '"name":"kernel program"' in page


@pytest.mark.skipif(not any(shutil.which(c) for c in ("cc", "gcc", "clang")) and not os.environ.get("CC"),
                    reason="no C compiler (cc, gcc, clang or $CC) to link the library")
def test_c_export_mlp(tmp_path, capsys, monkeypatch):
    _, files = run("c/export_mlp.py", tmp_path, capsys, monkeypatch)
    assert names(files) == ["libmlp.so", "mlp.h"]
    assert "int graphc_mlp_run(graphc_mlp_state *state" in (tmp_path / "out" / "mlp.h").read_text()


def test_an_out_that_is_a_file_is_a_usage_error(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit) as exit_:
        load("sine_fit.py", monkeypatch).main(["--quick", "--out", str(tmp_path / "file")])
    assert exit_.value.code == 2 and "is a file, not a folder" in capsys.readouterr().err

