"""The wheel installs `backends/` as `graphc.backends` and nothing at the top level but graphc."""
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_layout(tmp_path):
    # --no-build-isolation: the build uses this environment's setuptools (the dev extra brings one with
    # bdist_wheel) instead of downloading one, since tests download nothing
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert built.returncode == 0, f"pip wheel failed (pip install -e '.[dev]' brings setuptools>=70.1):\n{built.stderr}"
    (wheel,) = tmp_path.glob("graphc-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"graphc"}
    assert "graphc/backends/__init__.py" in names and "graphc/backends/numpy/interpreter.py" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "graphc = graphc.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_backends_import_as_graphc_backends():
    import graphc.backends.numpy
    assert graphc.backends.numpy.BACKEND.name == "numpy"
    assert graphc.backends.status()["numpy"] is None
