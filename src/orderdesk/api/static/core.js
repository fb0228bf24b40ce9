// What every panel of the dashboard shares: the token, the API call, building nodes, number and
// time formats, a small event bus fed by the desk's live stream, and the confirmation dialog.
//
// A panel is a module that registers for stream messages with on(kind, fn) (kinds: snapshot,
// status, order, event, alert, tick) and renders into its own <section>; app.js imports it.
// Nothing here parses desk data as HTML: nodes get textContent only.

export const TOKEN_KEY = "orderdesk.token";

export const state = {
  orders: new Map(), positions: [], approvals: [], alerts: [], events: [],
  kill: { engaged: false, reason: "" }, broker: null, pnl: null,
  // When the desk stopped answering (its stream ended and does not come back), else null.
  down: null,
  // The broker session as /api/health/detail has it (health.js reads it; the header shows it).
  session: null,
  // The trading day the desk has open, "2026-12-07" (the same answer's): the day every figure
  // of the page belongs to. Null when the desk keeps no days, or before it has said.
  tradingDay: null,
};

export const $ = (id) => document.getElementById(id);

export function token() { return sessionStorage.getItem(TOKEN_KEY); }

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "onclick") node.addEventListener("click", value);
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A table cell that carries its column's name, shown beside the value when a narrow panel
 * lays rows out as cards (app.css, the container query on .panel). */
export function cell(label, attrs, ...children) {
  return el("td", { ...attrs, "data-label": label }, ...children);
}

const handlers = new Map();

export function on(kind, fn) {
  if (!handlers.has(kind)) handlers.set(kind, []);
  handlers.get(kind).push(fn);
}

export function emit(kind, data) {
  for (const fn of handlers.get(kind) || []) {
    try { fn(data); } catch (error) { console.error(`${kind} handler failed`, error); }
  }
}

// The shared state follows the stream first (core.js is every panel's first import, so these
// handlers are registered before any panel's).
function applyStatus(status) {
  state.kill = status.kill_switch;
  state.broker = status.broker_connection;
  state.positions = status.positions;
  state.approvals = status.approvals;
  state.pnl = status.pnl ?? state.pnl;
}

// An alert is one raise: the same key at the same time (a snapshot sent when a day opens
// already holds the alerts whose messages follow it).
const alertId = (a) => `${a.key}|${Date.parse(a.at)}|${a.title}`;

on("snapshot", (data) => {
  state.orders = new Map(data.orders.map((o) => [o.order_id, o]));
  const seen = new Set();
  state.alerts = data.alerts.filter((a) => !seen.has(alertId(a)) && seen.add(alertId(a)));
  state.events = data.events || [];
  applyStatus(data);
});
on("status", applyStatus);
on("order", (order) => state.orders.set(order.order_id, order));
on("event", (event) => {
  state.events.unshift(event);
  state.events.length = Math.min(state.events.length, 200);
  if (event.type === "KillSwitchChanged") {
    state.kill = { engaged: event.payload.engaged, reason: event.payload.reason };
  }
});
on("alert", (alert) => {
  if (state.alerts.some((a) => alertId(a) === alertId(alert))) return;
  // Raised again: the latest takes its earlier entry's place, as the desk's list does.
  state.alerts = state.alerts.filter((a) => a.key !== alert.key || a.title !== alert.title);
  state.alerts.unshift(alert);
  state.alerts.length = Math.min(state.alerts.length, 50);
});

let onUnauthorised = () => {};
export function whenUnauthorised(fn) { onUnauthorised = fn; }

export class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

/** What a failed request says when nothing answered (fetch's own words are "Failed to fetch"). */
export const NO_ANSWER = "the desk did not answer (is `orderdesk run` running?)";

export async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, {
      ...options,
      headers: { "Authorization": `Bearer ${token()}`, "Content-Type": "application/json" },
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(NO_ANSWER, 0);
  }
  if (response.status === 401) { onUnauthorised("The token was not accepted."); throw new ApiError("401", 401); }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(body.message || `HTTP ${response.status}`, response.status);
  return body;
}

// ---- formats ---------------------------------------------------------------------------

