// The orders panel: today's orders, live; per order a timeline (its id), Modify and Cancel;
// Cancel all. Every action is a call to the API, which records it in the log.
import { $, api, cell, confirmAction, el, emit, flash, on, priceText, state, time, WORKING } from "./core.js";

const SIDE_WORDS = { BUY: "Buy", SELL: "Sell" };
const TYPE_WORDS = {
  MARKET: "at market", LIMIT: "at limit", SL: "stop-loss limit", "SL-M": "stop-loss at market",
};
const given = (v) => v !== null && v !== undefined && v !== "";

/** An order (the API's, or a request) in words, naming only what it carries: the API's order
 * has no validity nor iceberg legs, so none is made up ("DAY", "undefined legs"). */
export function orderText(o) {
  let text = `${SIDE_WORDS[o.side] || o.side} ${o.quantity} ${o.instrument} ${TYPE_WORDS[o.order_type] || o.order_type}`;
  if ((o.order_type === "LIMIT" || o.order_type === "SL") && given(o.price)) text += ` ${priceText(o.price)}`;
  if (given(o.trigger_price) && Number(o.trigger_price)) text += `, trigger ${priceText(o.trigger_price)}`;
  const extras = [o.product, o.variety];
  if (o.validity === "TTL" && given(o.validity_ttl)) extras.push(`valid ${o.validity_ttl} min`);
  else if (o.validity) extras.push(o.validity);
  if (o.variety === "iceberg" && given(o.iceberg_legs) && given(o.iceberg_quantity)) {
    extras.push(`${o.iceberg_legs} legs of ${o.iceberg_quantity}`);
  }
  if (o.variety === "auction" && given(o.auction_number)) extras.push(`auction ${o.auction_number}`);
  if (Number(o.disclosed_quantity)) extras.push(`disclose ${o.disclosed_quantity}`);
  const shown = extras.filter(given);
  return shown.length ? `${text} (${shown.join(", ")})` : text;
}

/** The notice for a placement's reply (a signal's or an exit's), by the order's status, as the
 * CLI's `place` words it: rejected is an error with the broker's reason; not confirmed yet
 * (SUBMITTING, SUBMIT_UNKNOWN) a warning; only an order the broker took says "sent". */
export function placedNotice(what, reply, sentence) {
  const o = reply.order;
  if (o.status === "REJECTED") {
    flash(`${what} ${o.order_id} rejected by the broker: ${o.reason || "no reason given"}. ${sentence}`, "bad");
  } else if (o.status === "SUBMITTING" || o.status === "SUBMIT_UNKNOWN" || o.status === "INITIALIZED") {
    const meaning = o.status === "SUBMIT_UNKNOWN"
      ? "sent, outcome unknown: the desk is finding it out from the broker"
      : "not placed yet";
    const more = reply.message ? ` ${reply.message}` : "";
    flash(`${what} ${o.order_id} not confirmed yet (${o.status}: ${meaning}).${more} ${sentence}`, "warn");
  } else {
    flash(`${what} ${o.order_id} sent: ${sentence}`, "ok");
  }
}

/** A price typed by hand: a positive decimal number, or null. */
export function priceOf(text) {
  const value = String(text ?? "").trim();
  return /^\d+(\.\d+)?$/.test(value) && Number(value) > 0 ? value : null;
}

function actions(o) {
  if (!WORKING.has(o.status)) return "";
  return el("span", { class: "actions" },
    el("button", { class: "small", type: "button", "data-action": "modify", onclick: () => openModify(o.order_id) }, "Modify"),
    el("button", { class: "small", type: "button", "data-action": "cancel", onclick: () => cancelOrder(o.order_id) }, "Cancel"));
}

// One strategy's orders only (chosen in the strategies panel), or every order (null).
let strategy = null;

function render() {
  const orders = [...state.orders.values()]
    .filter((o) => strategy === null || o.strategy === strategy)
    .sort((a, b) => b.created_at.localeCompare(a.created_at));
  $("orders").replaceChildren(...orders.map((o) => el("tr", { "data-order-id": o.order_id },
    cell("Time", { class: "mono word" }, time(o.created_at)),
    cell("Order", { class: "card-wide" },
      el("button", { class: "link mono", type: "button", title: "Show this order's timeline", "data-action": "timeline", onclick: () => emit("timeline", o.order_id) }, o.order_id)),
    cell("Strategy", {}, o.strategy),
    cell("Instrument", {}, o.instrument),
    cell("Side", { class: `${o.side} word` }, o.side),
    cell("Filled / Qty", { class: "num", "data-field": "filled" }, `${o.filled_quantity} / ${o.quantity}`),
    cell("Type", { class: "word" }, el("span", {},
      el("span", { "data-field": "order-type" }, o.order_type),
      o.variety && o.variety !== "regular" ? el("small", { class: "variety", "data-field": "variety", title: "Variety" }, o.variety) : "")),
    cell("Product", { class: "word", "data-field": "product" }, o.product),
    cell("Price", { class: "num", "data-field": "price" }, o.price === null ? "MKT" : priceText(o.price)),
    cell("Trigger", { class: "num", "data-field": "trigger" }, o.trigger_price === null ? "–" : priceText(o.trigger_price)),
    cell("Avg", { class: "num" }, Number(o.average_price) ? priceText(o.average_price) : "–"),
    // A long status (TRIGGER_PENDING) may break after its "_", so the row's buttons keep their room.
    cell("Status", { class: "cell-status" }, el("span", { class: `status ${o.status}`, "data-field": "status", title: o.reason || "" },
      ...o.status.split("_").flatMap((part, i, all) => (i < all.length - 1 ? [`${part}_`, el("wbr")] : [part])))),
    cell("", { class: "cell-actions" }, actions(o)),
  )));
  $("orders-empty").hidden = orders.length > 0;
  $("orders-filter").hidden = strategy === null;
  $("orders-filter-name").textContent = strategy ?? "";
  $("cancel-all").disabled = !orders.some((o) => WORKING.has(o.status));
}

