// 分拨台: the pending queue, one appeal's detail (suggestion, similar appeals, history), decisions, merges
// (并单), search and intake, driven from the keyboard. Plain JS, no build step. Every value from the server
// is inserted with textContent (never as HTML). The queue always comes from the API, so a reload loses
// nothing; the open appeal is kept in the address (#<id>).
"use strict";
// el() comes from dom.js, loaded first.

const KEY_STORE = "minyi.apiKey";
const NAME_STORE = "minyi.dispatcher";
const ROLE_NAMES = { intake: "受理接口", dispatcher: "调度员", supervisor: "督办", admin: "管理员" };
const STATUS_NAMES = { pending: "待分拨", decided: "已分拨", merged: "已并单" };
const ACTION_NAMES = {
  received: "受理",
  decided: "分拨",
  merged: "并入其他诉求",
  child_merged: "有诉求并入本件",
  unmerged: "撤销并单",
  child_unmerged: "撤销了一条并入",
};
const POLL_MS = 5000;
const PAGE = 50;

const $ = (id) => document.getElementById(id);
const state = {
  list: [], // the queue (or search results) on screen
  cursor: null,
  search: "",
  current: null, // the appeal detail on screen
  busy: false,
};

function pct(score) {
  return `${Math.round(Math.max(0, Math.min(1, Number(score) || 0)) * 100)}%`;
}

function two(n) {
  return String(n).padStart(2, "0");
}

// An instant (ISO 8601 with a zone) in the browser's local time.
function when(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return "—";
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

// Time left until the deadline, in words: "剩 2 天 3 小时", "超时 5 小时".
function slaText(dueIso) {
  const due = new Date(dueIso).getTime();
  if (Number.isNaN(due)) return { text: "", level: "" };
  const left = due - Date.now();
  const abs = Math.abs(left);
  const days = Math.floor(abs / 86400000);
  const hours = Math.floor((abs % 86400000) / 3600000);
  const minutes = Math.floor((abs % 3600000) / 60000);
  const span = days ? `${days} 天 ${hours} 小时` : hours ? `${hours} 小时 ${minutes} 分` : `${minutes} 分钟`;
  if (left < 0) return { text: `超时 ${span}`, level: "overdue" };
  return { text: `剩 ${span}`, level: left < 4 * 3600000 ? "soon" : "" };
}

function say(text, isError = false) {
  const box = $("message");
  box.textContent = text;
  box.className = isError ? "message error" : "message";
}

function apiKey() {
  return localStorage.getItem(KEY_STORE) || "";
}

function dispatcherName() {
  return $("dispatcher-name").value.trim();
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    return { ok: false, status: 0, data: { message: "无法连接服务" } };
  }
  let data = null;
  try {
    data = await resp.json();
  } catch (err) {
    data = {};
  }
  return { ok: resp.ok, status: resp.status, data };
}

function explain(result) {
  const { status, data } = result;
  if (status === 401) return "API 密钥无效或未填写，请点右上角保存正确的密钥";
  if (status === 403) return "该密钥无权执行此操作";
  if (status === 409) return `未保存：${(data && data.message) || "与已有记录冲突"}`;
  if (status === 422) return `输入有误：${(data && data.message) || "请检查内容"}`;
  if (status === 503) return "服务暂不可用（模型或数据库未就绪）";
  return `请求失败（${status}）：${(data && (data.message || data.detail)) || ""}`;
}

// --------------------------------------------------------------------------- key and who

async function checkKey() {
  const status = $("key-status");
  if (!apiKey()) {
    status.textContent = "尚未保存密钥";
    $("who").textContent = "未登录";
    $("key-box").open = true;
    return false;
  }
  const r = await api("GET", "/v1/me");
  if (!r.ok) {
    status.textContent = explain(r);
    $("who").textContent = "密钥无效";
    $("key-box").open = true;
    return false;
  }
  const role = ROLE_NAMES[r.data.role] || r.data.role;
  status.textContent = `密钥已保存（${role}）`;
  $("who").textContent = dispatcherName() ? `${dispatcherName()}（${role}）` : role;
  if (dispatcherName()) $("key-box").open = false;
  return true;
}