// Times are Kite's clock, IST, whatever the browser's zone; the page says so where it shows them.
export const TIME_ZONE = "Asia/Kolkata";
const IST_TIME = new Intl.DateTimeFormat("en-GB", { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
const IST_MINUTE = new Intl.DateTimeFormat("en-GB", { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const IST_DATE = new Intl.DateTimeFormat("en-CA", { timeZone: TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit" });

/** "09:33:28": a time (ISO text, a Date or epoch ms) in IST. */
export function time(iso) {
  return iso || iso === 0 ? IST_TIME.format(new Date(iso)) : "";
}

/** "09:33": the same to the minute. */
export function minute(when) { return IST_MINUTE.format(new Date(when)); }

/** "2026-12-07": the IST date of a time. */
export function istDate(when) { return IST_DATE.format(new Date(when)); }

// The desk's clock: the browser's plus the skew health.js measures against the server's "now".
let skew = 0;
export function setSkew(ms) { skew = ms; }
export function deskNow() { return Date.now() + skew; }
/** A moment taken on the browser's clock, on the desk's: converted when it is shown, so that a
 * moment taken before the skew was first measured is shown right all the same. */
export function deskTime(browserMs) { return browserMs + skew; }

// ---- the trading day the figures belong to -------------------------------------------------

const DAY_WORDS = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", weekday: "short", day: "2-digit", month: "short" });

/** "Mon 07 Dec": a date ("2026-12-07") in words. */
export function dayWords(day) { return DAY_WORDS.format(new Date(`${day}T00:00:00Z`)).replace(",", ""); }

/** The trading day the desk has open, when it is not the calendar day of the desk's clock:
 * the desk keeps its last day open until a login opens the next (after 06:00, or a restart
 * past it, the figures are still that day's). Null when the figures are today's. */
export function staleDay() {
  return state.tradingDay && state.tradingDay !== istDate(deskNow()) ? state.tradingDay : null;
}

// How a "today" of the page reads when the figures are of another day, by the kind a
// `data-day-words` span names: "today" (P&L today → P&L of Mon 07 Dec), "on" (No trades today
// → No trades on Mon 07 Dec), "tag" (nothing today → "of Mon 07 Dec" after a heading).
const DAY_PHRASES = {
  today: (day) => (day ? `of ${dayWords(day)}` : "today"),
  on: (day) => (day ? `on ${dayWords(day)}` : "today"),
  tag: (day) => (day ? `of ${dayWords(day)}` : ""),
};

/** A span that says "today" (or the day the figures are of); renderDayWords keeps it true. */
export function dayWordsNode(kind) {
  return el("span", { "data-day-words": kind }, DAY_PHRASES[kind](staleDay()));
}

/** Every "today" of the page said again for the trading day the figures belong to. */
export function renderDayWords() {
  const day = staleDay();
  for (const node of document.querySelectorAll("[data-day-words]")) {
    node.textContent = DAY_PHRASES[node.dataset.dayWords](day);
    node.classList.toggle("stale-day", Boolean(day));
  }
}

export function money(value) {
  if (value === null || value === undefined || value === "") return "–";
  const number = Number(value);
  return number.toLocaleString("en-IN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

// A price shows every decimal it has, as the CLI shows it (a currency future's 88.1125, its
// tick 0.0025); amounts of money stay at two (money above). Kite's prices have at most four.
export function priceText(value) {
  if (value === null || value === undefined || value === "") return "–";
  const number = Number(value);
  return number.toLocaleString("en-IN", { minimumFractionDigits: 2, maximumFractionDigits: 4 });
}

export function signClass(value) { return Number(value) > 0 ? "pos" : Number(value) < 0 ? "neg" : ""; }

export function duration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  return h ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(s).padStart(2, "0")}s`;
}

// ---- messages and confirmation ---------------------------------------------------------

const FADE_MS = 8000;
let fading = null;

/** A notice under the header: "ok" and "info" fade after a few seconds, the rest (errors,
 * warnings) stay until clicked. */
export function flash(message, kind = "bad") {
  const note = $("notice");
  clearTimeout(fading);
  note.hidden = false;
  note.className = `notice ${kind}`;
  note.textContent = message;
  if (kind === "ok" || kind === "info") fading = setTimeout(() => { note.hidden = true; }, FADE_MS);
}

/** Ask before acting: the dialog repeats the action in words; resolves true on "Confirm". */
export function confirmAction(title, sentence, confirmLabel = "Confirm") {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = sentence;
  $("confirm-ok").textContent = confirmLabel;
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

export const WORKING = new Set(["ACCEPTED", "TRIGGER_PENDING", "OPEN", "PARTIALLY_FILLED", "MODIFY_PENDING"]);

const SIDE_WORDS = { BUY: "Buy", SELL: "Sell" };
const TYPE_WORDS = {
  MARKET: "at market", LIMIT: "at limit", SL: "stop-loss limit", "SL-M": "stop-loss at market",
};

/** An order request in words: "Buy 10 NSE:INFY at limit 1,400.00 (CNC, regular, DAY)". */
export function orderWords(o) {
  let text = `${SIDE_WORDS[o.side] || o.side} ${o.quantity} ${o.instrument} ${TYPE_WORDS[o.order_type] || o.order_type}`;
  if (o.order_type === "LIMIT" || o.order_type === "SL") text += ` ${priceText(o.price)}`;
  if (o.trigger_price) text += `, trigger ${priceText(o.trigger_price)}`;
  const extras = [o.product, o.variety || "regular", o.validity || "DAY"];
  if (o.validity === "TTL" && o.validity_ttl) extras[2] = `valid ${o.validity_ttl} min`;
  if (o.variety === "iceberg") extras.push(`${o.iceberg_legs} legs of ${o.iceberg_quantity}`);
  if (o.variety === "auction") extras.push(`auction ${o.auction_number}`);
  if (Number(o.disclosed_quantity)) extras.push(`disclose ${o.disclosed_quantity}`);
  return `${text} (${extras.join(", ")})`;
}
