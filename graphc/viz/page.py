"""The HTML viewer's page: markup, style and script in one string, so a saved file works offline.

The script draws views laid out in Python (see `layout`): SVG nodes and edges,
pan by dragging, zoom with the wheel, details on click, stage buttons and a pass
timeline. A link can open a view and select a node (`page.html#gradients:n7`).
`__DATA__` and `__TITLE__` are filled in by `html.py`.
"""

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>__TITLE__</title>
<style>
  html, body { margin: 0; height: 100%; font: 13px system-ui, sans-serif; color: #222; }
  body { display: grid; grid-template-rows: auto 1fr; grid-template-columns: 1fr 300px; }
  header { grid-column: 1 / 3; display: flex; flex-wrap: wrap; gap: 8px; align-items: center;
           padding: 6px 10px; border-bottom: 1px solid #ccc; background: #fafafa; }
  header h1 { font-size: 15px; margin: 0 12px 0 0; }
  button { font: inherit; padding: 2px 9px; border: 1px solid #aaa; border-radius: 4px; background: #fff; cursor: pointer; }
  button.on { background: #2c3e50; color: #fff; border-color: #2c3e50; }
  #timeline { display: none; align-items: center; gap: 6px; }
  #canvas { width: 100%; height: 100%; cursor: grab; background: #fff; display: block; }
  #canvas.dragging { cursor: grabbing; }
  aside { border-left: 1px solid #ccc; padding: 10px; overflow: auto; background: #fcfcfc; }
  aside h2 { font-size: 14px; margin: 0 0 6px; }
  aside table { border-collapse: collapse; width: 100%; }
  aside td { vertical-align: top; padding: 2px 4px; border-bottom: 1px solid #eee; word-break: break-word; }
  aside td:first-child { color: #666; white-space: nowrap; }
  aside pre { white-space: pre-wrap; background: #f3f3f3; padding: 4px; margin: 0; }
  .legend span { display: inline-block; padding: 0 5px; margin: 1px; border: 1px solid #999; border-radius: 3px; font-size: 11px; }
  svg text { font: 11.5px "DejaVu Sans Mono", Menlo, Consolas, monospace; pointer-events: none; }
  .node { cursor: pointer; }
  .node.selected > .shape { stroke: #1f6feb; stroke-width: 3; }
</style>
</head>
<body>
<header>
  <h1 id="title"></h1>
  <span id="stages"></span>
  <span id="timeline"><input id="slider" type="range" min="0" value="0"><span id="passname"></span></span>
  <button id="fit">fit</button>
  <span class="legend" id="legend"></span>
</header>
<svg id="canvas" xmlns="http://www.w3.org/2000/svg">
  <defs>
    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
      <path d="M0,0 L10,5 L0,10 z" fill="#555"></path>
    </marker>
    <marker id="arrow-hi" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
      <path d="M0,0 L10,5 L0,10 z" fill="__HIGHLIGHT__"></path>
    </marker>
  </defs>
  <g id="viewport"></g>
</svg>
<aside id="details"><h2>Details</h2><p>Click a node to see its op, type, attributes and the line of your code that declared it.</p></aside>
<script>
"use strict";
const DATA = __DATA__;
const SVGNS = "http://www.w3.org/2000/svg";
const svg = document.getElementById("canvas");
const viewport = document.getElementById("viewport");
let view = null, zoom = { x: 0, y: 0, k: 1 }, selected = null;

function el(name, attrs, parent) {
  const e = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function applyZoom() {
  viewport.setAttribute("transform", `translate(${zoom.x},${zoom.y}) scale(${zoom.k})`);
}

function fit() {
  const r = svg.getBoundingClientRect(), pad = 30;
  const k = Math.min((r.width - pad) / Math.max(view.width, 1), (r.height - pad) / Math.max(view.height, 1), 1.6);
  zoom = { k, x: (r.width - view.width * k) / 2, y: (r.height - view.height * k) / 2 };
  applyZoom();
}

function drawShape(n, g) {
  const x = n.x - n.w / 2, y = n.y - n.h / 2;
  const stroke = n.highlighted ? DATA.colors.highlight : n.gradient ? DATA.colors.gradient : "#444";
  const common = { class: "shape", fill: n.fill, stroke, "stroke-width": n.highlighted ? 3 : n.gradient ? 2 : 1 };
  if (n.gradient || n.truncated) common["stroke-dasharray"] = "5,3";
  if (n.family === "placeholder") {
    el("ellipse", { ...common, cx: n.x, cy: n.y, rx: n.w / 2, ry: n.h / 2 }, g);
  } else if (n.family === "group") {
    el("rect", { x: x + 4, y: y + 4, width: n.w, height: n.h, fill: "#bbb" }, g);
    el("rect", { ...common, x, y, width: n.w, height: n.h }, g);
  } else {
    const rx = n.family === "parameter" ? 2 : n.family === "constant" ? 0 : 9;
    el("rect", { ...common, x, y, width: n.w, height: n.h, rx }, g);
    if (n.family === "parameter") el("rect", { x: x + 3, y: y + 3, width: n.w - 6, height: n.h - 6, fill: "none", stroke, rx: 1 }, g);
  }
  if (n.output) el("rect", { x: x - 4, y: y - 4, width: n.w + 8, height: n.h + 8, rx: 11, fill: "none", stroke: "#444" }, g);
}

function render(index) {
  view = DATA.views[index];
  viewport.replaceChildren();
  selected = null;
  const byId = new Map(view.nodes.map(n => [n.id, n]));
  const bounds = new Map();  // cluster id -> [x0, y0, x1, y1] of its nodes: one pass, whatever the number of clusters
  for (const n of view.nodes) {
    if (!n.cluster) continue;
    const b = bounds.get(n.cluster) || [Infinity, Infinity, -Infinity, -Infinity];
    bounds.set(n.cluster, [Math.min(b[0], n.x - n.w / 2), Math.min(b[1], n.y - n.h / 2),
                           Math.max(b[2], n.x + n.w / 2), Math.max(b[3], n.y + n.h / 2)]);
  }
  for (const c of view.clusters) {
    const b = bounds.get(c.id);
    if (!b) continue;
    const x0 = b[0] - 10, y0 = b[1] - 24, x1 = b[2] + 10, y1 = b[3] + 10;
    const box = el("rect", { x: x0, y: y0, width: x1 - x0, height: y1 - y0, rx: 8, fill: "#f7f2ff", stroke: DATA.colors.cluster, "stroke-dasharray": "6,3" }, viewport);
    el("title", {}, box).textContent = c.formula || c.label;  // the formula: on hover, and in a node's details
    const t = el("text", { x: x0 + 6, y: y0 + 15, fill: DATA.colors.cluster }, viewport);
    t.textContent = c.label;
  }
  for (const e of view.edges) {
    const p = e.points;
    let d = `M${p[0][0]},${p[0][1]}`;
    for (let i = 1; i < p.length; i++) {
      const my = (p[i - 1][1] + p[i][1]) / 2;
      d += ` C${p[i - 1][0]},${my} ${p[i][0]},${my} ${p[i][0]},${p[i][1]}`;
    }
    el("path", { d, fill: "none", stroke: e.highlighted ? DATA.colors.highlight : "#777",
                 "stroke-width": e.highlighted ? 2.5 : 1.2, "marker-end": e.highlighted ? "url(#arrow-hi)" : "url(#arrow)" }, viewport);
  }
  for (const n of view.nodes) {
    const g = el("g", { class: "node", "data-id": n.id }, viewport);
    drawShape(n, g);
    const t1 = el("text", { x: n.x, y: n.y - 3, "text-anchor": "middle", "font-weight": "bold" }, g);
    t1.textContent = (n.gradient ? "\u2207 " : "") + n.label;
    const t2 = el("text", { x: n.x, y: n.y + 11, "text-anchor": "middle", fill: "#555" }, g);
    t2.textContent = n.sub;
    g.addEventListener("click", ev => { ev.stopPropagation(); select(g, byId.get(n.id)); });
  }
  for (const b of document.querySelectorAll("#stages button")) b.classList.toggle("on", +b.dataset.index === index);
  document.body.dataset.view = view.name;
  document.body.dataset.nodes = String(view.nodes.length);
  fit();
}

function row(table, key, value) {
  if (value === undefined || value === null || value === "") return;
  const tr = table.insertRow();
  tr.insertCell().textContent = key;
  const pre = document.createElement("pre");
  pre.textContent = value;
  tr.insertCell().appendChild(pre);
}

function select(g, n) {
  if (selected) selected.classList.remove("selected");
  selected = g;
  g.classList.add("selected");
  const aside = document.getElementById("details");
  aside.replaceChildren();
  const h = document.createElement("h2");
  h.textContent = n.label;
  aside.appendChild(h);
  const table = document.createElement("table");
  aside.appendChild(table);
  row(table, "op", n.details.op);
  row(table, "family", n.family);
  row(table, "type", n.sub);
  for (const [k, v] of Object.entries(n.details.attrs)) row(table, k, v);
  row(table, "source", n.details.source);
  row(table, "kernel", n.details.cluster);
  row(table, "formula", n.details.formula);
  if (n.gradient) row(table, "gradient", "built by gc.grad (not an ancestor of the forward outputs)");
  if (n.output) row(table, "output", "yes");
  if (n.truncated) row(table, "inputs", "cut off by the depth limit");
}

function setup() {
  document.getElementById("title").textContent = DATA.title;
  document.title = DATA.title;
  const stages = document.getElementById("stages");
  const passes = [];
  DATA.views.forEach((v, i) => {
    if (v.kind === "pass") { passes.push(i); return; }
    const b = document.createElement("button");
    b.textContent = v.name;
    b.dataset.index = String(i);
    b.addEventListener("click", () => render(i));
    stages.appendChild(b);
  });
  if (passes.length) {
    const slider = document.getElementById("slider"), name = document.getElementById("passname");
    document.getElementById("timeline").style.display = "flex";
    slider.max = String(passes.length - 1);
    const show = () => {
      const i = passes[+slider.value];
      name.textContent = `pass ${+slider.value + 1}/${passes.length}: ${DATA.views[i].name}`;
      render(i);
    };
    slider.addEventListener("input", show);
    const b = document.createElement("button");
    b.textContent = "passes";
    b.addEventListener("click", show);
    stages.appendChild(b);
  }
  const legend = document.getElementById("legend");
  for (const [family, color] of Object.entries(DATA.colors.families)) {
    const s = document.createElement("span");
    s.textContent = family;
    s.style.background = color;
    legend.appendChild(s);
  }
  document.getElementById("fit").addEventListener("click", fit);
  let drag = null;
  svg.addEventListener("mousedown", ev => { drag = { x: ev.clientX - zoom.x, y: ev.clientY - zoom.y }; svg.classList.add("dragging"); });
  window.addEventListener("mousemove", ev => { if (drag) { zoom.x = ev.clientX - drag.x; zoom.y = ev.clientY - drag.y; applyZoom(); } });
  window.addEventListener("mouseup", () => { drag = null; svg.classList.remove("dragging"); });
  svg.addEventListener("wheel", ev => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect(), f = Math.exp(-ev.deltaY * 0.0015);
    const mx = ev.clientX - r.left, my = ev.clientY - r.top;
    zoom.x = mx - (mx - zoom.x) * f;
    zoom.y = my - (my - zoom.y) * f;
    zoom.k *= f;
    applyZoom();
  }, { passive: false });
  window.addEventListener("resize", fit);
  // A link may name the view and a node to select: page.html#gradients or #gradients:n7.
  const [want, node] = decodeURIComponent(location.hash.slice(1)).split(":");
  const start = Math.max(0, DATA.views.findIndex(v => v.name === want));
  if (DATA.views.length) render(start);
  const g = node && viewport.querySelector(`g[data-id="${node}"]`);
  if (g) select(g, view.nodes.find(n => n.id === node));
  document.body.dataset.ready = "1";
}

window.addEventListener("error", ev => { document.body.dataset.error = String(ev.message); });
setup();
</script>
</body>
</html>
"""
