// orderdesk dashboard: plain JS modules, nothing loaded from elsewhere (the CSP forbids it).
// The token lives in sessionStorage only (this tab); every call sends it as a bearer token.
// The live stream is read with fetch() because EventSource cannot send headers.
//
// This module owns the session, the header (stream, broker, kill switch) and the stream; each
// panel is its own module, imported below, that listens with on(kind, fn) from core.js. A new
// panel: a <section class="panel"> in index.html, a module here, its name in dashboard.ASSETS.
import {
  $, api, confirmAction, dayWords, deskNow, deskTime, el, emit, flash, istDate, minute, on, renderDayWords, staleDay, state, token,
  TOKEN_KEY, whenUnauthorised,
} from "./core.js";
import "./orders.js";
import "./entry.js";
import "./positions.js";
import "./approvals.js";
import "./feeds.js";
import "./chart.js";
import "./health.js";
import "./book.js";
import "./days.js";

let streamAbort = null;
let lastHeard = null; // when the stream last brought a message, by the browser's clock (shown by the desk's: deskTime)
let killBusy = false; // a kill switch request (or its confirmation) is under way: the button waits

// ---- header ----------------------------------------------------------------------------

function renderStatus() {
  const kill = state.kill;
  const killState = $("kill-state");
  if (state.down) {
    // What the desk last said of its kill switch may no longer hold (a restart, the CLI).
    killState.textContent = "kill switch: unknown";
    killState.className = "pill signed-in-only unknown";
  } else {
    killState.textContent = kill.engaged ? "kill switch: ENGAGED" : "kill switch: off";
    killState.className = `pill signed-in-only ${kill.engaged ? "bad" : "ok"}`;
  }
  const button = $("kill-button");
  // Stream messages re-render the header while a request is out: the button stays waiting.
  button.disabled = killBusy;
  button.textContent = kill.engaged ? "Release kill switch" : "Engage kill switch";
  button.className = `signed-in-only ${kill.engaged ? "" : "danger"}`;
  const banner = $("banner");
  banner.hidden = !kill.engaged;
  banner.textContent = !kill.engaged ? ""
    : state.down ? `The kill switch was engaged when the desk stopped answering. ${kill.reason}`
      : `Kill switch engaged — new orders are refused. ${kill.reason}`;
  const broker = $("broker");
  if (state.down) {
    // The desk is not answering: what it last said of the broker may no longer hold.
    broker.textContent = "broker: unknown";
    broker.className = "pill signed-in-only unknown";
  } else {
    // A socket open past the session's end (Kite's token ends at 06:00 IST) carries nothing.
    const idle = state.broker === "CONNECTED" && state.session && !usable(state.session);
    broker.textContent = `broker: ${idle ? "idle" : state.broker ?? "n/a"}`;
    broker.className = `pill signed-in-only ${idle ? "bad" : state.broker === "CONNECTED" ? "ok" : state.broker ? "bad" : ""}`;
  }
  renderSession();
  renderDown();
  renderDay();
}

// The trading day the figures are of: a pill always (when the desk keeps days), and when it
// is not the desk's calendar day (after 06:00 until the next login opens the new day, or a
// weekend) a banner says so and every "today" of the page names that day instead.
function renderDay() {
  const pill = $("trading-day");
  const banner = bannerNode("day-banner", "day-banner");
  const day = state.tradingDay;
  const stale = staleDay();
  pill.hidden = !day;
  pill.textContent = day ? `trading day ${dayWords(day)}` : "";
  pill.className = `pill signed-in-only ${stale ? "warn" : ""}`;
  banner.hidden = !stale;
  banner.className = "banner day-banner";
  banner.textContent = stale
    ? `Figures of ${dayWords(stale)}, the trading day the desk has open (today is ${dayWords(istDate(deskNow()))} IST): the next day opens at the next login on a trading day.`
    : "";
  renderDayWords();
}

// The broker session as the health panel last read it: a header pill always, and a banner
// whenever the session is not usable (nothing can be traded until `orderdesk login`).
const SESSION_WORDS = { expired: "session expired: log in", refused: "session refused: log in", missing: "no session: log in" };

// Whether the broker session can trade, as the desk's health detail says it (older desks send
// only its state).
function usable(session) { return session.usable ?? session.state === "valid"; }

function renderSession() {
  const pill = headerNode("session", "session-state", "span");
  const banner = bannerNode("session-banner", "session-banner");
  const s = state.session;
  if (!s || state.down) {
    pill.textContent = "session: unknown";
    pill.className = "pill signed-in-only unknown";
    banner.hidden = true;
    return;
  }
  const ok = usable(s);
  pill.textContent = ok ? "session: valid" : SESSION_WORDS[s.state] || `session ${s.state}: log in`;
  pill.className = `pill signed-in-only ${ok ? "ok" : "bad"}`;
  banner.hidden = ok;
  banner.textContent = ok ? "" : `The broker session is ${s.state === "missing" ? "missing" : s.state}${s.reason ? ` (${s.reason})` : ""}: run \`orderdesk login\` to trade.`;
}

// The desk went quiet (stopped, or the network between): say so and since when, and grey
// what would otherwise look live.
function renderDown() {
  const banner = bannerNode("desk-down", "desk-down");
  document.body.classList.toggle("desk-down", Boolean(state.down));
  banner.hidden = !state.down;
  banner.textContent = state.down
    ? `The desk is not answering since ${minute(deskTime(state.down))} IST: figures are as of then. Reconnecting…`
    : "";
}

