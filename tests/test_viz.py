"""gc.viz: the view model, DOT / SVG / PNG / PDF, GraphML / JSON, the HTML viewer, and `graphc viz`."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest

import graphc as gc
from graphc.cli import main
from graphc.viz import stages

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz `dot` is not installed (apt-get install graphviz)")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

EXAMPLE = Path(__file__).parents[1] / "examples" / "visualize_mlp.py"  # the lecture's smallest MLP
FORWARD_NODES = 14  # x, y, 4 parameters, 2 x (multiply, add, sigmoid), subtract, square
FORWARD_EDGES = 13


@pytest.fixture(scope="module")
def mlp() -> dict:
    namespace: dict = {}
    exec(compile(EXAMPLE.read_text(), str(EXAMPLE), "exec"), namespace)
    return namespace


def parse_dot(text: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Node ids with their labels, and edges, from graphc's own DOT (one statement a line)."""
    nodes = dict(re.findall(r'^\s*(\w+) \[label="([^"]*)"', text, re.M))
    edges = re.findall(r"^\s*(\w+) -> (\w+)", text, re.M)
    return nodes, edges


# -- the view ------------------------------------------------------------------

def test_dot_of_the_forward_graph(mlp):
    text = gc.viz.to_dot(mlp["step"])
    nodes, edges = parse_dot(text)
    assert len(nodes) == FORWARD_NODES and len(edges) == FORWARD_EDGES
    assert text.startswith("digraph graphc {") and text.rstrip().endswith("}")
    labels = sorted(label.split("\\n")[0] for label in nodes.values())
    assert labels == sorted(["x", "y", "w1", "b1", "w2", "b2", "multiply", "add", "sigmoid",
                             "multiply", "add", "sigmoid", "subtract", "square"])
    assert all(label.endswith("float32[]") for label in nodes.values())
    assert gc.viz.to_dot(mlp["L"]) == text  # a tensor and the function's forward stage agree


@needs_dot
def test_dot_parses_in_graphviz(mlp):
    out = subprocess.run(["dot", "-Tjson"], input=gc.viz.to_dot(mlp["step"], "gradients").encode(),
                         capture_output=True, check=True).stdout
    layout = json.loads(out)
    view = gc.viz.build(mlp["step"], "gradients")
    assert len(layout["objects"]) == len(view.nodes)
    assert len(layout["edges"]) == len(view.edges)


def test_leaves_and_families_look_different(mlp):
    text = gc.viz.to_dot(mlp["L"])
    nodes = {n.label: n for n in gc.viz.build(mlp["L"]).nodes}
    assert nodes["x"].family == "placeholder" and nodes["w1"].family == "parameter"
    assert nodes["sigmoid"].family == "elementwise"
    assert 'shape="invhouse"' in text and 'shape="cylinder"' in text
    line = 'x = gc.placeholder((), name="x")'
    lineno = EXAMPLE.read_text().splitlines().index(line) + 1
    assert nodes["x"].source.endswith(f"visualize_mlp.py:{lineno}: {line}")


def test_gradient_nodes_are_what_grad_added(mlp):
    view = gc.viz.build(mlp["step"], "gradients")
    forward = [n for n in view.nodes if not n.gradient and n.family != "constant"]
    assert len(forward) == FORWARD_NODES
    constants = [n for n in view.nodes if n.family == "constant"]
    assert "0.1" in {n.label for n in constants} and not any(n.gradient for n in constants)  # the rate is no ∇
    assert "∇ 0.1" not in gc.viz.to_dot(mlp["step"], "gradients")
    updates = [n for n in view.nodes if n.family == "update"]
    assert len(updates) == 4 and all(n.gradient for n in updates)
    assert "∇ multiply" in gc.viz.to_dot(mlp["step"], "gradients")
    # The same rule for a list: the first tensor is the forward output.
    listed = gc.viz.build([mlp["L"], *mlp["grads"]], "gradients")
    assert sum(not n.gradient and n.family != "constant" for n in listed.nodes) == FORWARD_NODES
    assert not any(n.gradient for n in gc.viz.build([mlp["L"], *mlp["grads"]]).nodes)


