"""The documentation: the site builds in strict mode, and the guides' code blocks run."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNABLE = ["index.md", "api-guide.md", "autodiff.md"]


def python_blocks(page: str) -> list[str]:
    with open(os.path.join(ROOT, "docs", page), encoding="utf-8") as f:
        return re.findall(r"^```python\n(.*?)^```", f.read(), re.S | re.M)


@pytest.mark.parametrize("page", RUNNABLE)
def test_code_blocks_run(page):
    blocks = python_blocks(page)
    assert blocks, f"docs/{page} has no python blocks"
    if page == "index.md":
        pytest.importorskip("sklearn")  # the classifier example loads the digits
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/{page} block {i + 1}", "exec"), {"__name__": f"docs_{i}"})


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None,
                    reason="mkdocs and mkdocstrings are not installed: pip install '.[docs]'")
def test_site_builds_strict(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "reference" / "index.html").exists()
