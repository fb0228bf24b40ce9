// Trading days from the log (GET /api/days): the open one live, past ones as they closed.
// Read when the page opens and whenever a day opens or closes; the open day's P&L follows
// the stream's P&L point between reads. A day's positions (GET /api/days/{day}) open under the
// list when its date is clicked. Figures that rest on an estimate carry a marker ("est.",
// "squared off") whose title says what was estimated, as `orderdesk days` and
// `orderdesk positions --day` say it in words.
import { $, api, cell, el, money, on, priceText, signClass, state } from "./core.js";

let days = [];
let shown = null; // the day whose positions are open under the list (null: none)
let again = null; // a read asked by order events, at most one per ORDER_READ_MS
const ORDER_READ_MS = 3000;

/** A small marker after a figure; its title (the tooltip) says what it means. */
function marker(field, text, title) {
  return el("small", { class: "marker", "data-field": field, title }, text);
}

function dayEstimate(d) {
  if (d.missed) {
    const moved = d.missed_move === null || d.missed_move === undefined ? ""
      : ` The positions carried through the missed days up to this one made ${money(d.missed_move)} then.`;
    return marker("missed", "missed", `The desk never opened this day (it was stopped): nobody kept its P&L, and what its carried positions made is in no day's P&L.${moved}`);
  }
  if (!d.estimated) return "";
  const why = d.live
    ? "Estimated: the day's close waits for the broker, and some open positions have no price of the day yet."
    : "Estimated: the day was closed late, after the broker's books of it were gone (see its positions).";
  return marker("estimated", "est.", why);
}

function render() {
  $("days").replaceChildren(...days.map((d) => {
    const pnl = d.live && state.pnl ? state.pnl.total : d.pnl;
    // The desk keeps its last day as its own (live) after closing it, until the next opens.
    const status = d.missed ? "never opened" : d.closed_at ? "closed" : d.live ? "open" : "not closed";
    // A day the desk never opened has no positions of its own to show.
    const day = d.missed ? el("span", { class: "mono" }, d.day)
      : el("button", { class: "link mono", type: "button", title: "Show this day's positions", "data-action": "day-positions", onclick: () => showDay(d.day) }, d.day);
    return el("tr", { "data-day": d.day },
      cell("Day", { class: "mono" }, day),
      cell("Status", { "data-field": "status" }, status),
      cell("P&L", { class: `num ${signClass(pnl)}` },
        el("span", { "data-field": "pnl" }, pnl === null ? "–" : money(pnl)), dayEstimate(d)),
      cell("Orders", { class: "num" }, String(d.orders)),
      cell("Fills", { class: "num" }, String(d.fills)),
      cell("Lapsed", { class: "num" }, String(d.lapsed)));
  }));
  $("days-empty").hidden = days.length > 0;
}

function positionMarkers(p) {
  const marks = [];
  if (p.squared_off) {
    marks.push(marker("squared-off", `${p.squared_off} squared off`,
      `${p.squared_off} squared off by the broker: no trade of the desk's shows it; inferred at a close made the next trading day and counted at the day's close price (an estimate).`));
  }
  if (p.estimated) {
    marks.push(marker("estimated", "est.", p.squared_off
      ? "Estimated: this line's P&L counts a square-off the desk inferred."
      : "Estimated: no price of the day could be had for this open quantity."));
  }
  return marks;
}

function renderDay(detail) {
  const when = detail.live ? "now" : detail.closed_at ? "at its close" : "no close logged";
  $("day-detail-title").textContent = `Positions of ${detail.day} (${when})`;
  $("day-detail-title").append(dayEstimate(detail));
  $("day-positions").replaceChildren(...detail.positions.map((p) => el("tr", { "data-instrument": p.instrument, "data-product": p.product },
    cell("Instrument", {}, p.instrument),
    cell("Product", {}, p.product),
    cell("Qty", { class: "num" }, el("span", { "data-field": "quantity" }, String(p.quantity)),
      // A CNC sale out of holdings reads as a short: marked as the positions panel marks it.
      p.from_holdings ? el("small", { "data-field": "from-holdings" }, ` (${p.from_holdings} from holdings)`) : "",
      ...positionMarkers(p)),
    cell("Avg", { class: "num" }, priceText(p.average_price)),
    cell("Last", { class: "num" }, priceText(p.last_price)),
    cell("P&L", { class: `num ${signClass(p.pnl)}`, "data-field": "pnl" }, money(p.pnl)))));
  $("day-positions-empty").hidden = detail.positions.length > 0;
  $("day-detail").hidden = false;
}

async function showDay(day) {
  shown = day;
  try { renderDay(await api(`/api/days/${encodeURIComponent(day)}`)); }
  catch (error) {
    $("day-detail-title").textContent = `Positions of ${day}: ${error.message}`;
    $("day-positions").replaceChildren();
    $("day-positions-empty").hidden = true;
    $("day-detail").hidden = false;
  }
}

async function load() {
  try {
    days = await api("/api/days");
    render();
    if (shown !== null && days.some((d) => d.day === shown)) await showDay(shown);
  } catch (error) { $("days-empty").textContent = `Days: ${error.message}`; $("days-empty").hidden = false; }
}

on("signed-in", load);
on("event", (event) => {
  if (event.type === "DayOpened" || event.type === "DayClosed") { load(); return; }
  // The open day's orders, fills and lapsed counts move with its orders: read again, at most
  // once every few seconds however many events come.
  if (event.order_id && again === null && days.some((d) => d.live)) {
    again = setTimeout(() => { again = null; load(); }, ORDER_READ_MS);
  }
});
on("desk-back", load);
on("signed-out", () => { clearTimeout(again); again = null; });
on("status", () => { if (days.some((d) => d.live)) render(); });
document.addEventListener("DOMContentLoaded", () => {
  $("day-detail-close").addEventListener("click", () => { shown = null; $("day-detail").hidden = true; });
});