def test_groups_collapse_into_one_box_or_a_cluster(mlp):
    w1, x, b1 = mlp["w1"], mlp["x"], mlp["b1"]
    layer = [w1 * x, w1 * x + b1, mlp["n"]]
    view = gc.viz.build(mlp["L"], groups={"layer1": layer})
    assert len(view.nodes) == FORWARD_NODES - 2
    box = next(n for n in view.nodes if n.label == "layer1")
    assert box.family == "group" and box.attrs["nodes"] == "3"
    into = {e.src for e in view.edges if e.dst == box.id}
    assert {n.label for n in view.nodes if n.id in into} == {"w1", "x", "b1"}
    text = gc.viz.to_dot(mlp["L"], groups={"layer1": layer}, collapse=False)
    assert "subgraph cluster_g0" in text and len(parse_dot(text)[0]) == FORWARD_NODES


def test_depth_limit_cuts_from_the_outputs(mlp):
    view = gc.viz.build(mlp["L"], max_depth=2)
    assert sorted(n.label for n in view.nodes) == ["sigmoid", "square", "subtract", "y"]
    assert [n.label for n in view.nodes if n.truncated] == ["sigmoid"]


def test_highlight_a_path_from_a_parameter_to_the_loss(mlp):
    view = gc.viz.build(mlp["L"], highlight=(mlp["w2"], mlp["L"]))
    on = sorted(n.label for n in view.nodes if n.highlighted)
    assert on == ["add", "multiply", "sigmoid", "square", "subtract", "w2"]
    assert sum(e.highlighted for e in view.edges) == 5


def fake_fused(graph: gc.Graph):
    kernel = [n for n in graph.nodes if not n.op.is_leaf and n.op.name != "square"]
    return graph, [stages.Cluster("kernel 0", kernel, "(y - sigmoid(w2*n + b2))")]


def test_a_registered_stage_draws_clusters_with_formulas(mlp, monkeypatch):
    monkeypatch.setitem(stages._STAGES, "fused", fake_fused)
    text = gc.viz.to_dot(mlp["L"], "fused")
    assert "subgraph cluster_c0" in text and "sigmoid(w2*n + b2)" in text
    g = gc.viz.to_networkx(mlp["L"], "fused")
    assert sum(d["cluster"] == "kernel 0" for _, d in g.nodes(data=True)) == 7


def test_optimized_stage_without_the_optimizer_says_so(mlp, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphc.passes", None)  # import graphc.passes fails
    with pytest.raises(gc.viz.StageUnavailable, match="needs graphc.passes"):
        gc.viz.to_dot(mlp["L"], "optimized")
    assert "optimized" not in re.findall(r'"name": "(\w+)"', gc.viz.to_html(mlp["L"]))


def test_optimized_and_fused_stages_use_the_optimizer(mlp):
    declared = gc.viz.build(mlp["step"], "gradients")
    optimized = gc.viz.build(mlp["step"], "optimized")
    fused = gc.viz.build(mlp["step"], "fused")
    assert len(fused.nodes) < len(optimized.nodes) <= len(declared.nodes)
    assert fused.clusters and all(c.formula for c in fused.clusters)
    assert any("in0=w1" in c.formula for c in fused.clusters)  # the first layer's w1*x + b1 is in a kernel
    assert any("sigmoid" in c.formula for c in fused.clusters)
    assert sum(n.family == "update" for n in fused.nodes) == 4


def test_bad_objects_and_stages_are_graphc_errors(mlp):
    with pytest.raises(gc.InputError, match="expected a tensor"):
        gc.viz.to_dot(42)
    with pytest.raises(gc.viz.StageUnavailable, match="unknown stage"):
        gc.viz.to_dot(mlp["L"], "nope")
    with pytest.raises(gc.InputError, match="format"):
        gc.viz.save(mlp["L"], "graph.txt")


# -- files -----------------------------------------------------------------------

@needs_dot
def test_svg_png_pdf(mlp, tmp_path):
    for ext in ("svg", "png", "pdf"):
        gc.viz.save(mlp["step"], tmp_path / f"g.{ext}", stage="gradients")
    svg = ET.parse(tmp_path / "g.svg").getroot()
    groups = [g for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "node"]
    assert len(groups) == len(gc.viz.build(mlp["step"], "gradients").nodes)
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "g.pdf").read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.pdf", "g.png", "g.svg"]  # no temp files left


