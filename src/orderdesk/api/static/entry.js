// Order entry: every variety the desk takes (regular, AMO, cover, iceberg, auction), every order
// type and validity. Submitting asks first, repeating the order in words; the order is then a
// signal to POST /api/signals like any strategy's, with its own signal id so a double click
// cannot place it twice.
import { $, api, confirmAction, flash } from "./core.js";
import { orderText, placedNotice, priceOf } from "./orders.js";

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

const WHOLE = (text, least) => /^\d+$/.test(text) && Number(text) >= least;

/** What the form lacks or holds wrong, in words (shown inline; nothing is asked nor sent). */
function problem() {
  const f = values();
  const field = (name) => (f[name] || "").trim();
  const shown = (name) => SHOWN[name](f);
  if (!WHOLE(field("quantity"), 1)) return "The quantity must be a whole number above 0.";
  if (shown("price") && !priceOf(field("price"))) return `A ${f.order_type} order needs a price: a number above 0.`;
  if (shown("trigger_price") && !priceOf(field("trigger_price"))) {
    return `${f.variety === "co" ? "A cover order" : `A ${f.order_type} order`} needs a trigger price: a number above 0.`;
  }
  if (shown("validity_ttl") && !WHOLE(field("validity_ttl"), 1)) return "A TTL order needs its minutes: a whole number above 0.";
  if (shown("iceberg_legs") && !WHOLE(field("iceberg_legs"), 2)) return "An iceberg order needs its legs: a whole number, 2 or more.";
  if (shown("iceberg_quantity") && !WHOLE(field("iceberg_quantity"), 1)) return "An iceberg order needs its leg quantity: a whole number above 0.";
  if (shown("auction_number") && !field("auction_number")) return "An auction order needs the auction's number.";
  if (field("disclosed_quantity") && !WHOLE(field("disclosed_quantity"), 0)) return "The disclosed quantity must be a whole number.";
  return "";
}

async function submit(event) {
  event.preventDefault();
  const wrong = problem();
  $("entry-error").textContent = wrong;
  if (wrong) return;
  const body = request();
  const sentence = `${orderText(body)}, for strategy ${body.strategy}.`;
  if (!(await confirmAction("Place order", sentence, `Place ${body.side === "BUY" ? "buy" : "sell"} order`))) return;
  try {
    const reply = await api("/api/signals", { method: "POST", body: JSON.stringify(body) });
    if (reply.outcome === "pending_approval") flash(`Waiting for approval: ${sentence}`, "warn");
    else placedNotice("Order", reply, sentence);
  } catch (error) {
    $("entry-error").textContent = error.message;
    // Not under the previous order's "sent", which would read as this one's.
    flash(`Order not placed: ${error.message}`);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = $("entry-form");
  form.addEventListener("change", showFields);
  form.addEventListener("submit", submit);
  showFields();
});
