"""The numbers, outputs and pictures the docs publish are what `python docs/regenerate.py` computes now."""
from __future__ import annotations

import os

import numpy as np
import pytest
from docs_regenerate import regenerate


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
    dots = {"g": "digraph { a -> b }"}
    (tmp_path / "g.svg").write_text("<svg/>")
    assert regenerate.svg_problems(dots) == ["docs/images/g.svg was not rendered from docs/images/g.dot"]
    (tmp_path / "g.svg").write_text(regenerate.stamp("digraph { a -> b }") + "<svg/>")
    assert regenerate.svg_problems(dots) == []
    assert regenerate.svg_problems({"g": "digraph { b -> a }"}) != []


def test_pictures_do_not_depend_on_what_the_process_declared_before():
    import graphc as gc
    clash = gc.constant(np.float32(0.1))  # equal to the example's 0.1: one node, declared here first
    dots = regenerate.pictures()
    with open(os.path.join(regenerate.ROOT, "examples", "visualize_mlp.py")) as f:
        line = next(i for i, text in enumerate(f, 1) if text.startswith("step = "))
    assert f"examples/visualize_mlp.py:{line}: step = " in dots["mlp_gradients"]
    assert "test_regenerate" not in dots["mlp_gradients"] and clash is not None