def test_missing_graphviz_is_a_clear_error_and_dot_text_still_works(mlp, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(gc.viz.GraphvizNotFound, match="apt-get install graphviz") as e:
        gc.viz.save(mlp["L"], tmp_path / "g.svg")
    assert isinstance(e.value, gc.BackendError)
    assert not list(tmp_path.iterdir())
    gc.viz.save(mlp["L"], tmp_path / "g.dot")
    assert len(parse_dot((tmp_path / "g.dot").read_text())[0]) == FORWARD_NODES


@pytest.mark.parametrize("script, ended, said", [
    ("echo 'Error: trouble in init_rank' >&2; exit 1", "exit status 1", "it said: Error: trouble in init_rank"),
    ("kill -SEGV $$", "killed by SIGSEGV", "it printed nothing (out of memory or stack"),
])
def test_a_graphviz_failure_says_why_and_what_to_do(mlp, tmp_path, monkeypatch, script, ended, said):
    fake = tmp_path / "dot"
    fake.write_text(f"#!/bin/sh\ncat > /dev/null\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys.modules["graphc.viz.render"], "dot_program", lambda: str(fake))
    message = rf"Graphviz's dot failed to render svg \({ended}\); {re.escape(said)}"
    with pytest.raises(gc.BackendError, match=message) as e:
        gc.viz.save(mlp["L"], tmp_path / "g.svg")
    assert ".html" in e.value.fix and "--depth" in e.value.fix
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dot"]


def chain(n: int) -> gc.Tensor:
    """n ops in a row, every other one using the same broadcast constant: the shape whose layout was quadratic."""
    y = gc.placeholder((4,), name="x")
    for i in range(n):
        y = gc.tanh(y) if i % 2 else y * 1.5
    return gc.sum(y)


def test_html_layout_grows_linearly_with_the_graph():
    from graphc.viz import layout as lay
    view = gc.viz.build(chain(400))
    placed = lay.compound(view, {n.id: (n.label, n.type_str) for n in view.nodes})
    # one bend point per layer crossed gave ~n**2 / 4 = 40,000 points to the shared node's edges
    assert len(view.edges) == 602 and sum(len(b) for b in placed.bends) < 4 * len(view.edges)
    layer = {i: item[1] for i, item in placed.items.items()}
    shared = max({e.src for e in view.edges}, key=lambda s: sum(e.src == s for e in view.edges))
    far = [e for e in view.edges if e.src == shared and layer[e.dst] - layer[e.src] > lay.LONG + 1]
    assert len(far) > 190
    for e in far:  # one bend point, in the row above the target
        bend = placed.bends[placed.edge_bends[e.src, e.dst]]
        assert len(bend) == 1 and layer[bend[0]] == layer[e.dst] - 1
    small, big = (len(gc.viz.to_html(chain(n), ["forward"])) for n in (250, 1000))
    assert big < 4.5 * small


def test_networkx_graphml_and_json(mlp, tmp_path):
    g = gc.viz.to_networkx(mlp["step"], "gradients")
    assert isinstance(g, nx.DiGraph) and nx.is_directed_acyclic_graph(g)
    assert sum(not d["gradient"] and d["family"] != "constant" for _, d in g.nodes(data=True)) == FORWARD_NODES
    gc.viz.save(mlp["step"], tmp_path / "g.graphml", stage="gradients")
    root = ET.parse(tmp_path / "g.graphml").getroot()
    ns = "{http://graphml.graphdrawing.org/xmlns}"
    assert len(list(root.iter(f"{ns}node"))) == g.number_of_nodes()
    assert len(list(root.iter(f"{ns}edge"))) == g.number_of_edges()
    back = nx.read_graphml(tmp_path / "g.graphml")
    assert back.nodes["n0"]["dtype"] == "float32"
    gc.viz.save(mlp["step"], tmp_path / "g.json", stage="gradients")
    again = nx.node_link_graph(json.loads((tmp_path / "g.json").read_text()))
    assert again.number_of_nodes() == g.number_of_nodes() and again.number_of_edges() == g.number_of_edges()


def test_html_is_self_contained(mlp):
    page = gc.viz.to_html(mlp["step"], snapshots=[("before", mlp["step"].graph)])
    assert "<script src" not in page and "<link" not in page
    assert re.findall(r"https?://[^\s\"']+", page) == []
    assert "Content-Security-Policy\" content=\"default-src 'none'" in page  # the page may request nothing
    assert '"kind":"pass"' in page and "visualize_mlp.py" in page


def test_html_escapes_script_breaking_names():
    a = gc.placeholder((), name="</script><b>")
    page = gc.viz.to_html(a * 2.0)
    assert page.count("</script>") == 1


# -- the command line, and the layering ----------------------------------------

def test_cli_draws_an_object_from_a_script(tmp_path, capsys):
    out = tmp_path / "g.dot"
    assert main(["viz", f"{EXAMPLE}:step", "--stage", "gradients", "--out", str(out)]) == 0
    assert len(parse_dot(out.read_text())[0]) == FORWARD_NODES + 27
    assert main(["viz", f"{EXAMPLE}:grads", "--out", str(tmp_path / "g.json")]) == 0
    assert main(["viz", f"{EXAMPLE}:nothing", "--out", str(out)]) == 1
    assert "defines these drawable objects: L, b1, b2, grads, m, n, params, step" in capsys.readouterr().err


LENET = Path(__file__).parents[1] / "examples" / "visualize_lenet.py"


def test_cli_expands_searches_hides_the_optimizer_and_adds_snapshots(tmp_path):
    out = tmp_path / "g.dot"
    assert main(["viz", f"{LENET}:step", "--stage", "gradients", "--expand", "1", "--search", "features.3",
                 "--hide-optimizer", "--out", str(out)]) == 0
    text = out.read_text()
    assert "subgraph cluster_s" in text and "features.0" in text and "Adam" not in text  # boxes as clusters
    marked = [line for line in text.splitlines() if 'penwidth="3"' in line]
    assert marked and all("features.3" in line for line in marked)
    assert main(["viz", f"{LENET}:step", "--out", str(tmp_path / "g0.dot")]) == 0
    nodes, _ = parse_dot((tmp_path / "g0.dot").read_text())
    assert sorted(label.split("\\n")[0] for label in nodes.values() if "features" in label) == ["features"]
    page = tmp_path / "g.html"
    assert main(["viz", f"{LENET}:step", "--stage", "gradients", "--snapshots", "--search", "conv2d",
                 "--out", str(page)]) == 0
    html = page.read_text()
    assert html.count('"kind":"pass"') >= 3 and '"search":"conv2d"' in html


def test_parameters_are_named_by_module_path_with_the_lines_that_made_them(tmp_path):
    import runpy
    ns = runpy.run_path(str(LENET), run_name="lenet")
    view = gc.viz.build(ns["step"], "gradients")
    params = {n.label for n in view.nodes if n.family == "parameter"}
    assert {"features.0.weight", "features.3.bias", "classifier.2.weight"} <= params
    scopes = {s.label: s for s in view.scopes}
    assert {"∇ features.0", "Adam: features.0.weight", "cross_entropy"} <= set(scopes)
    assert scopes["features.0"].partner == scopes["∇ features.0"].id and scopes["features.0"].type == "Conv2d"
    lines = LENET.read_text().splitlines()
    made = next(i for i, t in enumerate(lines, 1) if "nn.Conv2d(1, 6, 5" in t)
    called = next(i for i, t in enumerate(lines, 1) if "h = self.features(x)" in t)
    assert f"visualize_lenet.py:{made}" in scopes["features.0"].source
    assert f"visualize_lenet.py:{called}" in scopes["features.0"].source
    assert scopes["features.0"].flops == 2 * 32 * 6 * 28 * 28 * 25 + 32 * 6 * 28 * 28  # the conv, its bias
    assert not any(n.gradient for n in view.nodes if n.op in ("constant", "parameter", "placeholder"))
    hidden = gc.viz.build(ns["step"], "gradients", hide_optimizer=True)
    assert not any(n.role == "optimizer" for n in hidden.nodes) and "Adam" not in {s.label for s in hidden.scopes}


LENET_DOTS = """
import json, runpy, sys
import graphc as gc
step = runpy.run_path(sys.argv[1], run_name="lenet")["step"]
print(json.dumps([gc.viz.to_dot(step, "gradients", expand=1, hide_optimizer=True),
                  gc.viz.to_dot(step, "gradients", expand=None)]))
"""


def test_a_drawing_does_not_depend_on_the_graphs_built_before_it(capsys, monkeypatch):
    """Constants and what is computed from them alone (cross_entropy's `arange(10)`, Adam's learning rate cast
    to float32) are hash-consed across graphs, keeping the line and module of the graph that built them first:
    in a notebook or a test run, LeNet's step is drawn after other models. It must be drawn as when alone."""
    from graphc import losses, nn, optim
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2, rng=0), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Dense(6 * 14 * 14, 10, rng=1))
    images, labels = gc.placeholder((8, 1, 28, 28)), gc.placeholder((8,), "int64")
    first = gc.function([images, labels], loss := losses.cross_entropy(model(images), labels), updates=optim.Adam(
        model.parameters()).updates(loss))  # one statement naming Adam: the line its shared nodes carry
    run = [sys.executable, "-c", LENET_DOTS, str(LENET)]
    alone = json.loads(subprocess.run(run, check=True, capture_output=True, text=True).stdout)
    monkeypatch.setattr(sys, "argv", ["-c", str(LENET)])
    exec(compile(LENET_DOTS, "<lenet dots>", "exec"), {})
    hidden, boxes = shared = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert "Adam" not in hidden and "subgraph cluster_s" in hidden and '"features.0\\n' in hidden
    assert Path(__file__).name not in hidden + boxes  # no line of the model built first
    assert shared == alone and first.graph.outputs  # (the first model was alive throughout)


