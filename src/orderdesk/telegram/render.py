"""The desk in a phone's words: plain text (no Markdown, so nothing in an order's fields can be
read as markup), short lines, the latest first where a list can grow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from orderdesk.api.schemas import OrderOut
from orderdesk.approvals import PendingSignal
from orderdesk.doctor import Diagnosis, Status
from orderdesk.domain.day import PositionSnapshot
from orderdesk.domain.status import TERMINAL, OrderStatus

MAX_LINES = 25
"""Rows of a list before "… and N more": a phone screen, and far below Telegram's 4,096
characters a message."""
MAX_CHARS = 4000
"""Telegram refuses a message above 4,096 characters."""


def money(value: Decimal) -> str:
    """₹ with paise and a sign, as a trader reads P&L: ``+₹1,234.50``, ``-₹20.00``."""
    sign = "-" if value < 0 else "+"
    return f"{sign}₹{abs(value):,.2f}"


def clip(text: str) -> str:
    """``text`` within one Telegram message."""
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def listing(title: str, rows: Sequence[str], empty: str) -> str:
    """A titled list, cut at :data:`MAX_LINES` rows with the remainder counted."""
    if not rows:
        return f"{title}\n{empty}"
    shown = list(rows[:MAX_LINES])
    if len(rows) > MAX_LINES:
        shown.append(f"… and {len(rows) - MAX_LINES} more (the dashboard has them all)")
    return clip("\n".join([title, *shown]))


MAX_REASON = 80
"""Characters of an order's reason on its line: the broker's can run to a paragraph."""

_ENDED_WITH_REASON = frozenset({OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.LAPSED})
"""Ended without filling: why is the first thing asked (``orderdesk orders`` has a column)."""


def order_line(order: OrderOut) -> str:
    """``BUY 2 NSE:INFY LIMIT @1500 · OPEN 0/2 · od1a2b… (strategy)``: the order as the API
    shows it (a sliced parent through its children). A stop shows its trigger (``SL-M trigger
    1480``, as ``orderdesk orders`` words it), and an order that ended unfilled its reason
    (``REJECTED 0/5: margin exceeds…``)."""
    price = f" @{order.price}" if order.price is not None else ""
    trigger = f" trigger {order.trigger_price}" if order.trigger_price else ""
    filled = f" {order.filled_quantity}/{order.quantity}"
    average = f" avg {order.average_price}" if order.filled_quantity else ""
    reason = ""
    if order.status in _ENDED_WITH_REASON and order.reason:
        reason = f": {short(order.reason)}"
    return (
        f"{order.side.value} {order.quantity} {order.instrument} {order.order_type.value}"
        f"{trigger}{price} · {order.status.value}{filled}{average}{reason} · {order.order_id}"
        f" ({order.strategy})"
    )


def one_line(text: str) -> str:
    """``text`` as one line of printable text: a broker's reason may carry newlines or a
    terminal's escape codes, as a chat's message may (the bot cleans both alike)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def short(text: str) -> str:
    """``text`` on one line, cut at :data:`MAX_REASON` characters with an ellipsis."""
    line = one_line(text)
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 1] + "…"


def orders_text(orders: Sequence[OrderOut]) -> str:
    """Open orders first, then the rest; newest first within each."""
    live = [order for order in orders if order.status not in TERMINAL]
    done = [order for order in orders if order.status in TERMINAL]
    ordered = sorted(live, key=_newest) + sorted(done, key=_newest)
    title = f"Orders today: {len(orders)} ({len(live)} open)"
    return listing(title, [order_line(order) for order in ordered], "none yet")


def _newest(order: OrderOut) -> float:
    return -order.created_at.timestamp()


def position_line(position: PositionSnapshot) -> str:
    """``NSE:INFY CNC +2 @1500.00 · last 1510 · +₹20.00`` (``-10 (10 from holdings)`` for a
    sale out of holdings; ``· no price: estimated`` for an open line no price was seen for)."""
    last = f" · last {position.last_price}" if position.last_price is not None else ""
    sold = f" ({position.from_holdings} from holdings)" if position.from_holdings else ""
    estimated = " (estimated)" if position.estimated else ""
    return (
        f"{position.instrument} {position.product.value} {position.quantity:+d}{sold}"
        f" @{position.average_price:.2f}{last} · {money(position.pnl)}{estimated}"
    )


def positions_text(positions: Sequence[PositionSnapshot]) -> str:
    held = [p for p in positions if p.quantity or p.buy_quantity or p.sell_quantity]
    return listing(
        f"Positions: {sum(1 for p in held if p.quantity)} open",
        [position_line(p) for p in held],
        "none",
    )


def pnl_text(positions: Sequence[PositionSnapshot]) -> str:
    """The day's P&L, realised and open, and each instrument's share (largest first)."""
    realised = sum((p.realised for p in positions), Decimal(0))
    unrealised = sum((p.unrealised for p in positions), Decimal(0))
    estimated = " (estimated)" if any(p.estimated for p in positions) else ""
    head = (
        f"P&L today: {money(realised + unrealised)}{estimated}\n"
        f"realised {money(realised)} · open {money(unrealised)}"
    )
    rows = [
        f"{p.instrument} {p.product.value}: {money(p.pnl)}"
        for p in sorted(positions, key=lambda p: -abs(p.pnl))
        if p.pnl or p.quantity
    ]
    return listing(head, rows, "no trades yet")


def pending_line(item: PendingSignal, now: datetime) -> str:
    """``ap1234… · careful: BUY 2 NSE:INFY MARKET · 4m 10s left``."""
    signal = item.signal
    left = max(int((item.expires_at - now).total_seconds()), 0)
    price = f" @{signal.price}" if signal.price is not None else ""
    return (
        f"{item.approval_id} · {signal.strategy}: {signal.side.value} {signal.quantity}"
        f" {signal.instrument} {signal.order_type.value}{price} · {left // 60}m {left % 60}s left"
    )


def pending_text(items: Sequence[PendingSignal], now: datetime) -> str:
    return listing(
        f"Awaiting approval: {len(items)}",
        [pending_line(item, now) for item in items],
        "nothing waits; /approve ID and /reject ID decide one",
    )


_MARKS = {Status.OK: "ok  ", Status.WARN: "warn", Status.FAIL: "FAIL"}


def doctor_text(diagnosis: Diagnosis) -> str:
    """``orderdesk doctor``'s checks, one a line, under its verdict."""
    lines = [f"Doctor: {diagnosis.verdict}"]
    lines += [f"{_MARKS[check.status]} {check.name}: {check.summary}" for check in diagnosis.checks]
    return clip("\n".join(lines))


__all__ = [
    "MAX_CHARS",
    "MAX_LINES",
    "clip",
    "doctor_text",
    "listing",
    "money",
    "one_line",
    "order_line",
    "orders_text",
    "pending_text",
    "pnl_text",
    "position_line",
    "positions_text",
    "short",
]
