// Positions (with Exit: POST /api/positions/exit, a protected market order for the broker's
// live position that the desk re-prices while it does not fill, [exit]'s policy; and, on an
// MIS position, Keep: POST /api/positions/convert to the carry product before the square-off) and
// the per-strategy book: each strategy's orders and its P&L from its own fills (the P&L point
// the stream carries, the figures of GET /api/strategies).
import { $, api, cell, confirmAction, el, emit, flash, money, on, priceText, signClass, state, WORKING } from "./core.js";
import { orderText, placedNotice } from "./orders.js";

function renderPositions() {
  let total = 0;
  $("positions").replaceChildren(...state.positions.map((p) => {
    total += Number(p.pnl);
    // A sale out of holdings shows as a short, but there is nothing to buy back.
    const exit = p.quantity + (p.from_holdings || 0) !== 0 && !["CO", "BO"].includes(p.product)
      ? el("button", { class: "small", type: "button", "data-action": "exit", onclick: () => exitPosition(p) }, "Exit")
      : "";
    const keep = p.product === "MIS" && p.quantity !== 0
      ? el("button", { class: "small", type: "button", "data-action": "keep", title: `Convert to ${carryProduct(p.instrument)}: kept past the square-off`, onclick: () => keepPosition(p) }, "Keep")
      : "";
    return el("tr", { "data-instrument": p.instrument, "data-product": p.product },
      cell("Instrument", {}, p.instrument), cell("Product", {}, p.product),
      cell("Qty", { class: "num" }, el("span", { "data-field": "quantity" }, String(p.quantity)),
        p.from_holdings ? el("small", { "data-field": "from-holdings" }, ` (${p.from_holdings} from holdings)`) : ""),
      cell("Avg", { class: "num" }, priceText(p.average_price)),
      cell("LTP", { class: "num" }, priceText(p.last_price)),
      cell("Realised", { class: `num ${signClass(p.realised)}` }, money(p.realised)),
      cell("Unrealised", { class: `num ${signClass(p.unrealised)}` }, money(p.unrealised)),
      cell("P&L", { class: `num ${signClass(p.pnl)}`, "data-field": "pnl" }, money(p.pnl)),
      cell("", { class: "cell-actions" }, keep, exit));
  }));
  $("positions-empty").hidden = state.positions.length > 0;
  $("total-pnl").textContent = money(total);
  $("total-pnl").className = `num ${signClass(total)}`;
}

// The orders still working (alive or maybe alive at the broker) in a position's instrument and
// product: a stop left behind by an exit fills later and opens the opposite position.
function workingIn(p) {
  return [...state.orders.values()].filter((o) => o.open && o.instrument === p.instrument && o.product === p.product);
}

async function exitPosition(p) {
  const open = p.quantity + (p.from_holdings || 0); // stock sold out of holdings stays sold
  const side = open > 0 ? "Sell" : "Buy";
  // An exit naming no strategy is the account's: booked to the desk's own `account_exit`.
  const sentence = `${side} ${Math.abs(open)} ${p.instrument} at market (${p.product}) to close the account's position, re-priced while it does not fill (booked to account_exit).`;
  const working = workingIn(p);
  const answer = confirmAction("Exit position", sentence, "Exit position");
  let also = null;
  if (working.length) {
    // Offered, and checked: the dialog's text is rebuilt by the next confirmation.
    also = el("input", { type: "checkbox", checked: true, "data-testid": "exit-cancel-working" });
    const names = working.map((o) => `${o.order_id} (${orderText(o)}, ${o.status})`).join("; ");
    $("confirm-text").append(el("br"), el("br"), el("label", { "data-testid": "exit-cancel-label" }, also,
      ` also cancel the ${working.length} working order${working.length === 1 ? "" : "s"} in ${p.instrument} ${p.product} first: ${names}`));
  }
  if (!(await answer)) return;
  // The desk cancels the working orders itself (each confirmed ended) before it places the
  // exit, and places nothing when one cannot be cancelled (409 naming it): unchecked, they stay.
  const cancelWorking = also ? also.checked : true;
  try {
    const reply = await api("/api/positions/exit", {
      method: "POST",
      body: JSON.stringify({ instrument: p.instrument, product: p.product, cancel_working: cancelWorking }),
    });
    const cancelled = reply.cancelled && reply.cancelled.length ? ` Cancelled first: ${reply.cancelled.join(", ")}.` : "";
    if (reply.order === null) flash(`Nothing to exit: ${reply.detail}.${cancelled}`, "warn");
    else if (!cancelWorking) {
      // Left working by choice: a stop among them fills after the exit and opens the opposite
      // position, so the notice says so and stays (a warning does not fade).
      const kept = working.map((o) => o.order_id).join(", ");
      flash(`Exit order ${reply.order.order_id} sent. Still working, as asked: ${kept}; one that fills after the exit opens the opposite position (cancel it if that is not wanted).`, "warn");
    } else placedNotice("Exit order", reply, sentence + cancelled);
  } catch (error) { flash(`Exit failed: ${error.message}`); }
}

// What an intraday position is kept as: delivery in the cash market, carried in derivatives.
function carryProduct(instrument) {
  return /^(NSE|BSE):/.test(instrument) ? "CNC" : "NRML";
}

async function keepPosition(p) {
  const to = carryProduct(p.instrument);
  const sentence = `Convert ${Math.abs(p.quantity)} ${p.instrument} from MIS to ${to}: kept past the broker's square-off, at its cost. No order is placed.`;
  if (!(await confirmAction("Keep position", sentence, "Convert"))) return;
  try {
    const reply = await api("/api/positions/convert", {
      method: "POST", body: JSON.stringify({ instrument: p.instrument, from_product: "MIS", to_product: to }),
    });
    flash(`${reply.detail.charAt(0).toUpperCase()}${reply.detail.slice(1)}.`, "ok");
  } catch (error) { flash(`Conversion failed: ${error.message}`); }
}

function renderStrategies() {
  const books = new Map();
  for (const o of state.orders.values()) {
    const book = books.get(o.strategy) || { orders: 0, open: 0 };
    book.orders += 1;
    if (WORKING.has(o.status)) book.open += 1;
    books.set(o.strategy, book);
  }
  const pnl = state.pnl ? state.pnl.strategies : {};
  const names = [...new Set([...books.keys(), ...Object.keys(pnl)])].sort();
  $("strategies").replaceChildren(...names.map((name) => {
    const book = books.get(name) || { orders: 0, open: 0 };
    return el("tr", { "data-strategy": name },
      cell("Strategy", {}, el("button", { class: "link", type: "button", title: "Show only this strategy's orders", "data-action": "filter", onclick: () => emit("filter-strategy", name) }, name)),
      cell("Orders", { class: "num" }, String(book.orders)),
      cell("Open", { class: "num" }, String(book.open)),
      cell("P&L", { class: `num ${signClass(pnl[name])}`, "data-field": "pnl" }, money(pnl[name] ?? 0)));
  }));
  $("strategies-empty").hidden = names.length > 0;
}

on("snapshot", () => { renderPositions(); renderStrategies(); });
on("status", () => { renderPositions(); renderStrategies(); });
on("order", renderStrategies);
