"""Recompute the numbers, outputs and pictures the docs publish, so they come from running code.

    python docs/regenerate.py            # rewrite the generated regions and pictures
    python docs/regenerate.py --check    # exit 1 with a diff when the committed docs are stale

A generated region of a Markdown file sits between `<!-- generated:NAME -->` and
`<!-- /generated:NAME -->`:

- `NAME = output`: what the nearest Python block above printed, the file's blocks run top to bottom
  in one namespace (`run_blocks`, which tests/test_doc_blocks.py runs on every docs file);
- any other NAME: the text of `GENERATORS[NAME]` below (each NAME once across the docs).

Pictures: each drawing of `_draw()` (the lecture's MLP of examples/visualize_mlp.py, as
docs/visualization.md shows it, described by `gc.viz.to_dot`; and the layers of docs/architecture.md
with the imports between them, from `graphc.testing.layers`) is written as `docs/images/NAME.dot`
and rendered to `NAME.svg` with Graphviz's `dot`, the SVG stamped with the
sha256 of its DOT. `--check` compares the DOT text, not the pixels (they depend on the Graphviz
version), and that each SVG's stamp matches its DOT; it needs no Graphviz.

Only deterministic results belong here. Timings (docs/benchmarks.md, compile seconds) differ from
run to run and machine to machine: they come from the benchmark scripts and examples the docs name
(`graphc bench`, `benchmarks/run.py`, `examples/lstm_sequence.py --measure`) and are pasted by hand
with the command and machine that measured them.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import hashlib
import io
import json
import os
import re
import runpy
import subprocess
import sys
import tempfile
from typing import Callable, Iterator

DOCS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DOCS)
IMAGES = os.path.join(DOCS, "images")
REGION = re.compile(r"^<!-- generated:([\w.-]+) -->\n(.*?)^<!-- /generated:\1 -->$", re.S | re.M)
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
SKIP = re.compile(r"^\s*<!--\s*skip-run:(.*?)-->\s*$")
STAMP = "<!-- graphc-dot-sha256: {} -->"
PYTHON = ("python", "py", "python3")  # the fence languages that run


def doc_files() -> list[str]:
    """README.md and docs/*.md, as paths relative to the repository root."""
    return ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(DOCS) if f.endswith(".md"))


def fenced(text: str, lang: str = "text") -> str:
    return f"```{lang}\n{text.rstrip()}\n```\n"


# -- the docs' own code blocks --------------------------------------------------------------------

@dataclasses.dataclass
class Block:
    """One fenced code block of a Markdown file."""

    lang: str
    line: int           # 1-based line of the opening fence
    end: int            # 1-based line of the closing fence
    code: str
    skip: str | None    # the reason of a `<!-- skip-run: reason -->` right before the fence, else None

    @property
    def runs(self) -> bool:
        return self.lang in PYTHON and self.skip is None


def code_blocks(text: str, where: str) -> list[Block]:
    """The fenced blocks of a Markdown text; a skip-run marker must sit right before a Python fence."""
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
        if i == len(lines):
            raise ValueError(f"{where}:{start + 1}: the code block is never closed")
        marker = SKIP.match(lines[start - 1]) if start else None
        reason = marker.group(1).strip() if marker else None
        if reason == "":
            raise ValueError(f"{where}:{start}: skip-run needs a reason: <!-- skip-run: needs an NVIDIA GPU -->")
        blocks.append(Block(lang.lower(), start + 1, i + 1, "\n".join(body) + "\n", reason))
        i += 1
    fences = {b.line for b in blocks if b.lang in PYTHON}
    stray = [n + 1 for n, line in enumerate(lines) if SKIP.match(line) and n + 2 not in fences]
    if stray:
        raise ValueError(f"{where}: the skip-run marker(s) on line(s) {stray} are not right before a ```python fence")
    return blocks


@contextlib.contextmanager
def scratch_root() -> Iterator[str]:
    """A temporary working directory that looks like the repository root (its top-level entries are
    linked in, so `examples/...` reads work) while what a block writes there stays out of the repository."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        for entry in os.listdir(ROOT):
            if not entry.startswith("."):
                os.symlink(os.path.join(ROOT, entry), os.path.join(scratch, entry))
        os.chdir(scratch)
        try:
            yield scratch
        finally:
            os.chdir(here)


def run_blocks(text: str, path: str) -> list[tuple[Block, str]]:
    """Run a file's runnable Python blocks top to bottom in one fresh namespace, in `scratch_root()`;
    [(block, what it printed)]. A failing block raises, its traceback naming the .md file's line."""
    ran = []
    namespace: dict = {"__name__": "__main__"}
    with scratch_root():
        for block in code_blocks(text, path):
            if block.runs:
                printed = io.StringIO()
                with contextlib.redirect_stdout(printed):
                    exec(compile("\n" * block.line + block.code, path, "exec"), namespace)
                ran.append((block, printed.getvalue()))
    return ran


# -- named generators -----------------------------------------------------------------------------

def lstm_node_counts() -> str:
    """networks.md: nodes of an LSTM's forward + gradient graph, scanned and unrolled, per length."""
    import graphc as gc
    from graphc import nn
    from graphc.control import node_count

    def nodes(length: int, unroll: bool) -> int:
        lstm = nn.LSTM(4, 16, batch_first=True, unroll=unroll, rng=0)
        cost = gc.sum(lstm(gc.placeholder((8, length, 4)))[0])
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


def workload_kernels() -> str:
    """passes.md: kernels of the benchmark workloads' training steps, with and without fast math."""
    from graphc.bench import fw_graphc, workloads

    def kernels(name: str, fast_math: bool) -> int:
        fn = fw_graphc.step_function(workloads.problem(name), "numpy", fast_math=fast_math)
        return len(fn.kernel_program().kernels)
    names = list(workloads.WORKLOADS)
    return "\n".join([f"| kernels | {' | '.join(names)} |", "|---|" + "---:|" * len(names),
                      f"| default | {' | '.join(str(kernels(n, False)) for n in names)} |",
                      f"| `fast_math=True` | {' | '.join(str(kernels(n, True)) for n in names)} |"]) + "\n"


def layer_table() -> str:
    """architecture.md: the layers top first, each with its modules and the layers it imports, from the
    layer contract and the import graph of graphc.testing.layers."""
    from graphc.testing import layers
    return fenced(layers.layer_table(layers.import_graph()))


def tolerance_table() -> str:
    """backends.md: the tolerances of tests that compare a backend with NumPy (tests/conftest.py)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("graphc_tests_conftest", os.path.join(ROOT, "tests", "conftest.py"))
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    table = conftest.TOLERANCES
    rows = [f"| `{family}` | " + " | ".join(f"{table[family, d]['rtol']:g} / {table[family, d]['atol']:g}"
                                             for d in ("float32", "float64")) + " |"
            for family in dict.fromkeys(f for f, _ in table)]
    return "\n".join(["| tolerance row | float32 `rtol` / `atol` | float64 `rtol` / `atol` |", "|---|---|---|",
                      *rows]) + "\n"


def onnx_node_tests() -> str:
    """onnx.md: ONNX's node tests on graphc's llvm build, per op (graphc.onnx.conformance)."""
    from graphc.onnx.conformance import node_table
    return node_table("llvm")


def onnx_converters() -> str:
    """onnx.md: the ops graphc.onnx converts (its converter registry)."""
    from graphc.onnx.conformance import converter_list
    return converter_list()


GENERATORS: dict[str, Callable[[], str]] = {
    "onnx-node-tests": onnx_node_tests,
    "onnx-converters": onnx_converters,
    "lstm-node-counts": lstm_node_counts,
    "fused-kernels": fused_kernels,
    "passes-pipeline": passes_pipeline,
    "workload-kernels": workload_kernels,
    "test-tolerances": tolerance_table,
    "layers": layer_table,
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
    """{picture name: DOT text} for the pictures of the docs, drawn in a fresh process:
    nodes are hash-consed, so in a process that declared an equal node before (a docs block, a
    test), the drawing would show that earlier declaration's source line."""
    result = subprocess.run([sys.executable, os.path.abspath(__file__), "--print-dot"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"drawing the pictures failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # the example may print before


def _draw() -> dict[str, str]:
    import graphc as gc
    from graphc.testing import layers
    g = mlp()
    layer1 = {"layer 1": [g["w1"] * g["x"], g["w1"] * g["x"] + g["b1"], g["n"]]}
    return {
        "mlp_forward": gc.viz.to_dot(g["L"]),
        "mlp_gradients": gc.viz.to_dot(g["step"], stage="gradients"),
        "mlp_path_w1": gc.viz.to_dot(g["step"], stage="gradients", highlight=(g["w1"], g["L"]), groups=layer1),
        "mlp_optimized": gc.viz.to_dot(g["step"], stage="optimized"),
        "mlp_fused": gc.viz.to_dot(g["step"], stage="fused"),
        "layers": layers.layer_dot(layers.import_graph()),
    }


def screenshots() -> None:
    """The viewer's pictures in docs/visualization.md (LeNet-5's step: first view, a box opened, a search, a
    pass of the timeline), taken in headless Chromium at 1400 x 900, in a fresh process (as `pictures`);
    none where Chromium is missing. Pixels differ between browser versions: `--check` does not compare them."""
    from graphc.testing.chromium import find_chromium
    if find_chromium() is None:
        print("no Chromium on PATH: kept the viewer's screenshots as they are (apt-get install chromium)")
        return
    subprocess.run([sys.executable, os.path.abspath(__file__), "--screenshots"], cwd=ROOT, check=True)


def _screenshots() -> list[str]:
    from graphc.testing.chromium import Browser
    import graphc as gc
    from graphc.passes import optimize
    lenet = runpy.run_path(os.path.join(ROOT, "examples", "visualize_lenet.py"), run_name="lenet")
    step = lenet["step"]
    written = []
    with tempfile.TemporaryDirectory() as tmp, Browser() as browser:
        page = os.path.join(tmp, "lenet.html")
        gc.viz.save(step, page, stage="gradients", snapshots=optimize(step.graph, snapshots=True)[1].snapshots(),
                    title="LeNet-5 training step (Adam)")
        shots = {
            "lenet_first": "",
            "lenet_expanded": "viz.toggle(viz.find('features')[0], true); viz.select(viz.find('conv2d')[0])",
            "lenet_search": "document.getElementById('search').value = 'conv2d'; viz.search('conv2d')",
            "lenet_timeline": "viz.step(DATA.views.filter(v => v.kind === 'pass')"
                              ".findIndex(v => v.nodes.some(n => n.changed)))",
        }
        for name, script in shots.items():
            browser.open("file://" + page, 1400, 900)
            if script:
                browser.eval(script)
            path = os.path.join(IMAGES, f"{name}.png")
            browser.screenshot(path)
            written.append(path)
        imported = _onnx_page(tmp)
        if imported is not None:
            browser.open("file://" + imported, 1400, 900)
            browser.screenshot(os.path.join(IMAGES, "onnx_imported.png"))
            written.append(os.path.join(IMAGES, "onnx_imported.png"))
    return written


def _onnx_page(folder: str) -> str | None:
    """LeNet-5 as PyTorch defines it, exported by torch.onnx.export and imported by gc.onnx.load, as a page
    with its module boxes open one level; None without torch and onnx."""
    try:
        import torch
        import onnx  # noqa: F401
    except ImportError:
        print("no torch or onnx: kept the imported model's screenshot as it is")
        return None
    import graphc as gc
    from torch import nn
    torch.manual_seed(0)
    net = nn.Sequential()
    net.add_module("features", nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2)))
    net.add_module("flatten", nn.Flatten())
    net.add_module("classifier", nn.Sequential(nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                                               nn.Linear(84, 10)))
    path = os.path.join(folder, "lenet.onnx")
    torch.onnx.export(net, (torch.randn(1, 1, 28, 28),), path, dynamo=False)
    page = os.path.join(folder, "lenet_onnx.html")
    gc.viz.save(gc.onnx.load(path), page, expand=1, title="LeNet-5 exported by PyTorch, imported by gc.onnx.load")
    return page


def stamp(dot_text: str) -> str:
    return STAMP.format(hashlib.sha256(dot_text.encode()).hexdigest())


# -- checking and writing -------------------------------------------------------------------------

def regenerated(path: str, text: str) -> str:
    """`text` with every generated region recomputed."""
    regions = list(REGION.finditer(text))
    outputs = run_blocks(text, path) if any(m.group(1) == "output" for m in regions) else []
    pieces, last = [], 0
    for m in regions:
        name = m.group(1)
        if name == "output":
            line = text.count("\n", 0, m.start()) + 1
            above = [printed for block, printed in outputs if block.end < line]
            if not above:
                raise SystemExit(f"{path}:{line}: a generated:output region has no runnable Python block above it")
            body = fenced(above[-1])
        elif name in GENERATORS:
            body = GENERATORS[name]()
        else:
            raise SystemExit(f"{path}: no generator named {name!r}: add it to GENERATORS in docs/regenerate.py")
        pieces += [text[last:m.start(2)], body]
        last = m.end(2)
    return "".join(pieces) + text[last:]


def expected_files(dots: dict[str, str]) -> dict[str, str]:
    """{path relative to the repository root: the text it should have} for every generated file
    (`dots`: the pictures' DOT texts, from `pictures()`)."""
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
    for name, dot_text in dots.items():
        files[os.path.join("docs", "images", f"{name}.dot")] = dot_text
    return files


def svg_problems(dots: dict[str, str]) -> list[str]:
    """The pictures whose SVG is missing or was not rendered from this DOT text."""
    problems = []
    for name, dot_text in dots.items():
        svg = os.path.join(IMAGES, f"{name}.svg")
        if not os.path.exists(svg) or stamp(dot_text) not in open(svg, encoding="utf-8").read():
            problems.append(f"docs/images/{name}.svg was not rendered from docs/images/{name}.dot")
    return problems


def stale() -> list[str]:
    """A unified diff per stale file (empty when the committed docs are current)."""
    diffs = []
    dots = pictures()
    for path, want in expected_files(dots).items():
        full = os.path.join(ROOT, path)
        have = open(full, encoding="utf-8").read() if os.path.exists(full) else ""
        if have != want:
            diffs.append("".join(difflib.unified_diff(have.splitlines(True), want.splitlines(True),
                                                      f"{path} (committed)", f"{path} (regenerated)")))
    return diffs if diffs else svg_problems(dots)


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
    parser.add_argument("--print-dot", action="store_true", help=argparse.SUPPRESS)  # pictures()' fresh process
    parser.add_argument("--screenshots", action="store_true", help=argparse.SUPPRESS)  # screenshots()' one
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")  # blocks that plot draw off screen
    sys.path.insert(0, ROOT)  # graphc from this checkout even when it is not installed
    if args.print_dot:
        print(json.dumps(_draw()))
        return 0
    if args.screenshots:
        _screenshots()
        return 0
    if args.check:
        diffs = stale()
        for d in diffs:
            print(d)
        if diffs:
            print("the docs are stale: run python docs/regenerate.py")
        return 1 if diffs else 0
    dots = pictures()
    for path, text in expected_files(dots).items():
        write(os.path.join(ROOT, path), text)
    from graphc.viz.render import render
    for name, dot_text in dots.items():
        svg = render(dot_text, "svg").decode()
        write(os.path.join(IMAGES, f"{name}.svg"), svg.replace("\n", "\n" + stamp(dot_text) + "\n", 1))
    screenshots()
    print("regenerated the docs' outputs, tables and pictures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
