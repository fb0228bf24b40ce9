// Funds and margins, holdings and the trade book: read from the API when the page opens, after
// the events that change them (fills), and on Refresh. Holdings are the broker's as the day
// opened, with what of them was sold since; a broker that keeps none (the paper broker) says
// so instead of showing an empty list. Under the trades, what they cost (the broker's charge
// calculator, one call for the day's orders): asked again a few seconds after fills settle, so a
// burst of them is one call.
import { $, api, cell, dayWordsNode, el, money, on, priceText, time } from "./core.js";

const FILL_EVENTS = new Set(["OrderFillRecorded", "OrderStatusChanged"]);
// A renewed session (the morning login) and a new day change everything here: yesterday's
// error, holdings and trades are no longer the broker's.
const RELOAD_EVENTS = new Set(["SessionRenewed", "DayOpened"]);
let pending = null;
let pendingCharges = null;
const CHARGES_SETTLE_MS = 2000;

function segment(name, s) {
  if (!s) return [];
  return [
    el("dt", {}, `${name} available`), el("dd", { class: "num", "data-field": `${name}-net` }, money(s.net)),
    el("dt", {}, `${name} cash`), el("dd", { class: "num" }, money(s.live_balance)),
    el("dt", {}, `${name} used`), el("dd", { class: "num" }, money(s.utilised_debits)),
  ];
}

async function loadFunds() {
  try {
    const funds = await api("/api/funds");
    $("funds").replaceChildren(...segment("Equity", funds.equity), ...segment("Commodity", funds.commodity));
  } catch (error) { $("funds").replaceChildren(el("dd", { class: "error" }, `Funds: ${error.message}`)); }
}

async function loadHoldings() {
  try {
    const holdings = await api("/api/holdings");
    // `quantity` is the settled stock, `t1_quantity` the stock bought the day before and still
    // settling: two columns, as `orderdesk holdings` and Kite show them (not a sum).
    $("holdings").replaceChildren(...holdings.map((h) => el("tr", { "data-instrument": h.instrument },
      cell("Instrument", {}, h.instrument),
      cell("Qty", { class: "num", "data-field": "quantity" }, String(h.quantity)),
      cell("T1", { class: "num", "data-field": "t1" }, String(h.t1_quantity)),
      cell("Avg", { class: "num" }, priceText(h.average_price)),
      cell("Sold today", { class: "num", "data-field": "sold-today" }, String(h.sold_today)))));
    $("holdings-empty").textContent = "No holdings at the day's open.";
    $("holdings-empty").hidden = holdings.length > 0;
  } catch (error) {
    $("holdings").replaceChildren();
    $("holdings-empty").textContent = error.status === 501 ? "This broker keeps no holdings." : `Holdings: ${error.message}`;
    $("holdings-empty").hidden = false;
  }
}

async function loadTrades() {
  try {
    const trades = await api("/api/trades");
    $("trades").replaceChildren(...trades.map((t) => el("tr", { "data-trade-id": t.trade_id },
      cell("Time", { class: "mono" }, t.filled_at ? time(t.filled_at) : "–"),
      cell("Order", { class: "mono card-wide" }, t.order_id),
      cell("Instrument", {}, t.instrument),
      cell("Side", { class: t.side }, t.side),
      cell("Qty", { class: "num" }, String(t.quantity)),
      cell("Price", { class: "num" }, priceText(t.price)))));
    $("trades-empty").replaceChildren("No trades ", dayWordsNode("on"), ".");
    $("trades-empty").hidden = trades.length > 0;
  } catch (error) { $("trades-empty").textContent = `Trades: ${error.message}`; $("trades-empty").hidden = false; }
}

async function loadCharges() {
  const line = $("charges");
  try {
    const day = await api("/api/charges");
    const c = day.charges;
    const count = day.orders.length;
    // An option settled in the money at expiry costs without an order (exercised or assigned).
    const settled = (day.exercised || []).length;
    const what = [
      count ? `${count} order${count === 1 ? "" : "s"}` : "",
      settled ? `${settled} option${settled === 1 ? "" : "s"} settled at expiry` : "",
    ].filter(Boolean).join(" and ");
    const other = Number(c.total) - Number(c.brokerage) - Number(c.transaction_tax);
    line.replaceChildren(...(what
      ? ["Charges ", dayWordsNode("today"), `: ${money(c.total)} on ${what} ` +
        `(brokerage ${money(c.brokerage)}, STT ${money(c.transaction_tax)}, other ${money(other)})`]
      : []));
  } catch (error) {
    line.textContent = error.status === 501 ? "This broker has no charge calculator." : `Charges: ${error.message}`;
  }
  line.hidden = !line.textContent;
}

function loadAll() { loadFunds(); loadHoldings(); loadTrades(); loadCharges(); }

on("signed-in", loadAll);
on("desk-back", loadAll);
on("event", (event) => {
  if (RELOAD_EVENTS.has(event.type)) { loadAll(); return; }
  if (!FILL_EVENTS.has(event.type)) return;
  // A burst of fills is one read, not one per event.
  clearTimeout(pending);
  // A sale of delivered stock moves "sold today" too.
  pending = setTimeout(() => { loadFunds(); loadHoldings(); loadTrades(); }, 300);
  clearTimeout(pendingCharges);
  pendingCharges = setTimeout(loadCharges, CHARGES_SETTLE_MS);
});
document.addEventListener("DOMContentLoaded", () => {
  $("book-refresh").addEventListener("click", loadAll);
});
