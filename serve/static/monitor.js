"use strict";
// The supervisor page: GET /v1/monitor, drawn as cards, a daily chart (SVG) and tables. No inline script.

const KEY_STORE = "minyi.apiKey"; // the same key the console keeps
const $ = (id) => document.getElementById(id);
const pct = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)}%`);
const num = (v, d = 3) => (v === null || v === undefined ? "–" : Number(v).toFixed(d));

function el(tag, attrs = {}, text) {
  const node = document.createElementNS(tag === "svg" || attrs.svg ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
  for (const [k, v] of Object.entries(attrs)) if (k !== "svg") node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function table(id, head, rows, numeric = []) {
  const t = $(id);
  t.replaceChildren();
  const tr = el("tr");
  head.forEach((h, i) => tr.append(el("th", numeric.includes(i) ? { class: "num" } : {}, h)));
  t.append(tr);
  if (!rows.length) {
    const empty = el("tr");
    empty.append(el("td", { colspan: String(head.length), class: "muted" }, "无数据"));
    t.append(empty);
  }
  for (const row of rows) {
    const r = el("tr", row.high ? { class: "high" } : {});
    row.cells.forEach((c, i) => r.append(el("td", numeric.includes(i) ? { class: "num" } : {}, String(c))));
    t.append(r);
  }
}

function cards(r) {
  const drift = r.drift || {};
  const alert = (v) => v !== null && v !== undefined && v > (drift.alert_above || 0.25);
  const items = [
    ["建议数", r.suggestions], ["决定数", r.decisions],
    ["首选采纳率", pct(r.rank1_acceptance), r.sustained_drop && r.sustained_drop.flagged],
    ["改派率", pct(r.override_rate)],
    ["分数校准误差 ECE", num(r.reliability && r.reliability.ece)],
    ["类别分数 PSI", num(drift.category_score_psi), alert(drift.category_score_psi)],
    ["路由分数 PSI", num(drift.route_score_psi), alert(drift.route_score_psi)],
    ["类别分布 PSI", num(drift.category_mix_psi), alert(drift.category_mix_psi)],
  ];
  $("cards").replaceChildren(...items.map(([k, v, bad]) => {
    const c = el("div", { class: bad ? "card bad" : "card" });
    c.append(el("div", { class: "v" }, String(v)), el("div", { class: "k" }, k));
    return c;
  }));
}

function chart(r) {
  const svg = $("daily-chart");
  svg.replaceChildren();
  const days = r.daily || [];
  const W = 720, H = 220, L = 36, R = 8, T = 10, B = 24;
  const x = (i) => L + (days.length > 1 ? (i * (W - L - R)) / (days.length - 1) : 0);
  const y = (v) => T + (1 - v) * (H - T - B);
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(el("line", { svg: 1, x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e3e6ea" }));
    svg.append(el("text", { svg: 1, x: 2, y: y(v) + 4, "font-size": 10, fill: "#6b7380" }, `${v * 100}%`));
  }
  const drop = r.sustained_drop || {};
  for (const run of drop.runs || []) {
    const i0 = days.findIndex((d) => d.day === run.from), i1 = days.findIndex((d) => d.day === run.to);
    if (i0 >= 0 && i1 >= 0) svg.append(el("rect", { svg: 1, x: x(i0), y: T, width: Math.max(2, x(i1) - x(i0)), height: H - T - B, fill: "#d93025", "fill-opacity": 0.1 }));
  }
  const hline = (v, color) => v !== null && v !== undefined &&
    svg.append(el("line", { svg: 1, x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: color, "stroke-dasharray": "4 3" }));
  hline(drop.baseline, "#188038");
  hline(drop.limit, "#d93025");
  days.forEach((d, i) => {
    if (d.rank1_acceptance !== null) svg.append(el("circle", { svg: 1, cx: x(i), cy: y(d.rank1_acceptance), r: 2.5, fill: "#9aa0a6" }));
  });
  const pts = days.map((d, i) => (d.rolling === null ? null : `${x(i)},${y(d.rolling)}`)).filter(Boolean);
  if (pts.length) svg.append(el("polyline", { svg: 1, points: pts.join(" "), fill: "none", stroke: "#1a73e8", "stroke-width": 2 }));
  days.forEach((d, i) => {
    if (i % 7 === 0) svg.append(el("text", { svg: 1, x: x(i) - 14, y: H - 6, "font-size": 10, fill: "#6b7380" }, d.day.slice(5)));
  });
}

function render(r) {
  $("model-version").textContent = r.model_version ? `模型 ${r.model_version}` : "";
  const drop = r.sustained_drop || {};
  const alert = $("alert");
  alert.hidden = !drop.flagged;
  if (drop.flagged) {
    const run = drop.runs[drop.runs.length - 1];
    alert.textContent = `首选采纳率持续下降：${run.from} 至 ${run.to}（${run.days} 天）滚动采纳率低于 ${pct(drop.limit)}` +
      `（基线 ${pct(drop.baseline)} − 阈值 ${pct(drop.threshold)}），最低 ${pct(run.lowest)}。`;
  }
  cards(r);
  chart(r);
  const o = r.overrides || {};
  const rate = (m) => Object.entries(m || {}).map(([k, v]) => ({ cells: [k, v.decisions, pct(v.rank1_acceptance), pct(v.override_rate)],
    high: r.override_rate !== null && v.override_rate > r.override_rate + 0.1 }));
  table("by-week", ["周", "决定", "首选采纳", "改派率"], rate(o.by_week), [1, 2, 3]);
  table("by-category", ["建议类别", "决定", "首选采纳", "改派率"], rate(o.by_category), [1, 2, 3]);
  table("by-department", ["建议部门", "决定", "首选采纳", "改派率"], rate(o.by_department).slice(0, 15), [1, 2, 3]);
  const rel = r.reliability || {};
  table("reliability", ["分数区间", "数量", "平均分数", "实际采纳"],
    (rel.bins || []).map((b) => ({ cells: [`${b.lower.toFixed(1)}–${b.upper.toFixed(1)}`, b.count, num(b.confidence), num(b.accuracy)],
      high: Math.abs(b.confidence - b.accuracy) > 0.15 })), [1, 2, 3]);
  const mix = (r.drift && r.drift.category_mix) || { served: {}, reference: {} };
  const labels = [...new Set([...Object.keys(mix.reference), ...Object.keys(mix.served)])].sort();
  table("mix", ["类别", "训练参照", "线上", "差"], labels.map((k) => {
    const a = mix.reference[k] || 0, b = mix.served[k] || 0;
    return { cells: [k, pct(a), pct(b), `${((b - a) * 100).toFixed(1)} pt`], high: Math.abs(b - a) > 0.1 };
  }), [1, 2, 3]);
  const lat = (r.latency && r.latency.by_week) || {};
  table("latency", ["周", "决定", "中位（分钟）", "90%（分钟）"],
    Object.entries(lat).map(([w, v]) => ({ cells: [w, v.n, (v.p50 / 60).toFixed(1), (v.p90 / 60).toFixed(1)] })), [1, 2, 3]);
}

async function load() {
  const key = localStorage.getItem(KEY_STORE) || "";
  const params = new URLSearchParams();
  if ($("since").value) params.set("since", `${$("since").value}T00:00:00Z`);
  if ($("until").value) params.set("until", `${$("until").value}T00:00:00Z`);
  $("status").textContent = "加载中…";
  try {
    const resp = await fetch(`/v1/monitor?${params}`, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
    const body = await resp.json();
    if (!resp.ok) {
      $("status").textContent = `错误 ${resp.status}：${body.message || body.detail || ""}`;
      return;
    }
    render(body);
    $("status").textContent = `${body.period.since.slice(0, 10)} 至 ${body.period.until.slice(0, 10)}：${body.decisions} 个决定`;
  } catch (err) {
    $("status").textContent = `无法连接服务：${err}`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const today = new Date();
  const ago = new Date(today.getTime() - 30 * 86400000);
  $("until").value = new Date(today.getTime() + 86400000).toISOString().slice(0, 10);
  $("since").value = ago.toISOString().slice(0, 10);
  $("save-key").addEventListener("click", () => {
    const k = $("api-key").value.trim();
    if (k) localStorage.setItem(KEY_STORE, k);
    $("api-key").value = "";
    load();
  });
  $("load").addEventListener("click", load);
  if (localStorage.getItem(KEY_STORE)) load();
});
