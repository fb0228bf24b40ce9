// Order entry: every variety the desk takes (regular, AMO, cover, iceberg, auction), every order
// type and validity. Submitting asks first, repeating the order in words; the order is then a
// signal to POST /api/signals like any strategy's, with its own signal id so a double click
// cannot place it twice.
import { $, api, confirmAction, flash, orderWords } from "./core.js";

const SHOWN = {
  price: (f) => ["LIMIT", "SL"].includes(f.order_type),
  trigger_price: (f) => ["SL", "SL-M"].includes(f.order_type) || f.variety === "co",
  market_protection: (f) => ["MARKET", "SL-M"].includes(f.order_type),
  validity_ttl: (f) => f.validity === "TTL",
  iceberg_legs: (f) => f.variety === "iceberg",
  iceberg_quantity: (f) => f.variety === "iceberg",
  auction_number: (f) => f.variety === "auction",
};

function values() {
  const form = $("entry-form");
  const raw = Object.fromEntries(new FormData(form).entries());
  return raw;
}

function showFields() {
  const f = values();
  for (const [name, shown] of Object.entries(SHOWN)) {
    const field = $("entry-form").querySelector(`[data-field-of="${name}"]`);
    field.hidden = !shown(f);
  }
}

function request() {
  const f = values();
  const body = {
    instrument: f.instrument.trim().toUpperCase(),
    side: f.side,
    quantity: Number(f.quantity),
    order_type: f.order_type,
    product: f.product,
    variety: f.variety,
    validity: f.validity,
    strategy: f.strategy.trim() || "manual",
    signal_id: `dash-${crypto.randomUUID()}`,
  };
  for (const [name, shown] of Object.entries(SHOWN)) {
    const value = (f[name] || "").trim();
    if (!shown(f) || !value) continue;
    body[name] = ["validity_ttl", "iceberg_legs", "iceberg_quantity"].includes(name) ? Number(value) : value;
  }
  const disclosed = (f.disclosed_quantity || "").trim();
  if (disclosed) body.disclosed_quantity = Number(disclosed);
  const tag = (f.tag || "").trim();
  if (tag) body.tag = tag;
  return body;
}

async function submit(event) {
  event.preventDefault();
  const body = request();
  $("entry-error").textContent = "";
  const sentence = `${orderWords(body)}, for strategy ${body.strategy}.`;
  if (!(await confirmAction("Place order", sentence, `Place ${body.side === "BUY" ? "buy" : "sell"} order`))) return;
  try {
    const reply = await api("/api/signals", { method: "POST", body: JSON.stringify(body) });
    if (reply.outcome === "pending_approval") flash(`Waiting for approval: ${sentence}`, "warn");
    else flash(`Order ${reply.order.order_id} sent: ${sentence}`, "ok");
  } catch (error) {
    $("entry-error").textContent = error.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = $("entry-form");
  form.addEventListener("change", showFields);
  form.addEventListener("submit", submit);
  showFields();
});
