// 热点问题: the supervisors' page. Polls GET /v1/hotspots every 10 s and redraws the ranking; a hot issue
// that is new or grew since the last poll is outlined. Plain JS, no build step; every value from the server
// is inserted with textContent (never as HTML). The key is kept apart from the dispatcher console's.
"use strict";
// el() comes from dom.js, loaded first.

const KEY_STORE = "minyi.supervisorKey";
const POLL_MS = 10000;
const $ = (id) => document.getElementById(id);
let last = new Map(); // first member id -> n, at the previous poll

function apiKey() {
  return localStorage.getItem(KEY_STORE) || "";
}

function day(iso) {
  return iso ? iso.slice(0, 16).replace("T", " ") : "";
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

function render(body) {
  const list = $("hotspots");
  const max = Math.max(1, ...body.hotspots.map((h) => h.heat));
  const seen = new Map();
  list.replaceChildren(...body.hotspots.map((h) => {
    const first = h.ids[0];
    seen.set(first, h.n);
    const changed = last.size > 0 && last.get(first) !== h.n;
    const members = el("details", { class: "members" }, [
      el("summary", { text: `${h.n} 条诉求` }),
      ...h.ids.map((id) => el("a", { href: `/console#${id}`, text: id.slice(0, 8), title: id })),
    ]);
    return el("li", { class: changed ? "hot changed" : "hot", "data-testid": "hotspot" }, [
      el("div", { class: "hot-head" }, [
        el("span", { class: "rank", text: String(h.rank) }),
        el("span", { class: "place", text: h.place || "（未识别地点）" }),
        el("span", { class: "muted", text: `${day(h.start)} 至 ${day(h.end)}` }),
        el("span", { class: "count", text: `热度 ${h.heat.toFixed(1)} · ${h.n} 条` }),
      ]),
      el("div", { class: "bar" }, [el("span", { style: `width:${Math.round((h.heat / max) * 100)}%` })]),
      el("p", { class: "desc", text: h.description }),
      members,
    ]);
  }));
  last = seen;
  $("summary").textContent = body.hotspots.length
    ? `近 ${body.days} 天共受理 ${body.appeals} 条诉求，其中 ${body.groups} 组为同一事项的多条诉求。`
    : `近 ${body.days} 天共受理 ${body.appeals} 条诉求，暂无热点问题。`;
  $("updated").textContent = `更新于 ${new Date().toLocaleTimeString("zh-CN", { hour12: false })}`;
}

async function poll() {
  if (!apiKey()) {
    showError("请先在右上角保存督办或管理员的 API 密钥。");
    return;
  }
  const query = new URLSearchParams({ days: $("days").value, top: $("top").value });
  let resp;
  try {
    resp = await fetch(`/v1/hotspots?${query}`, { headers: { Authorization: `Bearer ${apiKey()}` } });
  } catch (err) {
    showError("无法连接服务，稍后自动重试。");
    return;
  }
  if (resp.status === 401) return showError("密钥无效，请重新保存。");
  if (resp.status === 403) return showError("此密钥无权查看热点问题（需要督办或管理员）。");
  if (!resp.ok) return showError(`服务返回 ${resp.status}，稍后自动重试。`);
  showError("");
  render(await resp.json());
}

function init() {
  $("api-key").value = apiKey();
  $("who").textContent = apiKey() ? "已保存密钥" : "未登录";
  $("key-box").open = !apiKey(); // without a key, the field is the first thing to see
  $("save-key").addEventListener("click", () => {
    localStorage.setItem(KEY_STORE, $("api-key").value.trim());
    $("key-status").textContent = "已保存";
    $("who").textContent = "已保存密钥";
    $("key-box").open = false;
    last = new Map();
    poll();
  });
  for (const id of ["days", "top"]) $(id).addEventListener("change", () => { last = new Map(); poll(); });
  poll();
  setInterval(() => { if (!document.hidden) poll(); }, POLL_MS);
}

document.addEventListener("DOMContentLoaded", init);