async function loadDepartments() {
  const r = await api("GET", "/v1/departments");
  if (!r.ok) return;
  const select = $("override-department");
  select.replaceChildren(el("option", { value: "", text: "选择部门…" }));
  const lines = r.data.items.filter((d) => !d.generic);
  const generic = r.data.items.filter((d) => d.generic);
  for (const [label, group] of [["职能部门", lines], ["综合部门", generic]]) {
    if (!group.length) continue;
    const og = el("optgroup", { label });
    for (const d of group) og.append(el("option", { value: d.name, text: d.name }));
    select.append(og);
  }
}

async function loadVersion() {
  const r = await api("GET", "/readyz");
  if (r.data && r.data.model_version) $("model-version").title = `模型版本：${r.data.model_version}`;
}

// --------------------------------------------------------------------------- the lists

function queueItem(item, index) {
  const sla = slaText(item.due_at);
  const head = el("div", { class: "q-head" }, [
    item.urgent ? el("span", { class: "tag urgent", text: "紧急" }) : "",
    el("span", { class: "q-title", text: item.title || (item.snippet || "").slice(0, 40) }),
  ]);
  const meta = el("div", { class: "q-meta" }, [
    el("span", { text: [item.category && item.category.split("/").pop(), item.jurisdiction].filter(Boolean).join(" · ") }),
    item.status === "pending"
      ? el("span", { class: `sla ${sla.level}`, "data-testid": "sla-countdown", text: sla.text })
      : el("span", { class: "muted", text: STATUS_NAMES[item.status] || item.status }),
  ]);
  const li = el("li", {
    class: `q-item${item.urgent ? " urgent" : ""}`,
    "data-testid": "queue-item",
    "data-id": item.id,
    "data-index": String(index),
    tabindex: "-1",
  }, [head, meta]);
  li.addEventListener("click", () => openAppeal(item.id));
  return li;
}

function renderList() {
  const list = $("queue");
  list.replaceChildren(...state.list.map(queueItem));
  if (!state.list.length) list.append(el("li", { class: "muted", text: state.search ? "没有找到匹配的诉求" : "没有待分拨的诉求" }));
  $("more").hidden = !state.cursor;
  $("list-title").textContent = state.search ? `搜索：${state.search}` : "待分拨";
  $("clear-search").hidden = !state.search;
  $("queue-count").textContent = state.list.length ? `${state.list.length}${state.cursor ? "+" : ""} 件` : "";
  markCurrent();
}

function markCurrent() {
  for (const li of document.querySelectorAll("#queue .q-item")) {
    li.classList.toggle("current", !!state.current && li.dataset.id === state.current.id);
  }
}

function listPath(cursor) {
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (state.search) {
    params.set("q", state.search);
    params.set("status", "all");
  }
  if (cursor) params.set("cursor", cursor);
  return `/v1/appeals?${params}`;
}

async function loadList({ more = false } = {}) {
  const r = await api("GET", listPath(more ? state.cursor : null));
  if (!r.ok) {
    say(explain(r), true);
    return false;
  }
  state.list = more ? state.list.concat(r.data.items) : r.data.items;
  state.cursor = r.data.next_cursor;
  renderList();
  return true;
}

function localMidnightIso() {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.toISOString();
}

