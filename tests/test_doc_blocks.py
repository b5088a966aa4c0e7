"""Every Python code block of README.md and docs/*.md runs, so the guides cannot drift from the code.

The blocks of one file run top to bottom in one fresh namespace (a later block may use an earlier
one's names), in a temporary working directory, so whatever a block saves (`model.save("m.npz")`,
`gc.viz.save(step, "g.svg")`) lands there and never in the repository. A block that is deliberately
not runnable (it needs a GPU, or it is a sketch of a class's shape) carries the line
`<!-- skip-run: reason -->` right before its fence; the test counts and reports those. Shell and
other non-Python blocks are not run.
"""
from __future__ import annotations

import dataclasses
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC_FILES = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(os.path.join(ROOT, "docs"))
                                   if f.endswith(".md"))
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
SKIP = re.compile(r"^\s*<!--\s*skip-run:(.*?)-->\s*$")


@dataclasses.dataclass
class Block:
    lang: str
    line: int           # 1-based line of the opening fence
    code: str
    skip: str | None    # the skip-run reason, or None when the block runs


def code_blocks(text: str, where: str) -> list[Block]:
    """The fenced blocks of a Markdown text, with the skip-run reason written right before each."""
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        indent, fence, lang = opened.groups()
        start, body = i, []
        i += 1
        while i < len(lines) and not re.match(rf"^\s*{fence[0]}{{{len(fence)},}}\s*$", lines[i]):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        assert i < len(lines), f"{where}:{start + 1}: the code block is never closed"
        marker = SKIP.match(lines[start - 1]) if start else None
        reason = marker.group(1).strip() if marker else None
        assert reason != "", f"{where}:{start}: skip-run needs a reason: <!-- skip-run: needs an NVIDIA GPU -->"
        blocks.append(Block(lang.lower(), start + 1, "\n".join(body) + "\n", reason))
        i += 1
    markers = [n + 1 for n, line in enumerate(lines) if SKIP.match(line)]
    stray = [n for n in markers if not any(b.line == n + 1 and b.lang == "python" for b in blocks)]
    assert not stray, f"{where}: skip-run marker(s) on line(s) {stray} are not right before a ```python fence"
    return blocks


def python_blocks(path: str) -> list[Block]:
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return [b for b in code_blocks(f.read(), path) if b.lang in ("python", "py", "python3")]


@pytest.mark.parametrize("path", DOC_FILES, ids=os.path.basename)
def test_python_blocks_run(path, tmp_path, monkeypatch, record_property):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    blocks = python_blocks(path)
    namespace: dict = {"__name__": "__main__"}
    for block in blocks:
        if block.skip is None:
            # pad with blank lines so a traceback names the line of the .md file
            exec(compile("\n" * block.line + block.code, path, "exec"), namespace)
    skipped = [f"line {b.line}: {b.skip}" for b in blocks if b.skip is not None]
    record_property("blocks_run", len(blocks) - len(skipped))
    record_property("blocks_skipped", len(skipped))
    print(f"{path}: {len(blocks) - len(skipped)} block(s) ran, {len(skipped)} skipped"
          + "".join(f"\n  skipped {s}" for s in skipped))


def test_skip_markers_are_parsed():
    text = "a\n<!-- skip-run: needs a GPU -->\n```python\nimport cupy\n```\n\n```bash\nls\n```\n```python\nx = 1\n```\n"
    blocks = code_blocks(text, "t.md")
    assert [(b.lang, b.line, b.skip) for b in blocks] == [("python", 3, "needs a GPU"), ("bash", 7, None),
                                                          ("python", 10, None)]
    assert blocks[0].code == "import cupy\n"
    with pytest.raises(AssertionError, match="not right before"):
        code_blocks("<!-- skip-run: why -->\n\n```python\nx\n```\n", "t.md")
    with pytest.raises(AssertionError, match="needs a reason"):
        code_blocks("<!-- skip-run: -->\n```python\nx\n```\n", "t.md")
    with pytest.raises(AssertionError, match="never closed"):
        code_blocks("```python\nx\n", "t.md")