def test_two_models_get_a_box_each_and_their_parameters_stay_apart():
    enc, dec = gc.nn.MLP([4, 8, 8], rng=0), gc.nn.MLP([8, 8, 2], rng=1)
    x = gc.placeholder((3, 4), name="x")
    view = gc.viz.build(gc.sum(dec(enc(x))))
    scopes = {s.id: s for s in view.scopes}
    assert sorted(s.label for s in view.scopes if s.parent is None) == ["MLP", "MLP#2"]
    assert {scopes[s.parent].label for s in view.scopes if s.parent} == {"MLP", "MLP#2"}
    params = sorted(n.label for n in view.nodes if n.family == "parameter")
    assert params[:2] == ["MLP#2.0.bias", "MLP#2.0.weight"] and len(set(params)) == 8
    alone = gc.viz.build(gc.sum(enc(x)))  # one model: its layers are the top-level boxes
    assert sorted(s.label for s in alone.scopes) == ["0", "1"]


def test_the_core_does_not_import_viz():
    code = "import sys, graphc; assert 'graphc.viz' not in sys.modules; graphc.viz.to_dot"
    subprocess.run([sys.executable, "-c", code], check=True)


@needs_dot
def test_the_example_script_writes_the_docs_pictures(tmp_path):
    subprocess.run([sys.executable, str(EXAMPLE), "--out", str(tmp_path)], check=True, capture_output=True)
    written = {p.name for p in tmp_path.iterdir()}
    assert {"mlp_forward.svg", "mlp_gradients.svg", "mlp_path_w1.svg", "mlp.html"} <= written


