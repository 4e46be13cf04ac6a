// 分拨台: paste an appeal, see ranked routes, accept one or choose another department.
// Plain JS, no build step. Every value from the server is inserted with textContent (never as HTML).
"use strict";

const KEY_STORE = "minyi.apiKey";
const NAME_STORE = "minyi.dispatcher";
const ROLE_NAMES = { dispatcher: "调度员", admin: "管理员" };

const $ = (id) => document.getElementById(id);
let current = null; // the suggestion on screen

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function pct(score) {
  return `${(Math.max(0, Math.min(1, Number(score) || 0)) * 100).toFixed(1)}%`;
}

function formatTime(iso) {
  if (!iso) return "—";
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

// An instant with a zone (decided_at, UTC) shown in the browser's local time.
function formatInstant(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return formatTime(iso);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function say(text, isError = false) {
  const box = $("message");
  box.textContent = text;
  box.className = isError ? "message error" : "message";
}

function apiKey() {
  return localStorage.getItem(KEY_STORE) || "";
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
  if (status === 401) return "API 密钥无效或未填写，请在上方保存正确的密钥";
  if (status === 403) return "该密钥无权执行此操作";
  if (status === 409) return "该诉求已有不同的分拨决定，未覆盖";
  if (status === 422) return `输入有误：${(data && data.message) || "请检查内容"}`;
  if (status === 503) return "服务暂不可用（模型或数据库未就绪）";
  return `请求失败（${status}）：${(data && (data.message || data.detail)) || ""}`;
}

async function checkKey() {
  const status = $("key-status");
  if (!apiKey()) {
    status.textContent = "尚未保存密钥";
    return;
  }
  const r = await api("GET", "/v1/me");
  if (r.ok) {
    status.textContent = `密钥已保存（${ROLE_NAMES[r.data.role] || r.data.role}）`;
    $("key-box").open = false;
    loadDepartments();
  } else {
    status.textContent = explain(r);
  }
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
  if (r.data && r.data.model_version) $("model-version").textContent = `模型 ${r.data.model_version}`;
}

function renderRoutes(s) {
  const list = $("routes");
  list.replaceChildren();
  s.departments.forEach((d, i) => {
    const rank = i + 1;
    const accept = el("button", { type: "button", "data-testid": `accept-${rank}`, text: "采纳" });
    accept.addEventListener("click", () => decide({ accepted_rank: rank }));
    const head = el("div", { class: "route-head" }, [
      el("span", { class: "route-rank", text: `#${rank}` }),
      el("span", { class: "route-name" }, [el("span", { class: "place", text: d.jurisdiction }), d.department]),
      el("span", { class: "pct", text: pct(d.score) }),
      accept,
    ]);
    const bar = el("div", { class: "bar" }, [el("span", { style: `width:${pct(d.score)}` })]);
    const reasons = el("ul", { class: "reasons" });
    for (const r of d.reasons || []) reasons.append(el("li", { text: r }));
    list.append(el("li", { class: "route", "data-testid": `route-${rank}` }, [head, bar, reasons]));
  });
}

function render(s) {
  current = s;
  $("result-panel").hidden = false;
  $("suggestion-id").textContent = s.id;
  $("review-badge").hidden = !s.needs_review;
  $("ok-badge").hidden = !!s.needs_review;
  $("urgent-badge").hidden = !s.urgent;
  const hazards = (s.urgency && s.urgency.hazards) || [];
  $("urgent-badge").textContent = hazards.length ? `紧急：${hazards.join("、")}` : "紧急";
  const type = s.appeal_type
    ? `${s.appeal_type}${s.appeal_type_score != null ? `（${pct(s.appeal_type_score)}）` : ""}`
    : "未判定";
  $("appeal-type").textContent = type;
  $("due-at").textContent = formatTime(s.due_at);
  $("jurisdiction").textContent = s.jurisdiction || "—";
  const reasons = $("review-reasons");
  reasons.replaceChildren(...(s.review_reasons || []).map((r) => el("li", { text: r })));
  renderRoutes(s);
  const cats = $("categories");
  cats.replaceChildren(
    ...s.categories.slice(0, 5).map((c) =>
      el("li", {}, [
        el("span", { text: c.label }),
        el("div", { class: "bar" }, [el("span", { style: `width:${pct(c.score)}` })]),
        el("span", { class: "pct", text: pct(c.score) }),
      ]),
    ),
  );
  const kw = $("keywords");
  kw.replaceChildren(...(s.keywords || []).map((k) => el("span", { class: "chip", text: k })));
  if (!(s.keywords || []).length) kw.append(el("span", { class: "muted", text: "（无）" }));
  $("override-jurisdiction").value = (s.departments[0] && s.departments[0].jurisdiction) || s.jurisdiction || "";
  const status = $("decision-status");
  status.hidden = true;
  status.textContent = "";
  setDecisionButtons(true);
  $("model-version").textContent = `模型 ${s.model_version}`;
}

function setDecisionButtons(enabled) {
  document.querySelectorAll("#routes button, #override").forEach((b) => {
    b.disabled = !enabled;
  });
}

function showDecision(d, again) {
  const status = $("decision-status");
  const what = d.accepted_rank ? `已采纳第 ${d.accepted_rank} 项` : "已改派";
  const where = [d.jurisdiction, d.department].filter(Boolean).join(" ");
  status.textContent = `${what}：${where}（${d.dispatcher}，${formatInstant(d.decided_at)}）${again ? "（此前已记录）" : ""}`;
  status.className = "decision";
  status.hidden = false;
  if (d.accepted_rank) {
    const li = document.querySelector(`[data-testid="route-${d.accepted_rank}"]`);
    if (li) li.classList.add("chosen");
  }
  setDecisionButtons(false);
}

async function decide(choice) {
  if (!current) return;
  const dispatcher = $("dispatcher-name").value.trim();
  if (!dispatcher) {
    say("请先填写调度员姓名或工号", true);
    $("key-box").open = true;
    $("dispatcher-name").focus();
    return;
  }
  localStorage.setItem(NAME_STORE, dispatcher);
  setDecisionButtons(false);
  const r = await api("POST", `/v1/suggestions/${encodeURIComponent(current.id)}/decision`, { dispatcher, ...choice });
  if (r.ok) {
    showDecision(r.data, r.status === 200);
    say("决定已保存");
  } else {
    const status = $("decision-status");
    status.textContent = explain(r);
    status.className = "decision error";
    status.hidden = false;
    setDecisionButtons(r.status !== 409);
  }
}

async function submitAppeal(event) {
  event.preventDefault();
  const content = $("appeal-content").value;
  if (!content.trim()) {
    say("请填写诉求内容", true);
    return;
  }
  const button = $("suggest");
  button.disabled = true;
  say("正在分析…");
  const body = { title: $("appeal-title").value, content, channel: $("appeal-channel").value };
  const r = await api("POST", "/v1/suggestions", body);
  button.disabled = false;
  if (!r.ok) {
    say(explain(r), true);
    return;
  }
  render(r.data);
  say(r.data.needs_review ? "请人工复核后再分拨" : "建议已生成");
}

function init() {
  $("api-key").value = apiKey();
  $("dispatcher-name").value = localStorage.getItem(NAME_STORE) || "";
  $("save-key").addEventListener("click", () => {
    const key = $("api-key").value.trim();
    if (key) localStorage.setItem(KEY_STORE, key);
    checkKey();
  });
  $("clear-key").addEventListener("click", () => {
    localStorage.removeItem(KEY_STORE);
    $("api-key").value = "";
    checkKey();
  });
  $("dispatcher-name").addEventListener("change", () =>
    localStorage.setItem(NAME_STORE, $("dispatcher-name").value.trim()),
  );
  $("appeal-content").addEventListener("input", () => {
    $("char-count").textContent = `${$("appeal-content").value.length} / 20000`;
  });
  $("appeal-form").addEventListener("submit", submitAppeal);
  $("override").addEventListener("click", () => {
    const department = $("override-department").value;
    if (!department) {
      say("请选择要改派的部门", true);
      return;
    }
    decide({ accepted_rank: null, department, jurisdiction: $("override-jurisdiction").value.trim() || null });
  });
  loadVersion();
  checkKey();
}

document.addEventListener("DOMContentLoaded", init);
