// GTTs and price alerts of the desk (issue 13): a list with a delete button per live one.
// Self-contained on purpose (the dashboard's modules are being rebuilt by another issue): it
// reads the same tab-scoped token as the page, asks /api/gtt and /api/price-alerts every few
// seconds while signed in, and writes data only through textContent.
"use strict";
(function () {
  const TOKEN_KEY = "orderdesk.token";
  const EVERY_MS = 3000;
  const token = () => sessionStorage.getItem(TOKEN_KEY);
  // What a request says when nothing answered (fetch's own words are "Failed to fetch"): as
  // core.js's NO_ANSWER, which this classic script cannot import.
  const NO_ANSWER = "the desk did not answer (is `orderdesk run` running?)";

  async function call(method, path) {
    let response;
    try {
      response = await fetch(path, { method, headers: { "Authorization": `Bearer ${token()}` } });
    } catch (error) {
      throw new Error(NO_ANSWER);
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.message || `${response.status}`);
    return body;
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function render(rows, note) {
    const body = document.getElementById("triggers");
    const empty = document.getElementById("triggers-empty");
    if (!body || !empty) return;
    body.replaceChildren();
    for (const t of rows) {
      const row = document.createElement("tr");
      row.dataset.trigger = t.id;
      cell(row, t.id);
      cell(row, t.strategy);
      cell(row, `${t.kind === "gtt" ? "GTT" : "alert"} ${t.type}`);
      cell(row, `${t.instrument} ${t.condition}`);
      cell(row, t.orders.map((o) => `${o.side} ${o.quantity}${o.price !== "0" ? " @ " + o.price : ""}`).join(", "));
      cell(row, t.order_ids.length ? `${t.state}: ${t.order_ids.join(", ")}` : t.state);
      const actions = cell(row, "");
      if (t.state === "active") {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "quiet";
        button.textContent = "Delete";
        button.addEventListener("click", () => remove(t));
        actions.appendChild(button);
      }
      body.appendChild(row);
    }
    empty.textContent = note || (rows.length ? "" : "No GTTs or price alerts.");
  }

  async function refresh() {
    if (!token()) return;
    try {
      const [gtts, alerts] = await Promise.all([
        call("GET", "/api/gtt"), call("GET", "/api/price-alerts"),
      ]);
      render([...gtts, ...alerts]);
    } catch (error) {
      render([], `GTTs and alerts: ${error.message}`);
    }
  }

  async function remove(trigger) {
    const path = trigger.kind === "gtt" ? "/api/gtt/" : "/api/price-alerts/";
    if (!window.confirm(`Delete ${trigger.id} at the broker?`)) return;
    try {
      await call("DELETE", path + encodeURIComponent(trigger.id));
    } catch (error) {
      render([], `Delete refused: ${error.message}`);
      return;
    }
    refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    refresh();
    setInterval(refresh, EVERY_MS);
  });
  // Signing in stores the token in the page's own submit handler; look right after it.
  document.addEventListener("submit", () => setTimeout(refresh, 0), true);
})();