async function loadDecided() {
  const params = new URLSearchParams({ status: "decided", decided_since: localMidnightIso(), limit: "50" });
  const r = await api("GET", `/v1/appeals?${params}`);
  if (!r.ok) return;
  const items = r.data.items.map((item) => {
    const route = item.route ? [item.route.jurisdiction, item.route.department].filter(Boolean).join(" ") : "";
    const li = el("li", { "data-testid": "decided-item", "data-id": item.id }, [
      el("span", { class: "d-time", text: when(item.decided_at).slice(11) }),
      el("span", { class: "d-title", text: item.title || (item.snippet || "").slice(0, 24) }),
      el("span", { class: "d-route", text: `→ ${route}` }),
    ]);
    li.addEventListener("click", () => openAppeal(item.id));
    return li;
  });
  $("decided").replaceChildren(...items);
  $("decided-count").textContent = `${r.data.items.length}${r.data.next_cursor ? "+" : ""} 件`;
}

// --------------------------------------------------------------------------- one appeal

function routeText(route) {
  return route ? [route.jurisdiction, route.department].filter(Boolean).join(" ") : "";
}

function renderRoutes(a) {
  const pending = a.status === "pending";
  const list = $("routes");
  list.replaceChildren();
  a.suggestion.departments.slice(0, 5).forEach((d, i) => {
    const rank = i + 1;
    const accept = el("button", { type: "button", "data-testid": `accept-${rank}`, text: `采纳 (${rank})` });
    accept.disabled = !pending;
    accept.addEventListener("click", () => decide({ accepted_rank: rank }));
    const head = el("div", { class: "route-head" }, [
      el("span", { class: "route-rank", text: String(rank) }),
      el("span", { class: "route-name" }, [el("span", { class: "place", text: d.jurisdiction }), d.department]),
      el("span", { class: "pct", title: "把握程度", text: pct(d.score) }),
      accept,
    ]);
    const bar = el("div", { class: "bar" }, [el("span", { style: `width:${pct(d.score)}` })]);
    const why = el("ul", { class: "reasons" });
    for (const line of d.explanation || []) why.append(el("li", { text: line }));
    const chosen = a.decision && a.decision.accepted_rank === rank;
    list.append(el("li", { class: `route${chosen ? " chosen" : ""}`, "data-testid": `route-${rank}` }, [head, bar, why]));
  });
}

function renderSimilar(a) {
  const list = $("similar");
  list.replaceChildren();
  if (!a.similar.length) {
    list.append(el("li", { class: "muted", text: "近期没有发现同一事项的诉求" }));
    return;
  }
  a.similar.forEach((s, i) => {
    const route = s.route ? `已分拨至 ${routeText(s.route)}` : STATUS_NAMES[s.status] || "待分拨";
    const merge = el("button", { type: "button", "data-testid": `merge-${i + 1}`, text: i === 0 ? "并入此件 (m)" : "并入此件" });
    merge.disabled = a.status !== "pending";
    merge.addEventListener("click", () => mergeInto(s.id));
    const open = el("button", { type: "button", class: "link", text: "查看" });
    open.addEventListener("click", () => openAppeal(s.id));
    list.append(el("li", { class: "sim", "data-testid": `similar-${i + 1}`, "data-id": s.id }, [
      el("div", { class: "sim-head" }, [
        el("span", { class: "pct", text: `相似 ${pct(s.score)}` }),
        el("span", { text: `${when(s.received_at)} · ${s.jurisdiction || "—"}` }),
        el("span", { class: "sim-route", text: route }),
      ]),
      el("div", { class: "sim-text", text: s.title || s.snippet || "" }),
      el("div", { class: "row" }, [merge, open]),
    ]));
  });
}

function renderHistory(a) {
  $("history").replaceChildren(...a.history.map((e) => {
    const what = ACTION_NAMES[e.action] || e.action;
    let detail = "";
    if (e.action === "decided") detail = `：${[e.detail.jurisdiction, e.detail.department].filter(Boolean).join(" ")}${e.detail.accepted_rank ? `（采纳第 ${e.detail.accepted_rank} 条建议）` : "（改派）"}`;
    if (e.action === "received") detail = `（${e.detail.channel || ""}）`;
    return el("li", { text: `${when(e.at)} · ${e.actor} · ${what}${detail}` });
  }));
}