/** An element of the header the page adds itself (index.html has the fixed ones). */
function headerNode(id, testid, tag) {
  let node = $(id);
  if (!node) {
    node = el(tag, { id, "data-testid": testid, class: "pill signed-in-only" });
    $("stream").after(node);
  }
  return node;
}

function bannerNode(id, testid) {
  let node = $(id);
  if (!node) {
    node = el("div", { id, "data-testid": testid, class: "banner", role: "alert" });
    node.hidden = true;
    $("banner").after(node);
  }
  return node;
}

function deskDown(since) {
  if (state.down) return;
  state.down = since;
  renderStatus();
  emit("desk-down", since);
}

function deskBack() {
  if (!state.down) return;
  state.down = null;
  renderStatus();
  emit("desk-back", null);
}

function setStream(text, kind) {
  $("stream").textContent = `stream: ${text}`;
  $("stream").className = `pill signed-in-only ${kind}`;
}

// core.js has already folded each message into `state` when these run.
on("snapshot", renderStatus);
on("status", renderStatus);
on("event", (event) => { if (event.type === "KillSwitchChanged") renderStatus(); });
on("session", renderStatus);

// ---- the live stream -------------------------------------------------------------------

function dispatch(block) {
  let kind = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) kind = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (!data.length) return;
  lastHeard = Date.now();
  deskBack();
  emit(kind, JSON.parse(data.join("\n")));
}

async function follow() {
  let delay = 500;
  while (token()) {
    streamAbort = new AbortController();
    try {
      const response = await fetch("/api/events", {
        headers: { "Authorization": `Bearer ${token()}` }, signal: streamAbort.signal,
      });
      if (response.status === 401) { deskBack(); signOut("The token was not accepted."); return; }
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
    if (streamAbort.signal.aborted) return;
    // The stream ends only when the desk stops (or the network between goes).
    setStream("reconnecting", "warn");
    deskDown(lastHeard ?? Date.now());
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 10000);
  }
}

// ---- the kill switch ---------------------------------------------------------------------

// Engaging is one click (it only stops things); releasing lets orders go to the broker again,
// so it asks first. One request at a time: a double click must not engage and release again.
async function toggleKill() {
  if (killBusy) return;
  const engage = !state.kill.engaged;
  killBusy = true;
  $("kill-button").disabled = true;
  try {
    if (!engage && !(await confirmAction("Release kill switch",
      "Release the kill switch? New orders are taken again: strategies' signals and this page's orders go to the broker.",
      "Release kill switch"))) return;
    await sendKill(engage);
  } finally {
    killBusy = false;
    renderStatus();
  }
}

async function sendKill(engage) {
  const body = { engaged: engage, reason: engage ? "engaged on the dashboard" : "released on the dashboard", cancel_open: engage && $("kill-cancel").checked };
  try {
    const answer = await api("/api/kill-switch", { method: "POST", body: JSON.stringify(body) });
    state.kill = answer;
    if (body.cancel_open) showCancelled(answer);
    else if (!engage) {
      // The next engage cancels only when asked again.
      $("kill-cancel").checked = false;
      // A release replaces what the engage said (a warning of kept orders does not fade).
      flash("Kill switch released: new orders are taken again.", "ok");
    }
  } catch (error) { flash(`Kill switch: ${error.message}`); }
}

// The cancel leaves the orders that can only reduce a position working: name each, and why.
function showCancelled(answer) {
  const kept = answer.kept || [];
  const sent = `Kill switch engaged: cancels sent for ${answer.cancelled.length} open order(s).`;
  if (!kept.length) { flash(sent, "ok"); return; }
  flash(`${sent} Kept ${kept.length} protective order(s) working:`, "warn");
  $("notice").append(el("ul", { class: "kept", "data-testid": "kept-orders" },
    ...kept.map((k) => el("li", { "data-order-id": k.order_id }, el("span", { class: "mono" }, k.order_id), `: ${k.reason}`))));
}

// ---- session ---------------------------------------------------------------------------

function signOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  if (streamAbort) streamAbort.abort();
  setStream("offline", "");
  state.down = null;
  state.session = null;
  state.tradingDay = null;
  document.body.classList.remove("desk-down");
  for (const id of ["desk-down", "session-banner", "day-banner"]) if ($(id)) $(id).hidden = true;
  // Logged out, the header shows nothing that acts on the desk (no kill switch, no sign-out).
  document.body.classList.remove("signed-in");
  $("desk").hidden = true;
  $("banner").hidden = true;
  $("notice").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  emit("signed-out", null);
}

function start() {
  document.body.classList.add("signed-in");
  $("login").hidden = true;
  $("desk").hidden = false;
  setStream("connecting", "warn");
  emit("signed-in", null);
  follow();
}

whenUnauthorised(signOut);

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    start();
  });
  $("kill-button").addEventListener("click", toggleKill);
  $("sign-out").addEventListener("click", () => signOut());
  $("notice").addEventListener("click", () => { $("notice").hidden = true; });
  // Every time on the page is IST (Kite's clock), whatever the browser's zone: the columns say so.
  for (const th of document.querySelectorAll("th")) if (th.textContent.trim() === "Time") th.textContent = "Time (IST)";
  if (token()) start(); else signOut();
});

