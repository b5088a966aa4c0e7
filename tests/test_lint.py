"""The tree is lint-clean under the Ruff configuration in pyproject.toml (pycodestyle, pyflakes, bugbear)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, f"ruff check . found (fix them, or say why in a noqa):\n{done.stdout}{done.stderr}"