function resetOverride(a) {
  $("override-form").reset();
  $("override-department").value = "";
  const top = a.suggestion.departments[0];
  $("override-jurisdiction").value = (top && top.jurisdiction) || a.jurisdiction || "";
  $("decision-note").value = "";
  const pending = a.status === "pending";
  for (const id of ["override-department", "override-jurisdiction", "decision-note", "override"]) $(id).disabled = !pending;
}

function showDecision(a) {
  const status = $("decision-status");
  status.className = "decision";
  if (a.decision) {
    const d = a.decision;
    const what = d.accepted_rank ? `已采纳第 ${d.accepted_rank} 条` : "已改派";
    status.textContent = `${what}：${routeText(d)}（${d.dispatcher}，${when(d.decided_at)}）${d.note ? `　备注：${d.note}` : ""}`;
    status.hidden = false;
  } else if (a.status === "merged" && a.parent) {
    status.textContent = `已并入 ${a.parent.title || a.parent.snippet || a.parent.id}${a.route ? `，随其分拨至 ${routeText(a.route)}` : "，随其分拨"}`;
    status.hidden = false;
  } else {
    status.hidden = true;
    status.textContent = "";
  }
}

function render(a) {
  state.current = a;
  $("empty").hidden = true;
  $("detail").hidden = false;
  $("appeal-id").textContent = a.id;
  $("urgent-badge").hidden = !a.urgent;
  $("status-badge").textContent = STATUS_NAMES[a.status] || a.status;
  $("status-badge").className = `badge status-${a.status}`;
  const s = a.suggestion;
  const hazards = (s.urgency && s.urgency.hazards) || [];
  $("urgent-badge").textContent = hazards.length ? `紧急：${hazards.join("、")}` : "紧急";
  $("review-badge").hidden = !s.needs_review;
  $("review-badge").title = (s.review_reasons || []).join("；");
  const sla = slaText(a.due_at);
  $("sla").textContent = a.status === "pending" ? sla.text : "";
  $("sla").className = `sla ${sla.level}`;
  $("appeal-title").textContent = a.title || "";
  $("appeal-title").hidden = !a.title;
  $("received-at").textContent = when(a.received_at);
  $("channel").textContent = a.channel;
  $("due-at").textContent = when(a.due_at);
  $("category").textContent = a.category || "—";
  const sub = (s.subcategories || [])[0];
  $("subcategory").textContent = sub ? `${sub.path}（${pct(sub.score)}）` : "—";
  $("due-at").title = s.due_reason || "";
  $("jurisdiction").textContent = a.jurisdiction || "—";
  $("content").textContent = a.content;
  const contact = $("contact");
  const c = a.contact;
  contact.hidden = !c;
  contact.replaceChildren(...(c ? [el("b", { text: "来电人：" }), [c.name, c.phone, c.address].filter(Boolean).join("　")] : []));
  $("keywords").replaceChildren(...(s.keywords || []).map((k) => el("span", { class: "chip", text: k })));
  renderRoutes(a);
  resetOverride(a);
  showDecision(a);
  renderSimilar(a);
  $("parent-box").hidden = !a.parent;
  $("parent").textContent = a.parent ? `${a.parent.title || a.parent.snippet || ""}（${STATUS_NAMES[a.parent.status] || ""}）` : "";
  $("children-box").hidden = !a.children.length;
  $("children").replaceChildren(...a.children.map((k) => el("li", { text: `${when(k.received_at)} · ${k.title || k.snippet || ""}` })));
  renderHistory(a);
  $("model-version").title = `模型版本：${s.model_version}`;
  if (location.hash.slice(1) !== a.id) history.replaceState(null, "", `#${a.id}`);
  markCurrent();
}

