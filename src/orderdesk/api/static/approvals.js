// Signals waiting for the operator: one card each, the signal in words, Approve and Reject
// (the buttons wrap under the text, so they stay inside the panel at any width).
import { $, TIME_ZONE, api, confirmAction, el, flash, on, orderWords, state, time } from "./core.js";

const IST_MOMENT = new Intl.DateTimeFormat("en-GB", {
  timeZone: TIME_ZONE, weekday: "short", day: "2-digit", month: "short",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

/** "Tue 08 Dec 09:17:33 IST": a parked signal may lapse on another day than today (at the end
 * of its trading day, after midnight), so its expiry is never a time alone. */
export function moment(when) {
  const part = Object.fromEntries(IST_MOMENT.formatToParts(new Date(when)).map((p) => [p.type, p.value]));
  return `${part.weekday} ${part.day} ${part.month} ${part.hour}:${part.minute}:${part.second} IST`;
}

function render() {
  $("approvals").replaceChildren(...state.approvals.map((a) => {
    const s = a.signal;
    return el("li", { class: "card", "data-approval-id": a.approval_id },
      el("p", { class: "card-text" }, el("strong", {}, s.strategy), ": ", orderWords(s)),
      el("p", { class: "card-meta" }, `received ${time(a.received_at)} · expires ${moment(a.expires_at)}`),
      el("div", { class: "actions" },
        el("button", { class: "small primary", type: "button", "data-action": "approve", onclick: () => decide(a, "approve") }, "Approve"),
        el("button", { class: "small", type: "button", "data-action": "reject", onclick: () => decide(a, "reject") }, "Reject")));
  }));
  $("approvals-empty").hidden = state.approvals.length > 0;
}

async function decide(a, verb) {
  const words = `${a.signal.strategy}: ${orderWords(a.signal)}`;
  const ok = await confirmAction(verb === "approve" ? "Approve signal" : "Reject signal",
    `${verb === "approve" ? "Place" : "Drop"} ${words}?`, verb === "approve" ? "Approve" : "Reject");
  if (!ok) return;
  const body = verb === "reject" ? JSON.stringify({ reason: "rejected on the dashboard" }) : undefined;
  try {
    await api(`/api/approvals/${encodeURIComponent(a.approval_id)}/${verb}`, { method: "POST", body });
    state.approvals = state.approvals.filter((item) => item.approval_id !== a.approval_id);
    render();
    flash(`${verb === "approve" ? "Approved" : "Rejected"}: ${words}`, "ok");
  } catch (error) { flash(`${verb} failed: ${error.message}`); }
}

on("snapshot", render);
on("status", render);
