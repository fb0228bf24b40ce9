// The health panel: session age and the countdown to its end (Kite's tokens die at 06:00 IST),
// the live stream, order-rate headroom, the latest reconciliation and what it found, the event
// log's last verification, and the doctor's address check. Each row is ok, warn or bad, and a
// row that is not ok says what to do.
//
// Facts come from GET /api/health/detail (on sign-in, every few seconds, and after the events
// that change them); the countdown ticks locally against the server's clock.
import { $, api, duration, el, emit, flash, on, setSkew, state, time } from "./core.js";

const REFRESH_MS = 5000;
const SESSION_WARN_MS = 30 * 60 * 1000;
let detail = null;
let skew = 0;
let doctor = null;
let timer = null;
let ticks = 0;

function row(name, level, text, todo) {
  return el("li", { class: `health ${level}`, "data-check": name, "data-level": level },
    el("span", { class: "health-name" }, name),
    el("span", { class: "health-text", "data-field": "text" }, text),
    todo ? el("span", { class: "health-todo", "data-field": "todo" }, todo) : "");
}

function sessionRow(now) {
  const s = detail.session;
  if (s.state !== "valid") {
    const why = { expired: "expired", refused: "refused by the broker", missing: "not logged in" }[s.state] || s.state;
    // The broker's own words may end a sentence already ("… `access_token`."): one stop.
    const said = `Broker session ${why}${s.reason ? `: ${s.reason}` : ""}`;
    return row("Session", "bad", /[.!?]$/.test(said) ? said : `${said}.`,
      "Run `orderdesk login` to hand the desk today's session.");
  }
  // `session_since` is when the desk took the session (a restarted desk takes it again), not
  // the login: worded as `orderdesk session` words it.
  const age = detail.session_since ? `in use by the desk for ${duration(now - Date.parse(detail.session_since))}` : "in use by the desk";
  if (!s.expires_at) return row("Session", "ok", `Valid, ${age}, no expiry.`);
  const left = Date.parse(s.expires_at) - now;
  const text = `Valid, ${age}; ends in ${duration(left)} (${time(s.expires_at)} IST)`;
  if (left < SESSION_WARN_MS) return row("Session", "warn", text, "It ends at 06:00 IST: run `orderdesk login` after it to trade today.");
  return row("Session", "ok", text);
}

function streamRow() {
  // What the desk last said of the broker's stream does not hold while the desk is silent.
  if (state.down) {
    return row("Stream", "bad", "Live updates disconnected: the desk is not answering.",
      "Check that `orderdesk run` is running; the page reconnects by itself.");
  }
  const c = detail.broker_connection;
  if (c === null) return row("Stream", "ok", "This broker has no live stream; the desk polls.");
  if (c === "CONNECTED" && detail.session.state !== "valid") {
    // The socket outlives the token (Kite's ends at 06:00 IST) but carries nothing after it.
    return row("Stream", "bad", "Live updates idle: the broker session has ended, so nothing arrives.",
      "Run `orderdesk login`; the stream carries updates again with the new session.");
  }
  if (c === "CONNECTED") return row("Stream", "ok", "Live updates connected.");
  return row("Stream", "bad", `Live updates ${c.toLowerCase()}; the desk polls the broker meanwhile.`,
    "Check the network and the broker's status; orders still go through, updates come slower.");
}

function rateRow() {
  // The broker's count (order_rate.py): requests it has had, none still waiting in the desk's
  // own rate limiter. The second and minute count placements, modifies and cancels; the day
  // counts placements only, as Kite's daily cap does.
  const r = detail.order_rate;
  const parts = [[r.second, r.second_limit, "this second"], [r.minute, r.minute_limit, "this minute"], [r.day, r.day_limit, "placed today"]];
  const text = parts.map(([used, limit, when]) => `${used}/${limit} ${when}`).join(" · ");
  if (r.day >= r.day_limit) return row("Order rate", "bad", text, "Kite's daily cap of placements is reached: it refuses new orders until tomorrow; pause the strategies.");
  const worst = Math.max(...parts.map(([used, limit]) => used / limit));
  if (worst >= 1) return row("Order rate", "warn", text, "At Kite's rate limit: more order requests wait in the desk until the window passes; slow the strategies if it lasts.");
  if (worst >= 0.8) return row("Order rate", "warn", text, "Close to Kite's limit: slow the strategies down.");
  return row("Order rate", "ok", text);
}

function reconcileRow() {
  const r = detail.reconciliation;
  if (!r) return row("Reconciliation", "warn", "None yet.", "Press Reconcile now to compare the desk with the broker.");
  const count = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const text = `${time(r.at)}: ${count(r.orders_checked, "order")}, ${count(r.trades_checked, "trade")} checked, ${r.mismatches ? count(r.mismatches, "difference") : "no differences"}.`;
  if (!r.mismatches) return row("Reconciliation", "ok", text);
  const item = row("Reconciliation", "bad", text, "Read the differences below and the broker's book; adopted orders are tracked now, a position difference needs a look.");
  item.append(el("ul", { class: "findings" }, ...r.findings.map((f) => el("li", {}, `${f.order_id ? `${f.order_id}: ` : ""}${f.detail}`))));
  return item;
}