async function openAppeal(id) {
  if (!id) return;
  const r = await api("GET", `/v1/appeals/${encodeURIComponent(id)}`);
  if (!r.ok) {
    say(explain(r), true);
    return;
  }
  render(r.data);
  say("");
  const li = document.querySelector(`#queue .q-item[data-id="${CSS.escape(id)}"]`);
  if (li) li.scrollIntoView({ block: "nearest" });
}

// The appeal after (or, at the end, before) the one at `index` of the refreshed list.
async function advance(fromIndex, doneId) {
  if (document.activeElement instanceof HTMLElement) document.activeElement.blur(); // keys work again
  await loadList();
  loadDecided();
  const rest = state.list.filter((x) => x.id !== doneId);
  const next = rest[Math.min(Math.max(fromIndex, 0), rest.length - 1)];
  if (next) await openAppeal(next.id);
  else say("待分拨的诉求都处理完了");
}

function indexOfCurrent() {
  return state.current ? state.list.findIndex((x) => x.id === state.current.id) : -1;
}

async function decide(choice) {
  const a = state.current;
  if (!a || a.status !== "pending" || state.busy) return;
  const dispatcher = dispatcherName();
  if (!dispatcher) {
    say("请先在右上角填写调度员姓名或工号", true);
    $("key-box").open = true;
    $("dispatcher-name").focus();
    return;
  }
  localStorage.setItem(NAME_STORE, dispatcher);
  state.busy = true;
  const note = $("decision-note").value.trim() || null;
  const r = await api("POST", `/v1/appeals/${encodeURIComponent(a.id)}/decision`, { dispatcher, note, ...choice });
  state.busy = false;
  if (!r.ok) {
    const status = $("decision-status");
    status.textContent = explain(r);
    status.className = "decision error";
    status.hidden = false;
    return;
  }
  say(choice.accepted_rank ? `已采纳第 ${choice.accepted_rank} 条建议，转到下一件` : "已改派，转到下一件");
  await advance(indexOfCurrent(), a.id);
}

async function mergeInto(parentId) {
  const a = state.current;
  if (!a || a.status !== "pending" || state.busy || !parentId) return;
  state.busy = true;
  const r = await api("POST", `/v1/appeals/${encodeURIComponent(a.id)}/merge`, { into: parentId, dispatcher: dispatcherName() || null });
  state.busy = false;
  if (!r.ok) {
    say(explain(r), true);
    return;
  }
  say("已并单，转到下一件");
  await advance(indexOfCurrent(), a.id);
}

async function unmerge() {
  const a = state.current;
  if (!a || a.status !== "merged") return;
  const params = new URLSearchParams();
  if (dispatcherName()) params.set("dispatcher", dispatcherName());
  const r = await api("DELETE", `/v1/appeals/${encodeURIComponent(a.id)}/merge?${params}`);
  if (!r.ok) {
    say(explain(r), true);
    return;
  }
  say("已撤销并单");
  await loadList();
  await openAppeal(a.id);
}

function override(event) {
  if (event) event.preventDefault();
  const department = $("override-department").value;
  if (!department) {
    say("请选择要改派的部门", true);
    $("override-department").focus();
    return;
  }
  decide({ accepted_rank: null, department, jurisdiction: $("override-jurisdiction").value.trim() || null });
}

async function intake(event) {
  event.preventDefault();
  const content = $("intake-content").value;
  if (!content.trim()) {
    say("请填写诉求内容", true);
    return;
  }
  const caller = { name: $("caller-name").value.trim() || null, phone: $("caller-phone").value.trim() || null };
  const body = {
    title: $("intake-title").value || null,
    content,
    channel: $("intake-channel").value,
    address: $("intake-address").value.trim() || null,
    caller: caller.name || caller.phone ? caller : null,
  };
  $("intake-submit").disabled = true;
  say("正在受理…");
  const r = await api("POST", "/v1/appeals", body);
  $("intake-submit").disabled = false;
  if (!r.ok) {
    say(explain(r), true);
    return;
  }
  $("intake-form").reset();
  say(r.status === 200 ? "该诉求此前已受理" : "已受理");
  await loadList();
  await openAppeal(r.data.id);
}

