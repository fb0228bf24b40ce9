// Trading days from the log (GET /api/days): the open one live, past ones as they closed.
// Read when the page opens and whenever a day opens or closes; the open day's P&L follows
// the stream's P&L point between reads.
import { $, api, cell, el, money, on, signClass, state } from "./core.js";

let days = [];

function render() {
  $("days").replaceChildren(...days.map((d) => {
    const pnl = d.live && state.pnl ? state.pnl.total : d.pnl;
    // The desk keeps its last day as its own (live) after closing it, until the next opens.
    const status = d.closed_at ? "closed" : d.live ? "open" : "not closed";
    return el("tr", { "data-day": d.day },
      cell("Day", { class: "mono" }, d.day),
      cell("Status", { "data-field": "status" }, status),
      cell("P&L", { class: `num ${signClass(pnl)}`, "data-field": "pnl" }, pnl === null ? "–" : money(pnl)),
      cell("Orders", { class: "num" }, String(d.orders)),
      cell("Fills", { class: "num" }, String(d.fills)),
      cell("Lapsed", { class: "num" }, String(d.lapsed)));
  }));
  $("days-empty").hidden = days.length > 0;
}

async function load() {
  try { days = await api("/api/days"); render(); }
  catch (error) { $("days-empty").textContent = `Days: ${error.message}`; $("days-empty").hidden = false; }
}

on("signed-in", load);
on("event", (event) => { if (event.type === "DayOpened" || event.type === "DayClosed") load(); });
on("status", () => { if (days.some((d) => d.live)) render(); });
