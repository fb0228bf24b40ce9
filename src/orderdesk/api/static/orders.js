// The orders panel: today's orders, live; per order a timeline (its id), Modify and Cancel;
// Cancel all. Every action is a call to the API, which records it in the log.
import { $, api, cell, confirmAction, el, emit, flash, money, on, orderWords, state, time, WORKING } from "./core.js";

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
    cell("Type", { class: "word", "data-field": "order-type" }, o.order_type),
    cell("Product", { class: "word", "data-field": "product" }, o.product),
    cell("Price", { class: "num", "data-field": "price" }, o.price === null ? "MKT" : money(o.price)),
    cell("Trigger", { class: "num", "data-field": "trigger" }, o.trigger_price === null ? "–" : money(o.trigger_price)),
    cell("Avg", { class: "num" }, Number(o.average_price) ? money(o.average_price) : "–"),
    cell("Status", { class: "word" }, el("span", { class: `status ${o.status}`, "data-field": "status", title: o.reason || "" }, o.status)),
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
  const ok = await confirmAction("Cancel order", `Cancel ${orderId}: ${orderWords(o)}, ${o.filled_quantity} of ${o.quantity} filled so far?${exits}`, "Cancel order");
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

function describeModify() {
  const o = state.orders.get(modifying);
  if (!o) return;
  const next = { ...o, ...modifyTerms() };
  $("modify-text").textContent = `${o.order_id}: ${orderWords(o)} → ${orderWords(next)}`;
}

function openModify(orderId) {
  const o = state.orders.get(orderId);
  modifying = orderId;
  const form = $("modify-form");
  form.elements.quantity.value = o.quantity;
  form.elements.price.value = o.price ?? "";
  form.elements.trigger_price.value = o.trigger_price ?? "";
  form.elements.order_type.value = o.order_type;
  $("modify-error").textContent = "";
  describeModify();
  $("modify").showModal();
}

async function submitModify(event) {
  event.preventDefault();
  if (event.submitter && event.submitter.value === "cancel") { $("modify").close(); return; }
  const orderId = modifying;
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
