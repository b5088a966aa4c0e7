"""Every Python code block of README.md and docs/*.md runs, so the guides cannot drift from the code.

The blocks of one file run top to bottom in one fresh namespace (a later block may use an earlier
one's names), in a temporary working directory that looks like the repository root (its top-level
entries are linked in), so whatever a block saves (`model.save("m.npz")`, `gc.viz.save(step,
"g.svg")`) lands there and never in the repository. A block that is deliberately not runnable (it
needs a GPU, or it is a sketch of a class's shape) carries the line `<!-- skip-run: reason -->`
right before its fence; the test counts and reports those. Shell and other blocks are not run.
The runner is docs/regenerate.py's, which also prints the blocks' outputs into the docs.
"""
from __future__ import annotations

import os

import pytest
from docs_regenerate import regenerate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("path", regenerate.doc_files(), ids=os.path.basename)
def test_python_blocks_run(path, monkeypatch, record_property):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        text = f.read()
    ran = regenerate.run_blocks(text, path)
    skipped = [b for b in regenerate.code_blocks(text, path) if b.skip is not None]
    record_property("blocks_run", len(ran))
    record_property("blocks_skipped", len(skipped))
    print(f"{path}: {len(ran)} Python block(s) ran, {len(skipped)} skipped"
          + "".join(f"\n  skipped line {b.line}: {b.skip}" for b in skipped))


def test_blocks_and_skip_markers_are_parsed():
    text = ("a\n<!-- skip-run: needs a GPU -->\n```python\nimport cupy\n```\n\n```bash\nls\n```\n"
            "  ```python\n  x = 1\n  ```\n")
    blocks = regenerate.code_blocks(text, "t.md")
    assert [(b.lang, b.line, b.end, b.skip, b.runs) for b in blocks] == [
        ("python", 3, 5, "needs a GPU", False), ("bash", 7, 9, None, False), ("python", 10, 12, None, True)]
    assert blocks[0].code == "import cupy\n" and blocks[2].code == "x = 1\n"
    with pytest.raises(ValueError, match="not right before"):
        regenerate.code_blocks("<!-- skip-run: why -->\n\n```python\nx\n```\n", "t.md")
    with pytest.raises(ValueError, match="needs a reason"):
        regenerate.code_blocks("<!-- skip-run: -->\n```python\nx\n```\n", "t.md")
    with pytest.raises(ValueError, match="never closed"):
        regenerate.code_blocks("```python\nx\n", "t.md")


def test_blocks_share_a_namespace_write_outside_the_repository_and_fail_on_their_line():
    text = ("```python\nimport os\nopen('out.txt', 'w').write('x')\nn = 41\n```\n"
            "```python\nprint(n + 1, os.path.isdir('docs'), os.path.exists('out.txt'))\n```\n")
    (_, first), (_, second) = regenerate.run_blocks(text, "t.md")
    assert (first, second) == ("", "42 True True\n")
    assert not os.path.exists(os.path.join(ROOT, "out.txt"))
    with pytest.raises(ZeroDivisionError) as failure:
        regenerate.run_blocks("text\n\n```python\nx = 1\ny = x / 0\n```\n", "t.md")
    assert failure.traceback[-1].lineno + 1 == 5  # line 5 of t.md (pytest counts from 0)