def test_nn_modules_collapse_into_boxes():
    model = gc.nn.MLP([2, 8, 8, 1], activation="tanh", rng=0)
    x = gc.placeholder((4, 2), name="x")
    with gc.nn.record_calls() as calls:
        y = gc.sum(model(x))
    groups = gc.viz.module_groups(model, calls)
    assert sorted(groups) == ["0", "1", "2"]  # the three Dense layers of the Sequential
    assert all(any(t.name == "weight" or t.op.name == "parameter" for t in ts) for ts in groups.values())
    view = gc.viz.build(y, "forward", groups=groups)
    assert sorted(n.label for n in view.nodes) == ["0", "1", "2", "sum", "x"]


def test_an_imported_onnx_model_is_drawn_in_its_modules_boxes(tmp_path):
    """PyTorch's exporter names nodes by module scope (/features/features.0/Conv): those become the boxes."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU())
            self.fc = torch.nn.Linear(4 * 6 * 6, 3)

        def forward(self, x):
            return self.fc(self.features(x).flatten(1))

    path = tmp_path / "net.onnx"
    torch.onnx.export(Net(), (torch.randn(2, 1, 8, 8),), str(path), dynamo=False)
    model = gc.onnx.load(path)
    view = gc.viz.build(model)
    scopes = {s.id: s for s in view.scopes}
    assert sorted(s.label for s in view.scopes) == ["fc", "features", "features.0", "features.1"]
    box = {n.label: scopes[n.scope].label if n.scope else None for n in view.nodes}
    assert box["features.0.weight"] == "features.0" and box["fc.weight"] == "fc" and box["conv2d"] == "features.0"
    conv = next(n for n in view.nodes if n.op == "conv2d")
    assert conv.source == "net.onnx:0: Conv '/features/features.0/Conv'"
    text = gc.viz.to_dot(model)  # closed boxes: the input, two modules, the flatten between them
    assert sorted(label.split("\\n")[0] for label in parse_dot(text)[0].values()) == \
        ["fc", "features", "input.1", "reshape"]


def test_the_kernels_stage_shows_the_program_with_its_memory_plan(mlp):
    from graphc.viz.stages import kernel_program
    _, program = kernel_program(mlp["step"].graph)
    view = gc.viz.build(mlp["step"], "kernels")
    labels = [c.label for c in view.clusters]
    assert len(labels) == len(program.kernels) and labels[0].startswith("k0 ")
    in_place = [label for label in labels if "in place into" in label]
    assert len(in_place) == len(program.plan.in_place) > 0  # the SGD updates written into w1, b1, ...
    assert {label.rsplit(" ", 1)[-1] for label in in_place} <= {"w1", "b1", "w2", "b2"}
    for k, label in enumerate(labels):
        buffer = program.kernels[k].output
        if buffer in program.plan.offsets:
            assert f"arena @{program.plan.offsets[buffer]} B" in label
    assert any("in0=" in c.formula for c in view.clusters)
    page = gc.viz.to_html(mlp["step"], ["gradients"], snapshots=[("a", mlp["step"].graph)])
    assert '"name":"kernel program"' in page and f"{len(program.kernels)} kernels, arena" in page
