"""The numbers, outputs and pictures the docs publish are what `python docs/regenerate.py` computes now."""
from __future__ import annotations

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("regenerate", os.path.join(ROOT, "docs", "regenerate.py"))
regenerate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regenerate)


def test_committed_docs_are_current():
    diffs = regenerate.stale()
    assert not diffs, "\n".join(diffs) + "\nthe docs are stale: run python docs/regenerate.py"


def test_output_regions_hold_what_the_block_above_printed():
    text = ("```python\nprint(6 * 7)\n```\n\n<!-- generated:output -->\nstale\n<!-- /generated:output -->\n"
            "<!-- skip-run: not run -->\n```python\nprint('never')\n```\n"
            "```python\nx = 2\nprint(x + 1)\n```\ntext\n<!-- generated:output -->\n<!-- /generated:output -->\n")
    fresh = regenerate.regenerated("t.md", text)
    assert fresh.count("```text\n42\n```\n") == 1 and fresh.count("```text\n3\n```\n") == 1
    assert "stale" not in fresh and "never" not in fresh.replace("print('never')", "")
    assert regenerate.regenerated("t.md", fresh) == fresh


def test_unknown_region_names_the_fix():
    with pytest.raises(SystemExit, match="no generator named 'nope'.*GENERATORS"):
        regenerate.regenerated("t.md", "<!-- generated:nope -->\n<!-- /generated:nope -->\n")


def test_a_picture_not_rendered_from_its_dot_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(regenerate, "IMAGES", str(tmp_path))
    monkeypatch.setattr(regenerate, "pictures", lambda: {"g": "digraph { a -> b }"})
    (tmp_path / "g.dot").write_text("digraph { a -> b }")
    (tmp_path / "g.svg").write_text("<svg/>")
    assert regenerate.svg_problems() == ["docs/images/g.svg was not rendered from docs/images/g.dot"]
    (tmp_path / "g.svg").write_text(regenerate.stamp("digraph { a -> b }") + "<svg/>")
    assert regenerate.svg_problems() == []