async function cancelOrder(orderId) {
  const o = state.orders.get(orderId);
  const exits = o.leg_of ? ` It is the stop leg of cover order ${o.leg_of}: cancelling it exits that position at market.` : "";
  const ok = await confirmAction("Cancel order", `Cancel ${orderId}: ${orderText(o)}, ${o.filled_quantity} of ${o.quantity} filled so far?${exits}`, "Cancel order");
  if (!ok) return;
  try {
    await api(`/api/orders/${encodeURIComponent(orderId)}`, { method: "DELETE" });
    flash(`Cancel sent for ${orderId}.`, "ok");
  } catch (error) { flash(`Cancel failed: ${error.message}`); }
}

async function cancelAll() {
  const working = [...state.orders.values()].filter((o) => WORKING.has(o.status));
  // Unlike the kill switch's cancel, this one takes protection away too: say so.
  const legs = working.filter((o) => o.leg_of);
  const exits = legs.length
    ? ` Among them the stop leg of cover order ${legs.map((o) => o.leg_of).join(", ")}: cancelling a stop leg exits its position at market.`
    : " A cover order's stop leg is cancelled too, which exits that position at market.";
  const ok = await confirmAction("Cancel all orders", `Cancel every open order (${working.length} now), protective stops included?${exits}`, "Cancel all");
  if (!ok) return;
  try {
    const cancelled = await api("/api/orders/cancel-all", { method: "POST" });
    flash(`Cancel sent for ${cancelled.length} order(s).`, "ok");
  } catch (error) { flash(`Cancel all failed: ${error.message}`); }
}

// ---- modify ----------------------------------------------------------------------------

let modifying = null;

function modifyTerms() {
  const form = $("modify-form");
  const terms = {};
  const quantity = form.elements.quantity.value.trim();
  const price = form.elements.price.value.trim();
  const trigger = form.elements.trigger_price.value.trim();
  const type = form.elements.order_type.value;
  if (quantity) terms.quantity = Number(quantity);
  if (price && (type === "LIMIT" || type === "SL")) terms.price = price;
  if (trigger && (type === "SL" || type === "SL-M")) terms.trigger_price = trigger;
  terms.order_type = type;
  return terms;
}

/** What is wrong with the modify form's terms, or "" (shown inline, nothing sent). */
function modifyProblem(terms) {
  const form = $("modify-form");
  const quantity = form.elements.quantity.value.trim();
  if (quantity && !(Number.isInteger(Number(quantity)) && Number(quantity) > 0)) return "The quantity must be a whole number above 0.";
  if (["LIMIT", "SL"].includes(terms.order_type) && !priceOf(form.elements.price.value)) {
    return `A ${terms.order_type} order needs a price: a number above 0.`;
  }
  if (["SL", "SL-M"].includes(terms.order_type) && !priceOf(form.elements.trigger_price.value)) {
    return `A ${terms.order_type} order needs a trigger price: a number above 0.`;
  }
  return "";
}

function describeModify() {
  const o = state.orders.get(modifying);
  if (!o) return;
  const terms = modifyTerms();
  // Exactly what will be sent: a price only for LIMIT/SL, a trigger only for SL/SL-M.
  const next = { ...o, ...terms, price: terms.price ?? null, trigger_price: terms.trigger_price ?? null };
  const problem = modifyProblem(terms);
  $("modify-text").textContent = problem ? "" : `${o.order_id}: ${orderText(o)} → ${orderText(next)}`;
  $("modify-error").textContent = problem;
}

function openModify(orderId) {
  const o = state.orders.get(orderId);
  modifying = orderId;
  const form = $("modify-form");
  form.elements.quantity.value = o.quantity;
  form.elements.price.value = o.price ?? "";
  form.elements.trigger_price.value = o.trigger_price ?? "";
  form.elements.order_type.value = o.order_type;
  describeModify();
  $("modify").showModal();
}

async function submitModify(event) {
  event.preventDefault();
  if (event.submitter && event.submitter.value === "cancel") { $("modify").close(); return; }
  const orderId = modifying;
  const problem = modifyProblem(modifyTerms());
  if (problem) { $("modify-error").textContent = problem; return; }
  try {
    await api(`/api/orders/${encodeURIComponent(orderId)}`, { method: "PATCH", body: JSON.stringify(modifyTerms()) });
    $("modify").close();
    flash(`Modify sent for ${orderId}.`, "ok");
  } catch (error) { $("modify-error").textContent = error.message; }
}

on("filter-strategy", (name) => { strategy = name; render(); });
on("snapshot", render);
on("order", render);
document.addEventListener("DOMContentLoaded", () => {
  $("cancel-all").addEventListener("click", cancelAll);
  $("orders-filter").addEventListener("click", () => emit("filter-strategy", null));
  $("modify-form").addEventListener("submit", submitModify);
  $("modify-form").addEventListener("input", describeModify);
});