function auditRow() {
  const a = detail.audit;
  if (!a) return row("Audit log", "warn", "Not verified since the desk started.", "Press Verify now (or run `orderdesk audit verify`).");
  if (a.ok) return row("Audit log", "ok", `Hash chain intact: ${a.rows} events (verified ${time(a.checked_at)}).`);
  return row("Audit log", "bad", `Hash chain broken at row ${a.first_bad_seq}: ${a.reason}`,
    "Stop the desk, run `orderdesk audit verify`, and restore the log from your copy.");
}

function doctorRow() {
  if (doctor === null) return row("Address", "warn", "Not checked yet.", "Press Check address.");
  if (doctor === "absent") return row("Address", "warn", "This desk has no doctor (GET /api/doctor).", "Run `orderdesk doctor` on the desk's machine.");
  if (doctor.failed) return row("Address", "warn", `The check failed: ${doctor.failed}`, "Press Check address again, or run `orderdesk doctor`.");
  const path = doctor.order_path;
  if (doctor.broker_unanswered) {
    return row("Address", "warn", `Not known: ${doctor.broker_unanswered}.`, "Press Check address again, or run `orderdesk doctor`.");
  }
  if (!path) return row("Address", "ok", `${doctor.broker} takes orders from anywhere.`);
  const text = `Orders leave from ${path.local_address || "an unknown address"} (${path.ip_family}): ${path.verdict}.`;
  if (path.verdict === "accepted") return row("Address", "ok", text);
  if (path.verdict === "refused") {
    return row("Address", "bad", `${text} ${path.answer}`,
      "Register this address with the Kite app (static IP rule), or set [kite] source_address to the registered one.");
  }
  if (path.verdict === "throttled") {
    return row("Address", "warn", `${text} ${path.answer}`,
      "The broker is throttling orders for now; the desk holds them back meanwhile. Check again in a minute.");
  }
  // Unknown (no answer that tells) or the session refused: most often for want of a session.
  return row("Address", "warn", `${text} ${path.answer}`,
    "Log in if the session has ended (`orderdesk login`); it is checked again when the new session arrives.");
}

function render() {
  if (!detail) return;
  const now = Date.now() + skew;
  $("health").replaceChildren(sessionRow(now), streamRow(), rateRow(), reconcileRow(), auditRow(), doctorRow());
}

async function refresh() {
  try {
    detail = await api("/api/health/detail");
    skew = Date.parse(detail.now) - Date.now();
    setSkew(skew);
    render();
    state.session = detail.session;
    state.tradingDay = detail.session.trading_day ?? null;
    emit("session", detail.session);
  } catch (error) { /* shown again at the next refresh; 401 signs out in api() */ }
}

async function act(button, path, done) {
  button.disabled = true;
  try { done(await api(path, { method: path === "/api/doctor" ? "GET" : "POST" })); }
  catch (error) { flash(`${button.textContent}: ${error.message}`); }
  finally { button.disabled = false; await refresh(); }
}

async function checkAddress() {
  // Its answer (or failure) goes in its row, never the notice: this runs unasked at sign-in.
  try { doctor = await api("/api/doctor"); }
  catch (error) { doctor = error.status === 404 ? "absent" : { failed: error.message }; }
  render();
}

// The order rate moves with the broker's answers (order_rate.py counts those, not the asking).
const CHANGES = new Set(["ReconciliationCompleted", "SessionRenewed", "SessionLost", "DayOpened", "OrderAccepted", "OrderSubmitRejected", "OrderModified", "OrderModifyRejected", "OrderCancelRequested"]);

on("signed-in", () => {
  refresh();
  checkAddress();
  clearInterval(timer);
  timer = setInterval(() => { if (++ticks % 5 === 0) refresh(); else render(); }, REFRESH_MS / 5);
});
on("signed-out", () => { clearInterval(timer); detail = null; });
on("event", (event) => {
  if (CHANGES.has(event.type)) refresh();
  // The address check asks the broker with the session: a new one answers it afresh.
  if (event.type === "SessionRenewed") checkAddress();
});
on("status", () => { if (detail && detail.broker_connection !== state.broker) refresh(); });
// Back from a stop: the desk may have been restarted with another session.
on("desk-back", refresh);
on("desk-down", render);
document.addEventListener("DOMContentLoaded", () => {
  $("reconcile-now").addEventListener("click", (e) => act(e.currentTarget, "/api/reconcile", (r) => flash(r.ok ? "Reconciled: no differences." : `Reconciled: ${r.findings.length} difference(s).`, r.ok ? "ok" : "warn")));
  $("verify-now").addEventListener("click", (e) => act(e.currentTarget, "/api/audit/verify", (r) => flash(r.ok ? `Audit log intact: ${r.rows} events.` : `Audit log broken at row ${r.first_bad_seq}.`, r.ok ? "ok" : "bad")));
  $("check-address").addEventListener("click", checkAddress);
});
