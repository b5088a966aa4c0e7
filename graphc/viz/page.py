"""The HTML viewer's page: markup, style and script in one string, so a saved file works offline.

The script composes the per-box layouts made in Python (`layout.compound`): module scopes start
collapsed (down to the `expand` depth), a double click opens one in place (what lies right of it in
its row and below it moves over; nothing else moves), and only opened boxes' contents are drawn,
on one canvas, so a 20,000-node graph opens as fast as its top level. Search (op, name, module
path, source line), selection (a forward node lights up its gradient nodes and the other way round),
tracing inputs/outputs, a switch to hide the optimizer, stage buttons and a pass timeline.
`window.viz` exposes the state to tests. A link can open a view and select a node
(`page.html#gradients:n7`). `__DATA__` and `__TITLE__` are filled in by `html.py`; a strict
Content-Security-Policy forbids every request the page could make.
"""

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>__TITLE__</title>
<style>
  html, body { margin: 0; height: 100%; font: 13px system-ui, sans-serif; color: #222; }
  body { display: grid; grid-template-rows: auto 1fr; grid-template-columns: 1fr 320px; }
  header { grid-column: 1 / 3; display: flex; flex-wrap: wrap; gap: 8px; align-items: center;
           padding: 6px 10px; border-bottom: 1px solid #ccc; background: #fafafa; }
  header h1 { font-size: 15px; margin: 0 12px 0 0; }
  button { font: inherit; padding: 2px 9px; border: 1px solid #aaa; border-radius: 4px; background: #fff; cursor: pointer; }
  button.on { background: #2c3e50; color: #fff; border-color: #2c3e50; }
  #timeline { display: none; align-items: center; gap: 6px; }
  #search { width: 220px; padding: 3px 6px; }
  #results { position: absolute; top: 0; right: 8px; z-index: 5; background: #fff; border: 1px solid #aaa; max-height: 320px; overflow: auto;
             display: none; font-size: 12px; min-width: 300px; }
  #results div { padding: 2px 6px; cursor: pointer; white-space: nowrap; }
  #results div:hover { background: #eef; }
  main { position: relative; overflow: hidden; }
  #canvas { width: 100%; height: 100%; display: block; cursor: grab; }
  aside { border-left: 1px solid #ccc; padding: 10px; overflow: auto; background: #fcfcfc; }
  aside h2 { font-size: 14px; margin: 0 0 6px; word-break: break-word; }
  aside table { border-collapse: collapse; width: 100%; }
  aside td { vertical-align: top; padding: 2px 4px; border-bottom: 1px solid #eee; word-break: break-word; }
  aside td:first-child { color: #666; white-space: nowrap; }
  aside pre { white-space: pre-wrap; background: #f3f3f3; padding: 4px; margin: 0; }
  aside a { color: #1f6feb; cursor: pointer; text-decoration: underline; }
  .legend span { display: inline-block; padding: 0 5px; margin: 1px; border: 1px solid #999; border-radius: 3px; font-size: 11px; }
</style>
</head>
<body>
<header>
  <h1 id="title"></h1>
  <span id="stages"></span>
  <span id="timeline"><button id="prev">&#9664;</button><input id="slider" type="range" min="0" value="0"><button id="next">&#9654;</button><span id="passname"></span></span>
  <input id="search" type="search" placeholder="search: op, name, module, file:line" autocomplete="off">
  <label><input id="hideopt" type="checkbox"> hide optimizer</label>
  <button id="collapse">collapse all</button>
  <button id="fit">fit</button>
  <span class="legend" id="legend"></span>
</header>
<main><canvas id="canvas"></canvas><div id="results"></div></main>
<aside id="details"><h2>Details</h2><p>Click a node or box to see its op, type, FLOPs, bytes and the line of your code that made it. Double-click a box to open or close it.</p></aside>
<script>
"use strict";
const DATA = __DATA__;
const FONT = 12, CHAR_W = 7.4, NODE_H = 38, GAP_X = 22, GAP_Y = 46, PAD = 12, TITLE = 24;
const canvas = document.getElementById("canvas"), ctx = canvas.getContext("2d");
const C = DATA.colors;
let view = null, zoom = { x: 0, y: 0, k: 1 }, selected = null, related = new Set(), traced = new Set(), found = new Set();
let open = new Set(), hideOpt = false, item = new Map(), rows = new Map(), visible = [], size = { w: 0, h: 0 };

function prepare(v) {
  // Per box: its rows (members by layer, in left-x order); every item's record by id.
  item = new Map(); rows = new Map();
  const add = (id, rec) => { item.set(id, rec); const r = rows.get(rec.box) || []; (r[rec.L] = r[rec.L] || []).push(rec); rows.set(rec.box, r); };
  for (const s of v.scopes) { s.box = s.box || null; add(s.id, Object.assign(s, { isScope: true })); }
  const clusters = new Map(v.clusters.map(c => [c.id, c]));
  for (const n of v.nodes) {  // the page holds only what differs from the defaults: fill them in
    n.box = n.box || null; n.label = n.label || n.text; n.role = n.role || "forward";
    n.flops = n.flops || 0; n.bytes = n.bytes || 0; n.fill = C.families[n.family] || C.families.other;
    const c = clusters.get(n.cluster);
    n.details = { op: n.op || n.label, attrs: n.attrs || {}, source: n.src === undefined ? "" : v.sources[n.src],
                  cluster: c ? c.label : "", formula: c ? c.formula : "" };
    add(n.id, n);
  }
  v.bends.forEach((b, k) => b.pts.forEach(([L, X], j) => add(`b${k}.${j}`, { id: `b${k}.${j}`, box: b.box, L, X, w: 0, bend: true })));
  for (const r of rows.values()) for (let i = 0; i < r.length; i++) { r[i] = r[i] || []; r[i].sort((a, b) => a.X - b.X); }
  for (const n of v.nodes) {
    n.up = chainOf(n);
    n.search = [n.text, n.sub, n.details.op, ...n.up.map(s => item.get(s).label), n.details.source, n.details.cluster].join(" ").toLowerCase();
  }
  for (const s of v.scopes) s.up = chainOf(s);
  for (const b of v.bends) b.up = chainOf({ box: b.box });
  v.children = new Map();
  for (const n of v.nodes) for (const s of n.up) { const c = v.children.get(s) || []; c.push(n); v.children.set(s, c); }
}

function chainOf(x) { const out = []; let b = x.box; while (b) { out.unshift(b); b = item.get(b).box; } return out; }
function hidden(x) { return hideOpt && x.role === "optimizer"; }

function measure(box) {
  // Rows stack down; in a row, each member keeps its x unless the one left of it grew into it.
  let y = 0, w = 0;
  for (const row of rows.get(box) || []) {
    let right = -Infinity, h = 0;
    for (const m of row) {
      if (hidden(m)) { m.ww = 0; m.hh = 0; } else if (m.isScope && open.has(m.id)) {
        const inner = measure(m.id);
        m.ww = Math.max(inner.w + 2 * PAD, m.w); m.hh = inner.h + TITLE + PAD;
      } else { m.ww = m.w; m.hh = m.bend ? 0 : NODE_H; }
      m.lx = right === -Infinity ? m.X : Math.max(m.X, right + (m.ww ? GAP_X : 0));
      m.ly = y;
      right = m.lx + m.ww; h = Math.max(h, m.hh); w = Math.max(w, right);
    }
    for (const m of row) m.rowH = Math.max(h, NODE_H);
    y += Math.max(h, NODE_H) + GAP_Y;
  }
  return { w, h: Math.max(y - GAP_Y, 0) };
}

function place(box, ox, oy) {
  for (const row of rows.get(box) || []) for (const m of row) {
    m.ax = ox + m.lx; m.ay = oy + m.ly;
    if (hidden(m)) continue;
    if (!m.bend) visible.push(m);
    if (m.isScope && open.has(m.id)) place(m.id, m.ax + PAD, m.ay + TITLE);
  }
}

function relayout() {
  visible = [];
  size = measure(null);
  place(null, 0, 0);
  document.body.dataset.boxes = String(visible.length);
}

function rep(n) {  // the drawn item standing for node n: n, or the outermost closed box around it
  for (const s of n.up) if (!open.has(s)) return item.get(s);
  return n;
}

function edgesToDraw() {
  const out = new Map();
  for (const [s, t, b, hl] of view.edges) {
    const a = item.get(s), z = item.get(t);
    if (hidden(a) || hidden(z)) continue;
    const ra = rep(a), rz = rep(z);
    if (ra === rz || hidden(ra) || hidden(rz)) continue;
    const key = ra.id + ">" + rz.id;
    const e = out.get(key);
    if (e) { e.hl = e.hl || hl; continue; }
    const pts = [];
    if (b >= 0) { const bend = view.bends[b]; if (!bend.box || bend.up.every(x => open.has(x))) bend.pts.forEach((_, j) => { const m = item.get(`b${b}.${j}`); pts.push([m.ax, m.ay + NODE_H / 2]); }); }
    out.set(key, { a: ra, z: rz, pts, hl });
  }
  return [...out.values()];
}

function fit() {
  const r = canvas.getBoundingClientRect(), pad = 30;
  let k = Math.min((r.width - pad) / Math.max(size.w, 1), (r.height - pad) / Math.max(size.h, 1), 1.3);
  const readable = 10 / FONT;  // never start with labels smaller than 10 px: pan instead
  if (k < readable) { k = readable; zoom = { k, x: Math.max(15, (r.width - size.w * k) / 2), y: 15 }; }
  else zoom = { k, x: (r.width - size.w * k) / 2, y: (r.height - size.h * k) / 2 };
  draw();
}

function fillOf(m) {
  if (m.isScope) return m.kind === "gradient" ? C.scopes.gradient : m.kind === "optimizer" ? C.scopes.optimizer : C.scopes.module;
  return m.fill;
}

function roundRect(x, y, w, h, r) { ctx.beginPath(); ctx.roundRect(x, y, w, h, r); }

function draw() {
  const r = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(r.width * dpr) || canvas.height !== Math.round(r.height * dpr)) {
    canvas.width = Math.round(r.width * dpr); canvas.height = Math.round(r.height * dpr);
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, r.width, r.height);
  ctx.setTransform(dpr * zoom.k, 0, 0, dpr * zoom.k, dpr * zoom.x, dpr * zoom.y);
  const x0 = -zoom.x / zoom.k, y0 = -zoom.y / zoom.k, x1 = x0 + r.width / zoom.k, y1 = y0 + r.height / zoom.k;
  const onScreen = m => m.ax <= x1 && m.ax + m.ww >= x0 && m.ay <= y1 && m.ay + m.hh >= y0;
  const text = zoom.k * FONT >= 4;
  // opened boxes: frames behind their contents
  for (const m of visible) if (m.isScope && open.has(m.id) && onScreen(m)) {
    roundRect(m.ax, m.ay, m.ww, m.hh, 8);
    ctx.fillStyle = fillOf(m) + "55"; ctx.fill();
    ctx.strokeStyle = mark(m) || C.cluster; ctx.lineWidth = mark(m) ? 3 : 1.2; ctx.setLineDash([6, 3]); ctx.stroke(); ctx.setLineDash([]);
    if (text) { ctx.fillStyle = "#333"; ctx.font = `bold ${FONT}px monospace`; ctx.textBaseline = "middle"; ctx.textAlign = "left";
      ctx.fillText(`\u25be ${m.label}  ${m.type}`, m.ax + 8, m.ay + TITLE / 2 + 1); }
  }
  // clusters of two or more drawn nodes (a user's groups drawn open): a dashed frame around them
  const frames = new Map();
  for (const m of visible) if (m.cluster && !m.isScope) {
    const f = frames.get(m.cluster) || { n: 0, x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
    f.n++; f.x0 = Math.min(f.x0, m.ax); f.y0 = Math.min(f.y0, m.ay); f.x1 = Math.max(f.x1, m.ax + m.ww); f.y1 = Math.max(f.y1, m.ay + m.hh);
    frames.set(m.cluster, f);
  }
  for (const c of view.clusters) {
    const f = frames.get(c.id);
    if (!f || f.n < 2) continue;
    roundRect(f.x0 - 10, f.y0 - 24, f.x1 - f.x0 + 20, f.y1 - f.y0 + 34, 8);
    ctx.strokeStyle = C.cluster; ctx.lineWidth = 1.2; ctx.setLineDash([6, 3]); ctx.stroke(); ctx.setLineDash([]);
    if (text) { ctx.fillStyle = C.cluster; ctx.font = `${FONT}px monospace`; ctx.textAlign = "left"; ctx.textBaseline = "middle";
      ctx.fillText(c.label, f.x0 - 4, f.y0 - 13); }
  }
  ctx.lineWidth = 1.2;
  for (const e of edgesToDraw()) {
    const down = e.z.ay >= e.a.ay + e.a.hh - 1;
    const p = [[e.a.ax + e.a.ww / 2, down ? e.a.ay + e.a.hh : e.a.ay], ...(down ? e.pts : e.pts), [e.z.ax + e.z.ww / 2, down ? e.z.ay : e.z.ay + e.z.hh]];
    ctx.beginPath(); ctx.moveTo(p[0][0], p[0][1]);
    for (let i = 1; i < p.length; i++) { const my = (p[i - 1][1] + p[i][1]) / 2; ctx.bezierCurveTo(p[i - 1][0], my, p[i][0], my, p[i][0], p[i][1]); }
    ctx.strokeStyle = e.hl ? C.highlight : "#888"; ctx.lineWidth = e.hl ? 2.5 : 1.1; ctx.stroke();
    const [ex, ey] = p[p.length - 1], dir = down ? -1 : 1;
    ctx.beginPath(); ctx.moveTo(ex, ey); ctx.lineTo(ex - 4, ey + 7 * dir); ctx.lineTo(ex + 4, ey + 7 * dir); ctx.closePath();
    ctx.fillStyle = e.hl ? C.highlight : "#666"; ctx.fill();
  }
  for (const m of visible) {
    if ((m.isScope && open.has(m.id)) || !onScreen(m)) continue;
    const grad = m.isScope ? m.kind === "gradient" : m.gradient;
    roundRect(m.ax, m.ay, m.ww, m.hh, m.isScope ? 3 : m.family === "constant" ? 0 : 9);
    ctx.fillStyle = fillOf(m); ctx.fill();
    const hl = mark(m);
    ctx.strokeStyle = hl || (grad ? C.gradient : "#444"); ctx.lineWidth = hl ? 3.5 : grad ? 2 : 1;
    if (grad || m.truncated) ctx.setLineDash([5, 3]);
    ctx.stroke(); ctx.setLineDash([]);
    if (m.isScope) { ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.beginPath(); ctx.moveTo(m.ax + 4, m.ay + m.hh + 3); ctx.lineTo(m.ax + m.ww + 3, m.ay + m.hh + 3); ctx.lineTo(m.ax + m.ww + 3, m.ay + 4); ctx.stroke(); }
    if (m.output) { roundRect(m.ax - 4, m.ay - 4, m.ww + 8, m.hh + 8, 11); ctx.strokeStyle = "#444"; ctx.lineWidth = 1; ctx.stroke(); }
    if (text) {
      ctx.textAlign = "center"; ctx.textBaseline = "middle"; ctx.fillStyle = "#222";
      ctx.font = `bold ${FONT}px monospace`; ctx.fillText(m.text, m.ax + m.ww / 2, m.ay + 12);
      ctx.font = `${FONT}px monospace`; ctx.fillStyle = "#555"; ctx.fillText(m.sub, m.ax + m.ww / 2, m.ay + 27);
    }
  }
}

function mark(m) {  // the outline color a drawn item gets: selected, related, traced, found, changed by the pass
  if (selected && (m === selected || (selected.up && selected.up.includes(m.id) && !open.has(m.id)))) return "#1f6feb";
  if (related.has(m.id)) return "#8e44ad";
  if (traced.has(m.id)) return C.highlight;
  if (found.has(m.id)) return "#d4ac0d";
  if (m.changed || m.highlighted) return C.highlight;
  return null;
}

function lit(ids) {  // ids of nodes -> the drawn items standing for them
  const out = new Set();
  for (const id of ids) { const n = item.get(id); if (n) out.add(rep(n).id); }
  return out;
}

function at(px, py) {
  const x = (px - zoom.x) / zoom.k, y = (py - zoom.y) / zoom.k;
  let best = null;
  for (const m of visible) if (x >= m.ax && x <= m.ax + m.ww && y >= m.ay && y <= m.ay + m.hh) {
    if (!best || (m.up || []).length >= (best.up || []).length) best = m;
  }
  return best;
}

function toggle(id, state) {
  const m = item.get(id);
  if (!m || !m.isScope) return;
  if (state === undefined ? !open.has(id) : state) open.add(id); else open.delete(id);
  relayout(); refreshMarks(); draw();
}

function reveal(n) { for (const s of n.up) open.add(s); relayout(); }

function refreshMarks() {
  related = new Set(); traced = traced; found = lit(view.foundIds || []);
  if (!selected) return;
  let ids = [];
  if (selected.isScope) { if (selected.partner) related.add(selected.partner); return; }
  if (selected.grad_of) ids = [selected.grad_of, ...view.nodes.filter(n => n.grad_of === selected.grad_of).map(n => n.id)];
  else ids = view.nodes.filter(n => n.grad_of === selected.id).map(n => n.id);
  related = lit(ids.filter(i => i !== selected.id));
  related.delete(rep(selected).id);
}

function trace(direction) {
  const next = new Map(view.nodes.map(n => [n.id, []]));
  for (const [s, t] of view.edges) direction === "inputs" ? next.get(t)?.push(s) : next.get(s)?.push(t);
  const start = selected.isScope ? view.children.get(selected.id).map(n => n.id) : [selected.id];
  const seen = new Set(start), stack = [...start];
  while (stack.length) for (const x of next.get(stack.pop()) || []) if (!seen.has(x)) { seen.add(x); stack.push(x); }
  for (const s of start) seen.delete(s);
  traced = lit(seen);
  draw();
  return seen.size;
}

function human(x) { return x >= 1e9 ? (x / 1e9).toFixed(2) + " G" : x >= 1e6 ? (x / 1e6).toFixed(2) + " M" : x >= 1e3 ? (x / 1e3).toFixed(1) + " k" : String(x) + " "; }

function row(table, key, value, onclick) {
  if (value === undefined || value === null || value === "") return;
  const tr = table.insertRow();
  tr.insertCell().textContent = key;
  const cell = tr.insertCell();
  if (onclick) { const a = document.createElement("a"); a.textContent = value; a.onclick = onclick; cell.appendChild(a); return; }
  const pre = document.createElement("pre"); pre.textContent = value; cell.appendChild(pre);
}

function select(m, center) {
  selected = m; traced = new Set();
  if (m && !m.isScope && m.up.some(s => !open.has(s))) reveal(m);
  refreshMarks();
  if (m && center) { const r = canvas.getBoundingClientRect(); zoom.k = Math.max(zoom.k, 1); zoom.x = r.width / 2 - (m.ax + m.ww / 2) * zoom.k; zoom.y = r.height / 2 - (m.ay + m.hh / 2) * zoom.k; }
  draw();
  const aside = document.getElementById("details");
  aside.replaceChildren();
  if (!m) return;
  const h = document.createElement("h2"); h.textContent = m.text; aside.appendChild(h);
  const bar = document.createElement("p");
  for (const [label, fn] of [["trace inputs", () => trace("inputs")], ["trace outputs", () => trace("outputs")],
                             ...(m.isScope ? [[open.has(m.id) ? "close" : "open", () => { toggle(m.id); select(m); }]] : [])]) {
    const b = document.createElement("button"); b.textContent = label; b.onclick = fn; bar.appendChild(b);
  }
  aside.appendChild(bar);
  const table = document.createElement("table"); aside.appendChild(table);
  const goto = id => () => select(item.get(id), true);
  if (m.isScope) {
    row(table, "box", m.kind); row(table, "type", m.type); row(table, "nodes", String(m.nodes));
    row(table, "FLOPs", human(m.flops)); row(table, "bytes", human(m.bytes) + "B");
    row(table, "source", m.source);
    if (m.partner) row(table, m.kind === "gradient" ? "forward" : "gradient", item.get(m.partner).label, goto(m.partner));
    return;
  }
  row(table, "op", m.details.op); row(table, "family", m.family); row(table, "role", m.role); row(table, "type", m.sub);
  row(table, "FLOPs", human(m.flops)); row(table, "bytes", human(m.bytes) + "B");
  for (const [k, v] of Object.entries(m.details.attrs)) row(table, k, v);
  row(table, "source", m.details.source);
  if (m.box) { const s = item.get(m.box); row(table, "module", `${s.label} (${s.type})`, goto(s.id)); row(table, "module source", s.source); }
  row(table, "kernel", m.details.cluster); row(table, "formula", m.details.formula);
  if (m.grad_of) row(table, "gradient of", item.get(m.grad_of).text, goto(m.grad_of));
  for (const g of view.nodes.filter(n => n.grad_of === m.id).slice(0, 12)) row(table, "its gradient", g.text + " " + g.sub, goto(g.id));
  for (const [s, t] of view.edges) { if (t === m.id) row(table, "input", item.get(s).text + " " + item.get(s).sub, goto(s)); }
  let outs = 0;
  for (const [s, t] of view.edges) if (s === m.id && outs++ < 12) row(table, "output", item.get(t).text + " " + item.get(t).sub, goto(t));
  if (m.output) row(table, "output of the graph", "yes");
  if (m.truncated) row(table, "inputs", "cut off by the depth limit");
}

function search(q) {
  q = q.trim().toLowerCase();
  const hits = !q ? [] : view.nodes.filter(n => n.search.includes(q));
  view.foundIds = hits.map(n => n.id);
  found = lit(view.foundIds);
  const box = document.getElementById("results");
  box.replaceChildren();
  for (const n of hits.slice(0, 60)) {
    const d = document.createElement("div");
    d.textContent = `${n.text}  ${n.sub}  ${n.box ? item.get(n.box).label : ""}  ${n.details.source.split(": ")[0]}`;
    d.onclick = () => { box.style.display = "none"; select(n, true); };
    box.appendChild(d);
  }
  box.style.display = hits.length ? "block" : "none";
  draw();
  return hits.length;
}

function render(index) {
  view = DATA.views[index];
  if (!view.prepared) { prepare(view); view.prepared = true; }
  open = new Set(view.scopes.filter(s => s.depth < DATA.expand).map(s => s.id));
  selected = null; related = new Set(); traced = new Set(); view.foundIds = [];
  relayout();
  for (const b of document.querySelectorAll("#stages button")) b.classList.toggle("on", +b.dataset.index === index);
  document.body.dataset.view = view.name;
  document.body.dataset.nodes = String(view.nodes.length);
  const q = document.getElementById("search").value;
  if (q) search(q);
  fit();
}

function boxes() {  // what is drawn, in screen pixels (for tests)
  const r = canvas.getBoundingClientRect();
  return visible.map(m => ({ id: m.id, label: m.text || m.label, scope: !!m.isScope, open: open.has(m.id),
    x: r.left + zoom.x + m.ax * zoom.k, y: r.top + zoom.y + m.ay * zoom.k, w: m.ww * zoom.k, h: m.hh * zoom.k,
    font: FONT * zoom.k, mark: mark(m),
    textW: ctx.measureText(m.text || m.label).width * zoom.k }));
}

function setup() {
  document.getElementById("title").textContent = DATA.title;
  document.title = DATA.title;
  const stages = document.getElementById("stages");
  const passes = [];
  DATA.views.forEach((v, i) => {
    if (v.kind === "pass") { passes.push(i); return; }
    const b = document.createElement("button");
    b.textContent = v.name; b.dataset.index = String(i);
    b.addEventListener("click", () => render(i));
    stages.appendChild(b);
  });
  const slider = document.getElementById("slider"), name = document.getElementById("passname");
  const show = () => {
    const i = passes[+slider.value];
    const v = DATA.views[i];
    name.textContent = `${+slider.value + 1}/${passes.length}: ${v.name} (${v.summary})`;
    render(i);
  };
  if (passes.length) {
    document.getElementById("timeline").style.display = "flex";
    slider.max = String(passes.length - 1);
    slider.addEventListener("input", show);
    document.getElementById("prev").onclick = () => { slider.value = String(Math.max(0, +slider.value - 1)); show(); };
    document.getElementById("next").onclick = () => { slider.value = String(Math.min(passes.length - 1, +slider.value + 1)); show(); };
    const b = document.createElement("button"); b.textContent = "passes"; b.addEventListener("click", show); stages.appendChild(b);
  }
  const legend = document.getElementById("legend");
  for (const [family, color] of Object.entries(C.families)) {
    const s = document.createElement("span"); s.textContent = family; s.style.background = color; legend.appendChild(s);
  }
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("collapse").addEventListener("click", () => { open = new Set(); relayout(); refreshMarks(); fit(); });
  const hide = document.getElementById("hideopt");
  hide.checked = DATA.hideOptimizer;
  hideOpt = hide.checked;
  hide.addEventListener("change", () => { hideOpt = hide.checked; relayout(); draw(); });
  const input = document.getElementById("search");
  input.value = DATA.search || "";
  input.addEventListener("input", () => search(input.value));
  input.addEventListener("keydown", ev => { if (ev.key === "Enter" && view.foundIds.length) { document.getElementById("results").style.display = "none"; select(item.get(view.foundIds[0]), true); } });
  let drag = null, moved = false;
  canvas.addEventListener("mousedown", ev => { drag = { x: ev.clientX - zoom.x, y: ev.clientY - zoom.y }; moved = false; });
  window.addEventListener("mousemove", ev => { if (drag) { zoom.x = ev.clientX - drag.x; zoom.y = ev.clientY - drag.y; moved = true; draw(); } });
  window.addEventListener("mouseup", () => { drag = null; });
  const local = ev => { const r = canvas.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
  canvas.addEventListener("click", ev => { if (!moved) select(at(...local(ev))); });
  canvas.addEventListener("dblclick", ev => { const m = at(...local(ev)); if (m && m.isScope) { toggle(m.id); select(m); } });
  canvas.addEventListener("wheel", ev => {
    ev.preventDefault();
    const [mx, my] = local(ev), f = Math.exp(-ev.deltaY * 0.0015);
    zoom.x = mx - (mx - zoom.x) * f; zoom.y = my - (my - zoom.y) * f; zoom.k *= f;
    draw();
  }, { passive: false });
  window.addEventListener("resize", draw);
  const [want, node] = decodeURIComponent(location.hash.slice(1)).split(":");
  const start = Math.max(0, DATA.views.findIndex(v => v.name === want));
  if (DATA.views.length) render(start);
  if (node && item.get(node)) select(item.get(node), true);
  window.viz = { boxes, toggle, search, select: id => select(item.get(id), true), trace, render, fit, draw,
                 step: i => { slider.value = String(i); show(); }, state: () => ({ view: view.name, open: [...open], selected: selected && selected.id,
                 related: [...related], traced: [...traced], found: [...found], zoom: { ...zoom } }), find: label => view.nodes.concat(view.scopes).filter(x => (x.text || x.label) === label).map(x => x.id) };
  document.body.dataset.ready = "1";
}

window.addEventListener("error", ev => { document.body.dataset.error = String(ev.message); });
setup();
</script>
</body>
</html>
"""