// --------------------------------------------------------------------------- keyboard

function step(delta) {
  if (!state.list.length) return;
  const i = indexOfCurrent();
  const j = i < 0 ? 0 : Math.min(Math.max(i + delta, 0), state.list.length - 1);
  openAppeal(state.list[j].id);
}

async function runSearch(text) {
  state.search = text.trim();
  await loadList();
  if (state.list.length) await openAppeal(state.list[0].id);
}

function onKey(event) {
  const target = event.target;
  const typing = target instanceof HTMLElement && (target.matches("input, textarea, select") || target.isContentEditable);
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    const form = target instanceof HTMLElement ? target.closest("form") : null;
    if (form) {
      event.preventDefault();
      form.requestSubmit();
    }
    return;
  }
  if (event.key === "Escape") {
    if (typing) target.blur();
    if (state.search) {
      $("search").value = "";
      runSearch("");
    }
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "/") {
    event.preventDefault();
    $("search").focus();
    $("search").select();
  } else if (event.key >= "1" && event.key <= "5") {
    event.preventDefault();
    if (state.current && state.current.suggestion.departments.length >= Number(event.key)) decide({ accepted_rank: Number(event.key) });
  } else if (event.key === "o") {
    event.preventDefault();
    $("override-department").focus();
  } else if (event.key === "m") {
    event.preventDefault();
    const top = state.current && state.current.similar[0];
    if (top) mergeInto(top.id);
    else say("没有可并入的相似诉求", true);
  } else if (event.key === "j") {
    event.preventDefault();
    step(1);
  } else if (event.key === "k") {
    event.preventDefault();
    step(-1);
  }
}

// --------------------------------------------------------------------------- start

async function start() {
  if (!(await checkKey())) return;
  loadDepartments();
  loadVersion();
  await loadList();
  loadDecided();
  const wanted = location.hash.slice(1);
  if (wanted) await openAppeal(wanted);
  else if (state.list.length) await openAppeal(state.list[0].id);
}

async function poll() {
  if (document.hidden || !apiKey() || state.busy) return;
  if (state.cursor && state.list.length > PAGE) return; // the dispatcher is reading further pages
  await loadList();
  loadDecided();
}

function init() {
  $("api-key").value = apiKey();
  $("dispatcher-name").value = localStorage.getItem(NAME_STORE) || "";
  $("save-key").addEventListener("click", () => {
    const key = $("api-key").value.trim();
    if (key) localStorage.setItem(KEY_STORE, key);
    localStorage.setItem(NAME_STORE, dispatcherName());
    start();
  });
  $("clear-key").addEventListener("click", () => {
    localStorage.removeItem(KEY_STORE);
    $("api-key").value = "";
    checkKey();
  });
  $("dispatcher-name").addEventListener("change", () => {
    localStorage.setItem(NAME_STORE, dispatcherName());
    checkKey();
  });
  $("override-form").addEventListener("submit", override);
  $("intake-form").addEventListener("submit", intake);
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runSearch($("search").value);
  });
  $("clear-search").addEventListener("click", () => {
    $("search").value = "";
    runSearch("");
  });
  $("more").addEventListener("click", () => loadList({ more: true }));
  $("unmerge").addEventListener("click", unmerge);
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", () => {
    const id = location.hash.slice(1);
    if (id && (!state.current || state.current.id !== id)) openAppeal(id);
  });
  setInterval(poll, POLL_MS);
  setInterval(() => {
    for (const node of document.querySelectorAll('#queue [data-testid="sla-countdown"]')) {
      const item = state.list.find((x) => x.id === node.closest("li").dataset.id);
      if (item) node.textContent = slaText(item.due_at).text;
    }
  }, 60000);
  start();
}

document.addEventListener("DOMContentLoaded", init);
