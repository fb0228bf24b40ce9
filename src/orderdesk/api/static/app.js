// orderdesk dashboard. Vanilla JS, no dependencies, nothing loaded from elsewhere.
// The token lives in sessionStorage only (this tab); every data call sends it as a bearer
// token. The live stream is read with fetch() because EventSource cannot send headers.
"use strict";

const TOKEN_KEY = "orderdesk.token";
const MAX_EVENTS = 200;
const state = {
  orders: new Map(), positions: [], approvals: [], alerts: [], events: [],
  kill: { engaged: false, reason: "" }, broker: null,
};
let streamAbort = null;

const $ = (id) => document.getElementById(id);

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function el(tag, attrs = {}, ...children) {
  // Builds nodes with textContent only, so nothing from the desk is ever parsed as HTML.
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "onclick") node.addEventListener("click", value);
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  }
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { "Authorization": `Bearer ${token()}`, "Content-Type": "application/json" },
  });
  if (response.status === 401) { signOut("The token was not accepted."); throw new Error("401"); }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `HTTP ${response.status}`);
  return body;
}

// ---- rendering -------------------------------------------------------------------------

function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : "";
}

function money(value) {
  if (value === null || value === undefined) return "–";
  const number = Number(value);
  return number.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function signClass(value) { return Number(value) > 0 ? "pos" : Number(value) < 0 ? "neg" : ""; }

const WORKING = new Set(["ACCEPTED", "TRIGGER_PENDING", "OPEN", "PARTIALLY_FILLED"]);

function renderOrders() {
  const orders = [...state.orders.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
  $("orders").replaceChildren(...orders.map((o) => el("tr", { "data-order-id": o.order_id },
    el("td", { class: "mono" }, time(o.created_at)),
    el("td", { class: "mono", title: o.broker_order_id || "" }, o.order_id),
    el("td", {}, o.instrument),
    el("td", { class: o.side }, o.side),
    el("td", { class: "num", "data-field": "filled" }, `${o.filled_quantity} / ${o.quantity}`),
    el("td", {}, `${o.order_type} ${o.product}`),
    el("td", { class: "num" }, o.price === null ? "MKT" : money(o.price)),
    el("td", { class: "num" }, Number(o.average_price) ? money(o.average_price) : "–"),
    el("td", {}, el("span", { class: `status ${o.status}`, "data-field": "status", title: o.reason || "" }, o.status)),
    el("td", {}, WORKING.has(o.status)
      ? el("button", { class: "small", onclick: () => cancelOrder(o.order_id) }, "Cancel") : ""),
  )));
  $("orders-empty").hidden = orders.length > 0;
}

function renderPositions() {
  let total = 0;
  $("positions").replaceChildren(...state.positions.map((p) => {
    total += Number(p.pnl);
    return el("tr", { "data-instrument": p.instrument },
      el("td", {}, p.instrument), el("td", {}, p.product),
      el("td", { class: "num" }, String(p.quantity)),
      el("td", { class: "num" }, money(p.average_price)),
      el("td", { class: "num" }, money(p.last_price)),
      el("td", { class: `num ${signClass(p.realised)}` }, money(p.realised)),
      el("td", { class: `num ${signClass(p.unrealised)}` }, money(p.unrealised)),
      el("td", { class: `num ${signClass(p.pnl)}`, "data-field": "pnl" }, money(p.pnl)));
  }));
  $("total-pnl").textContent = money(total);
  $("total-pnl").className = `num ${signClass(total)}`;
}

function renderApprovals() {
  $("approvals").replaceChildren(...state.approvals.map((a) => {
    const s = a.signal;
    const price = s.price === null ? "MKT" : `@ ${s.price}`;
    return el("tr", { "data-approval-id": a.approval_id },
      el("td", {}, s.strategy),
      el("td", {}, `${s.side} ${s.quantity} ${s.instrument} ${s.order_type} ${price}`),
      el("td", { class: "mono" }, time(a.expires_at)),
      el("td", {},
        el("button", { class: "small primary", onclick: () => decide(a.approval_id, "approve") }, "Approve"),
        " ",
        el("button", { class: "small", onclick: () => decide(a.approval_id, "reject") }, "Reject")));
  }));
  $("approvals-empty").hidden = state.approvals.length > 0;
}

function renderFeed(id, items, line) {
  $(id).replaceChildren(...items.map(line));
}

function renderAlerts() {
  renderFeed("alerts", state.alerts, (a) => el("li", { class: a.severity },
    el("time", {}, time(a.at)), `${a.title}: ${a.body}`));
}

function renderEvents() {
  renderFeed("events", state.events, (e) => el("li", { "data-type": e.type },
    el("time", {}, time(e.at)), e.order_id ? `${e.order_id} ` : "", e.summary));
}

function renderStatus() {
  const kill = state.kill;
  const killState = $("kill-state");
  killState.textContent = kill.engaged ? "kill switch: ENGAGED" : "kill switch: off";
  killState.className = `pill ${kill.engaged ? "bad" : "ok"}`;
  const button = $("kill-button");
  button.disabled = false;
  button.textContent = kill.engaged ? "Release kill switch" : "Engage kill switch";
  button.className = kill.engaged ? "" : "danger";
  const banner = $("banner");
  banner.hidden = !kill.engaged;
  banner.textContent = kill.engaged ? `Kill switch engaged — new orders are refused. ${kill.reason}` : "";
  const broker = $("broker");
  broker.textContent = `broker: ${state.broker ?? "n/a"}`;
  broker.className = `pill ${state.broker === "CONNECTED" ? "ok" : state.broker ? "bad" : ""}`;
}

function setStream(text, kind) {
  $("stream").textContent = `stream: ${text}`;
  $("stream").className = `pill ${kind}`;
}

// ---- the live stream -------------------------------------------------------------------

function applyStatus(status) {
  state.kill = status.kill_switch;
  state.broker = status.broker_connection;
  state.positions = status.positions;
  state.approvals = status.approvals;
  renderStatus(); renderPositions(); renderApprovals();
}

const handlers = {
  snapshot(data) {
    state.orders = new Map(data.orders.map((o) => [o.order_id, o]));
    state.alerts = data.alerts;
    applyStatus(data);
    renderOrders(); renderAlerts();
  },
  status: applyStatus,
  order(order) { state.orders.set(order.order_id, order); renderOrders(); },
  event(event) {
    state.events.unshift(event);
    state.events.length = Math.min(state.events.length, MAX_EVENTS);
    if (event.type === "KillSwitchChanged") {
      state.kill = { engaged: event.payload.engaged, reason: event.payload.reason };
      renderStatus();
    }
    renderEvents();
  },
  alert(alert) { state.alerts.unshift(alert); state.alerts.length = Math.min(state.alerts.length, 50); renderAlerts(); },
};

function dispatch(block) {
  let kind = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) kind = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (data.length && handlers[kind]) handlers[kind](JSON.parse(data.join("\n")));
}

async function follow() {
  let delay = 500;
  while (token()) {
    streamAbort = new AbortController();
    try {
      const response = await fetch("/api/events", {
        headers: { "Authorization": `Bearer ${token()}` }, signal: streamAbort.signal,
      });
      if (response.status === 401) { signOut("The token was not accepted."); return; }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      setStream("live", "ok");
      delay = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch (error) {
      if (streamAbort.signal.aborted) return;
    }
    setStream("reconnecting", "warn");
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 10000);
  }
}

// ---- actions ---------------------------------------------------------------------------

function flash(message) {
  const banner = $("banner");
  banner.hidden = false;
  banner.textContent = message;
}

async function cancelOrder(orderId) {
  try { await api(`/api/orders/${encodeURIComponent(orderId)}`, { method: "DELETE" }); }
  catch (error) { flash(`Cancel failed: ${error.message}`); }
}

async function decide(approvalId, verb) {
  const body = verb === "reject" ? JSON.stringify({ reason: "rejected on the dashboard" }) : undefined;
  try {
    await api(`/api/approvals/${encodeURIComponent(approvalId)}/${verb}`, { method: "POST", body });
    state.approvals = state.approvals.filter((a) => a.approval_id !== approvalId);
    renderApprovals();
  } catch (error) { flash(`${verb} failed: ${error.message}`); }
}

async function toggleKill() {
  const engage = !state.kill.engaged;
  const body = { engaged: engage, reason: engage ? "engaged on the dashboard" : "", cancel_open: engage && $("kill-cancel").checked };
  try {
    state.kill = await api("/api/kill-switch", { method: "POST", body: JSON.stringify(body) });
    renderStatus();
  } catch (error) { flash(`Kill switch: ${error.message}`); }
}

// ---- session ---------------------------------------------------------------------------

function signOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  if (streamAbort) streamAbort.abort();
  setStream("offline", "");
  $("desk").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
}

function start() {
  $("login").hidden = true;
  $("desk").hidden = false;
  setStream("connecting", "warn");
  follow();
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    start();
  });
  $("kill-button").addEventListener("click", toggleKill);
  $("sign-out").addEventListener("click", () => signOut());
  if (token()) start(); else signOut();
});
