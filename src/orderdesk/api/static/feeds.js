// Alerts, the event feed (the log's latest events on load, then live) and one order's
// timeline: its events from the log, signal to fill, in words, following it live while open.
import { $, api, el, on, state, time } from "./core.js";

function renderAlerts() {
  $("alerts").replaceChildren(...state.alerts.map((a) => el("li", { class: a.severity },
    el("time", { dateTime: a.at, title: "IST (Kite's clock)" }, time(a.at)), el("strong", {}, a.title), ` ${a.body}`,
    a.repeats > 1 ? el("span", { class: "repeats", title: "raised this many times; the latest shown" }, ` ×${a.repeats}`) : "")));
  $("alerts-empty").hidden = state.alerts.length > 0;
}

function eventLine(e) {
  return el("li", { "data-type": e.type, title: e.summary },
    el("time", { dateTime: e.at, title: "IST (Kite's clock)" }, time(e.at)), e.order_id ? el("span", { class: "mono" }, `${e.order_id} `) : "", e.text || e.summary);
}

function renderEvents() {
  $("events").replaceChildren(...state.events.map(eventLine));
  $("events-empty").hidden = state.events.length > 0;
}

// ---- the timeline ------------------------------------------------------------------------

let following = null;
let asked = 0;

// Read whole each time (on opening, and on each live event of the order): a later read always
// holds everything an earlier one did, so the newest answer is drawn and older ones dropped.
async function loadTimeline() {
  const orderId = following;
  const mine = ++asked;
  try {
    const events = await api(`/api/orders/${encodeURIComponent(orderId)}/events`);
    if (mine !== asked) return;
    $("timeline-events").replaceChildren(...events.map(eventLine));
  } catch (error) {
    if (mine === asked) $("timeline-events").replaceChildren(el("li", { class: "critical" }, error.message));
  }
}

function showTimeline(orderId) {
  following = orderId;
  $("timeline-title").textContent = `Order ${orderId}`;
  $("timeline-events").replaceChildren();
  $("timeline").showModal();
  loadTimeline();
}

on("timeline", showTimeline);
on("snapshot", () => { renderAlerts(); renderEvents(); });
on("alert", renderAlerts);
on("event", (event) => {
  renderEvents();
  if ($("timeline").open && event.order_id === following) loadTimeline();
});
document.addEventListener("DOMContentLoaded", () => {
  $("timeline").addEventListener("close", () => { following = null; });
});
