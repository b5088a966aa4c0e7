"""Recompute the numbers, outputs and pictures the docs publish, so they come from running code.

    python docs/regenerate.py            # rewrite the generated regions and pictures
    python docs/regenerate.py --check    # exit 1 with a diff when the committed docs are stale

A generated region of a Markdown file sits between `<!-- generated:NAME -->` and
`<!-- /generated:NAME -->`:

- `NAME = output`: what the nearest Python block above printed, the file's blocks run top to bottom
  in one namespace as tests/test_doc_blocks.py runs them (a temporary working directory);
- any other NAME: the text of `GENERATORS[NAME]` below (each NAME once across the docs).

Pictures: each entry of `PICTURES` is written as `docs/images/NAME.dot`, the graph description
that `gc.viz.to_dot` gives for the lecture's MLP of examples/visualize_mlp.py, and rendered to
`NAME.svg` with Graphviz's `dot` (the SVG is stamped with the sha256 of its DOT). `--check`
compares the DOT text, not the pixels, and that each SVG's stamp matches its DOT.

Only deterministic results belong here. Timings (docs/benchmarks.md, compile seconds) differ from
run to run and machine to machine: they come from the benchmark scripts and examples the docs name
(`graphc bench`, `benchmarks/run.py`, `examples/lstm_sequence.py --measure`) and are pasted by hand
with the command and machine that measured them.
"""
from __future__ import annotations

import argparse
import contextlib
import difflib
import hashlib
import io
import os
import re
import runpy
import sys
import tempfile
from typing import Callable

