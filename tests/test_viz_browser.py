"""The HTML viewer in a real browser: Debian's headless Chromium, driven over the DevTools pipe
(graphc.testing.chromium, standard library only; no browser download). One browser per module."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest

import graphc as gc
from graphc.testing.chromium import Browser, find_chromium

pytestmark = pytest.mark.skipif(find_chromium() is None,
                                reason="Chromium is not installed (apt-get install chromium)")
EXAMPLES = Path(__file__).parents[1] / "examples"


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    """The LeNet-5 training step with Adam, built with gc.nn as a user would, and its page."""
    ns = runpy.run_path(str(EXAMPLES / "visualize_lenet.py"), run_name="lenet")
    from graphc.passes import optimize
    snapshots = optimize(ns["step"].graph, snapshots=True)[1].snapshots()
    page = tmp_path_factory.mktemp("viz") / "lenet.html"
    gc.viz.save(ns["step"], page, stage="gradients", snapshots=snapshots)
    return ns, page


def overlaps(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and
            a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def test_lenet_first_view_is_readable_and_offline(browser, lenet):
    _, page = lenet
    browser.open(page.as_uri(), 1400, 900)
    assert browser.eval("document.body.dataset.ready") == "1" and browser.eval("document.body.dataset.error") is None
    assert browser.requests == [page.as_uri()]  # the page itself, and nothing else
    boxes = browser.eval("viz.boxes()")
    labels = {b["label"] for b in boxes}
    assert len(boxes) <= 50
    assert {"features", "classifier", "∇ features", "∇ classifier", "Adam", "images", "labels"} <= labels
    for b in boxes:
        assert b["font"] >= 10, b  # labels readable at the first zoom
        assert b["textW"] <= b["w"] + 1, b  # each label fits its box
        assert 0 <= b["x"] and b["x"] + b["w"] <= 1400 - 320 and 0 <= b["y"] <= 900  # all in the window
    assert not any(overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_opening_a_box_in_place_keeps_the_others(browser, lenet):
    _, page = lenet
    browser.open(page.as_uri(), 1400, 900)
    before = {b["id"]: b for b in browser.eval("viz.boxes()")}
    box = next(b for b in before.values() if b["label"] == "features")
    browser.click(box["x"] + box["w"] / 2, box["y"] + box["h"] / 2, count=2)  # a real double click
    after = {b["id"]: b for b in browser.eval("viz.boxes()")}
    assert box["id"] in browser.eval("viz.state().open")
    inside = {b["label"] for b in after.values() if b["id"] not in before}
    assert {"features.0", "features.3", "features.5"} <= inside
    opened = after[box["id"]]
    assert opened["w"] > box["w"] and opened["h"] > box["h"]
    # Nothing above the opened box or left of it in its row moves; what lies below moves straight down.
    for i, b in before.items():
        if i == box["id"]:
            continue
        a = after[i]
        if b["y"] + b["h"] <= box["y"] or (abs(b["y"] - box["y"]) < 1 and b["x"] < box["x"]):
            assert (a["x"], a["y"]) == (b["x"], b["y"]), b["label"]
        elif b["y"] >= box["y"] + box["h"]:
            assert a["x"] == b["x"] and a["y"] >= b["y"], b["label"]
    # the scale, and so every other box's size, stays the same
    assert all(after[i]["w"] == b["w"] for i, b in before.items() if i != box["id"])
    browser.click(opened["x"] + 30, opened["y"] + 8, count=2)  # double-click the title closes it again
    assert {b["id"]: (b["x"], b["y"]) for b in browser.eval("viz.boxes()")} == \
        {i: (b["x"], b["y"]) for i, b in before.items()}


def test_search_by_op_name_module_path_and_source_line(browser, lenet):
    _, page = lenet
    browser.open(page.as_uri(), 1400, 900)
    browser.eval("document.getElementById('search').focus()")
    browser.type("conv2d")  # typed into the box, as a user does
    found = browser.eval("viz.state().found")
    assert found and browser.eval("document.getElementById('results').children.length") >= 2
    labels = {b["id"]: b["label"] for b in browser.eval("viz.boxes()")}
    assert {labels[f] for f in found} >= {"features", "∇ features"}  # closed boxes holding matches light up
    assert browser.eval("viz.search('features.3.weight')") >= 1
    line = Path(EXAMPLES / "visualize_lenet.py").read_text().splitlines()
    lineno = next(i for i, t in enumerate(line, 1) if "nn.Dense(84, 10" in t or "self.classifier(h)" in t)
    assert browser.eval(f"viz.search('visualize_lenet.py:{lineno}')") >= 3
    browser.eval("viz.search('features.0.weight')")
    browser.eval("document.getElementById('search').dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}))")
    state = browser.eval("viz.state()")
    chosen = browser.eval(f"viz.boxes().find(b => b.id === '{state['selected']}').label")
    assert chosen == "features.0.weight"
    assert any(b["label"] == "features" and b["open"] for b in browser.eval("viz.boxes()"))  # opened to show it


def test_selecting_a_node_lights_its_gradient_and_traces(browser, lenet):
    _, page = lenet
    browser.open(page.as_uri(), 1400, 900)
    conv = browser.eval("viz.find('conv2d')")[0]
    browser.eval(f"viz.select('{conv}')")
    related = browser.eval("viz.state().related")
    labels = {b["id"]: b["label"] for b in browser.eval("viz.boxes()")}
    assert related and all(labels[r].startswith("∇") for r in related)
    grad = browser.eval(f"DATA.views[0].nodes.find(n => n.grad_of === '{conv}').id")
    browser.eval(f"viz.select('{grad}')")
    assert browser.eval("viz.state().related") != []
    assert browser.eval("viz.trace('inputs')") > 0 and browser.eval("viz.state().traced")
    box = next(b for b in browser.eval("viz.boxes()") if b["label"] == "classifier")
    browser.eval(f"viz.select('{box['id']}')")
    assert [labels.get(r) for r in browser.eval("viz.state().related")] == ["∇ classifier"]
    browser.eval("document.getElementById('hideopt').click()")
    assert "Adam" not in {b["label"] for b in browser.eval("viz.boxes()")}


def test_the_pass_timeline_steps_and_marks_changes(browser, lenet):
    _, page = lenet
    browser.open(page.as_uri(), 1400, 900)
    passes = browser.eval("DATA.views.filter(v => v.kind === 'pass').map(v => v.name)")
    assert len(passes) >= 3
    browser.eval("document.getElementById('next').click()")
    assert browser.eval("document.body.dataset.view") == passes[1]
    text = browser.eval("document.getElementById('passname').textContent")
    assert text.startswith(f"2/{len(passes)}: {passes[1]}") and "new" in text
    changed = browser.eval("DATA.views.filter(v => v.kind === 'pass').map(v => v.nodes.filter(n => n.changed).length)")
    assert changed[0] == 0 and any(changed[1:])
    step = next(i for i, c in enumerate(changed) if c)
    browser.eval(f"viz.step({step})")
    assert any(b["mark"] for b in browser.eval("viz.boxes()"))  # the boxes holding what the pass made


def test_a_link_opens_a_view_and_selects_a_node(browser, lenet):
    ns, page = lenet
    view = gc.viz.build(ns["step"], "fused")
    chosen = next(n for n in view.nodes if n.cluster is not None)
    browser.open(f"{page.as_uri()}#fused:{chosen.id}", 1400, 900)
    assert browser.eval("document.body.dataset.view") == "fused"
    assert browser.eval("viz.state().selected") == chosen.id
    details = browser.eval("document.getElementById('details').textContent")
    assert chosen.label in details and "kernel" in details  # its fused kernel, in the details panel


def big_step(blocks: int = 20, per_block: int = 23):
    """A deep MLP (blocks of Dense layers) and its Adam step: about 20,000 nodes."""
    layers = [gc.nn.Sequential(*[gc.nn.Dense(8, 8, "tanh", rng=i * per_block + j) for j in range(per_block)])
              for i in range(blocks)]
    model = gc.nn.Sequential(*layers)
    x = gc.placeholder((4, 8), name="x")
    loss = gc.mean(gc.square(model(x)))
    return gc.Graph([x], [loss], gc.optim.Adam(model.parameters(), lr=1e-3).updates(loss))


def test_a_20000_node_graph_opens_fast_and_stays_responsive(browser, tmp_path):
    graph = big_step()
    assert len(graph) >= 20_000
    page = tmp_path / "big.html"
    gc.viz.write_html(graph, page, ["gradients"])
    seconds = browser.open(page.as_uri(), 1400, 900)
    assert browser.eval("document.body.dataset.error") is None and browser.eval("document.body.dataset.ready") == "1"
    assert seconds < 2.0, f"opening took {seconds:.2f} s"
    assert browser.eval("DATA.views[0].nodes.length") >= 20_000
    box = browser.eval("viz.boxes().find(b => b.label === '0').id")
    timed = "(() => {{ const t = performance.now(); {}; return performance.now() - t; }})()"
    ms = browser.eval(timed.format(f"viz.toggle('{box}', true)"))
    assert ms < 300 and len(browser.eval("viz.boxes()")) > 20
    ms = browser.eval(timed.format("viz.search('matmul')"))
    assert ms < 300 and len(browser.eval("viz.state().found")) > 0
    assert browser.requests == [page.as_uri()]