DOCS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DOCS)
IMAGES = os.path.join(DOCS, "images")
REGION = re.compile(r"^<!-- generated:([\w.-]+) -->\n(.*?)^<!-- /generated:\1 -->$", re.S | re.M)
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```$", re.S | re.M)
SKIP = re.compile(r"<!--\s*skip-run:.*?-->\s*$")
STAMP = "<!-- graphc-dot-sha256: {} -->"


def doc_files() -> list[str]:
    """README.md and docs/*.md, as paths relative to the repository root."""
    return ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(DOCS) if f.endswith(".md"))


def fenced(text: str, lang: str = "text") -> str:
    return f"```{lang}\n{text.rstrip()}\n```\n"


# -- outputs of the docs' own code blocks ---------------------------------------------------------

def block_outputs(text: str, path: str) -> dict[int, str]:
    """{offset of each runnable Python block's end: what it printed}, run as the docs test runs them."""
    outputs: dict[int, str] = {}
    namespace: dict = {"__name__": "__main__"}
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            for match in FENCE.finditer(text):
                before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
                if SKIP.match(before):
                    continue
                line = text.count("\n", 0, match.start()) + 1
                printed = io.StringIO()
                with contextlib.redirect_stdout(printed):
                    exec(compile("\n" * line + match.group(1), path, "exec"), namespace)
                outputs[match.end()] = printed.getvalue()
        finally:
            os.chdir(here)
    return outputs


# -- named generators -----------------------------------------------------------------------------

def lstm_node_counts() -> str:
    """networks.md: nodes of an LSTM's forward + gradient graph, scanned and unrolled, per length."""
    import graphc as gc
    from graphc import nn
    from graphc.ops.loop import node_count

    def nodes(length: int, unroll: bool) -> int:
        lstm = nn.LSTM(4, 16, unroll=unroll, rng=0)
        cost = gc.sum(lstm(gc.placeholder((8, length, 4))))
        return node_count([cost] + gc.grad(cost, lstm.parameters()))
    rows = [f"| {n} | {nodes(n, False)} | {nodes(n, True)} |" for n in (8, 64, 512)]
    return "\n".join(["| length | scan nodes | unrolled nodes |", "|---:|---:|---:|", *rows]) + "\n"


def fused_kernels() -> str:
    """visualization.md: the fused kernels of the MLP's training step, each with its formula."""
    from graphc.viz.stages import run_stage
    _, clusters = run_stage("fused", mlp()["step"].graph)
    return fenced("\n".join(f"{c.name:16} {c.formula}" for c in clusters))


def passes_pipeline() -> str:
    """passes.md: the optimizer's pipeline in order, from `graphc.passes.PIPELINE`."""
    from graphc.passes import PIPELINE
    rows = [f"| {i} | `{p.name}` | {p.phase} | O{p.level} | {p.doc} |" for i, p in enumerate(PIPELINE, 1)]
    return "\n".join(["| # | pass | phase | from level | does |", "|---:|---|---|---|---|", *rows]) + "\n"


GENERATORS: dict[str, Callable[[], str]] = {
    "lstm-node-counts": lstm_node_counts,
    "fused-kernels": fused_kernels,
    "passes-pipeline": passes_pipeline,
}


# -- pictures -------------------------------------------------------------------------------------

_MLP: dict = {}


def mlp() -> dict:
    """The namespace of examples/visualize_mlp.py, run from the repository root so the drawings'
    source lines read `examples/visualize_mlp.py:N` wherever the repository lives."""
    if not _MLP:
        here = os.getcwd()
        os.chdir(ROOT)
        try:
            _MLP.update(runpy.run_path(os.path.join("examples", "visualize_mlp.py"), run_name="visualize_mlp"))
        finally:
            os.chdir(here)
    return _MLP


def pictures() -> dict[str, str]:
    """{picture name: DOT text} for the pictures of docs/visualization.md."""
    import graphc as gc
    g = mlp()
    layer1 = {"layer 1": [g["w1"] * g["x"], g["w1"] * g["x"] + g["b1"], g["n"]]}
    return {
        "mlp_forward": gc.viz.to_dot(g["L"]),
        "mlp_gradients": gc.viz.to_dot(g["step"], stage="gradients"),
        "mlp_path_w1": gc.viz.to_dot(g["step"], stage="gradients", highlight=(g["w1"], g["L"]), groups=layer1),
        "mlp_optimized": gc.viz.to_dot(g["step"], stage="optimized"),
        "mlp_fused": gc.viz.to_dot(g["step"], stage="fused"),
    }


def stamp(dot_text: str) -> str:
    return STAMP.format(hashlib.sha256(dot_text.encode()).hexdigest())


# -- checking and writing -------------------------------------------------------------------------

def regenerated(path: str, text: str) -> str:
    """`text` with every generated region recomputed."""
    regions = list(REGION.finditer(text))
    outputs = block_outputs(text, path) if any(m.group(1) == "output" for m in regions) else {}
    pieces, last = [], 0
    for m in regions:
        name = m.group(1)
        if name == "output":
            above = [end for end in outputs if end <= m.start()]
            if not above:
                raise SystemExit(f"{path}: a generated:output region has no runnable Python block above it")
            body = fenced(outputs[max(above)])
        elif name in GENERATORS:
            body = GENERATORS[name]()
        else:
            raise SystemExit(f"{path}: no generator named {name!r}: add it to GENERATORS in docs/regenerate.py")
        pieces += [text[last:m.start(2)], body]
        last = m.end(2)
    return "".join(pieces) + text[last:]


def expected_files() -> dict[str, str]:
    """{path relative to the repository root: the text it should have} for every generated file."""
    files = {}
    names: list[str] = []
    for path in doc_files():
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            text = f.read()
        names += [m.group(1) for m in REGION.finditer(text) if m.group(1) != "output"]
        files[path] = regenerated(path, text)
    twice = sorted({n for n in names if names.count(n) > 1})
    unused = sorted(set(GENERATORS) - set(names))
    if twice or unused:
        raise SystemExit(f"generated regions used twice: {twice}; generators used nowhere: {unused}")
    for name, dot_text in pictures().items():
        files[os.path.join("docs", "images", f"{name}.dot")] = dot_text
    return files


def svg_problems() -> list[str]:
    """The pictures whose SVG is missing or was not rendered from the committed DOT."""
    problems = []
    for name in pictures():
        with open(os.path.join(IMAGES, f"{name}.dot"), encoding="utf-8") as f:
            dot_text = f.read()
        svg = os.path.join(IMAGES, f"{name}.svg")
        if not os.path.exists(svg) or stamp(dot_text) not in open(svg, encoding="utf-8").read():
            problems.append(f"docs/images/{name}.svg was not rendered from docs/images/{name}.dot")
    return problems


def stale() -> list[str]:
    """A unified diff per stale file (empty when the committed docs are current)."""
    diffs = []
    for path, want in expected_files().items():
        full = os.path.join(ROOT, path)
        have = open(full, encoding="utf-8").read() if os.path.exists(full) else ""
        if have != want:
            diffs.append("".join(difflib.unified_diff(have.splitlines(True), want.splitlines(True),
                                                      f"{path} (committed)", f"{path} (regenerated)")))
    return diffs if diffs else svg_problems()


def write(path: str, text: str) -> None:
    """Atomically replace `path` (temp file + fsync + rename)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".regenerate-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale docs (exit 1), write nothing")
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    if args.check:
        diffs = stale()
        for d in diffs:
            print(d)
        if diffs:
            print("the docs are stale: run python docs/regenerate.py")
        return 1 if diffs else 0
    for path, text in expected_files().items():
        write(os.path.join(ROOT, path), text)
    from graphc.viz.render import render
    for name, dot_text in pictures().items():
        svg = render(dot_text, "svg").decode()
        write(os.path.join(IMAGES, f"{name}.svg"), svg.replace("\n", "\n" + stamp(dot_text) + "\n", 1))
    print("regenerated the docs' outputs, tables and pictures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
