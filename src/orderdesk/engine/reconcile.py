"""Reconciliation: the broker's orders, trades and positions against the desk's.

Run at start-up, on a timer and on request (``orderdesk reconcile``). What it does with each
difference:

- a broker order with no local order (no orderdesk tag: placed on Kite web or mobile) is
  **adopted** as external, its signal rebuilt from the report;
- a broker order whose state is ahead of ours moves ours forward. Only a missed fill or a
  missed terminal status is a mismatch: Kite pushes nothing when an order merely starts
  resting (``OPEN``, ``TRIGGER PENDING``), so finding that out by reading the book is normal;
- a trade missing from our fills is **inferred** (``on_fill(..., inferred=True)``), in the
  same append as its order's report;
- a tag found twice at the broker, a local working order the broker does not have, an
  unresolved order, a net position that differs, or (once the desk keeps days) holdings that
  differ from those the day opened with, is reported;
- an order the broker placed itself to square off an intraday position after the square-off
  time is adopted too, but it is expected news, not a mismatch: it is recorded as
  ``BrokerSquaredOff`` and alerted.

Every mismatch is a ``ReconciliationMismatch`` event and an alert; the returned
:class:`ReconciliationReport` has one row per mismatch for the CLI to print. The same code
(without flagging) serves the poller that stands in for the live stream while it is down.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from orderdesk.domain.calendar import TradingCalendar
from orderdesk.domain.day import is_broker_square_off
from orderdesk.domain.errors import InvalidTransition, ValidationError
from orderdesk.domain.events import (
    BrokerSquaredOff,
    OrderCreated,
    OrderEvent,
    OrderFillRecorded,
    OrderStatusChanged,
    ReconciliationCompleted,
    ReconciliationMismatch,
)
from orderdesk.domain.ids import client_order_id
from orderdesk.domain.order import Order
from orderdesk.domain.reports import Fill, HoldingReport, OrderStatusReport, PositionReport
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import TERMINAL
from orderdesk.domain.values import OrderType, Validity, Variety
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.book import OrderBook
from orderdesk.engine.recorder import Decide, Outcome, Recorder
from orderdesk.engine.trades import TradeReader, record_fills, report_with_fills
from orderdesk.ports.broker import Broker
from orderdesk.ports.notifier import Severity

log = logging.getLogger(__name__)

EXTERNAL_STRATEGY = "external"


@dataclass(frozen=True, slots=True)
class ReconciliationRow:
    """One difference found: what kind, which order (if any), and the detail."""

    kind: str
    order_id: str | None
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconciliationReport:
    """What one reconciliation checked and found (rows for ``orderdesk reconcile``)."""

    rows: tuple[ReconciliationRow, ...]
    orders_checked: int
    trades_checked: int
    positions_checked: int

    @property
    def ok(self) -> bool:
        return not self.rows


def external_order_id(broker_order_id: str) -> str:
    """The local id of an adopted order: stable, so adopting twice lands on one order."""
    return client_order_id(EXTERNAL_STRATEGY, broker_order_id)


def signal_from_report(report: OrderStatusReport) -> Signal:
    """The signal an external order would have had, rebuilt from what the broker shows.

    Kite shows prices as 0 when they do not apply; iceberg and auction details are not in
    the order row, so those orders are adopted as regular ones (the broker id still binds).
    """
    kind = report.order_type
    price = report.price if kind in (OrderType.LIMIT, OrderType.SL) and report.price else None
    needs_trigger = kind in (OrderType.SL, OrderType.SL_M) or report.variety is Variety.CO
    trigger = report.trigger_price if needs_trigger and report.trigger_price else None
    fields = {
        "instrument": report.instrument,
        "side": report.side,
        "quantity": max(report.quantity, 1),
        "order_type": kind,
        "product": report.product,
        "variety": report.variety,
        "validity": report.validity if report.validity is not Validity.TTL else Validity.DAY,
        "price": price,
        "trigger_price": trigger,
        "strategy": EXTERNAL_STRATEGY,
        "signal_id": report.broker_order_id,
    }
    try:
        return Signal(**fields)  # type: ignore[arg-type]
    except ValidationError:
        fields["variety"] = Variety.REGULAR
        if kind in (OrderType.LIMIT, OrderType.SL) and price is None:
            fields["order_type"], fields["trigger_price"] = OrderType.MARKET, None
        return Signal(**fields)  # type: ignore[arg-type]


class Reconciler:
    """Brings the desk's picture in line with the broker's, reporting every difference."""

    def __init__(
        self,
        broker: Broker,
        recorder: Recorder,
        book: OrderBook,
        alerts: Alerts,
        trades: TradeReader,
        calendar: TradingCalendar | None = None,
    ) -> None:
        self.broker = broker
        self.recorder = recorder
        self.book = book
        self.alerts = alerts
        self.trades = trades
        self.calendar = calendar
        """The trading calendar when the desk keeps days: it tells the broker's own
        square-off orders from orders placed outside orderdesk."""
        self.clock = recorder.clock
        self._adopting: dict[str, asyncio.Lock] = {}

    def start_day(self) -> None:
        """Forget the adoption locks of earlier days (those not held right now)."""
        self._adopting = {key: lock for key, lock in self._adopting.items() if lock.locked()}

    async def run(self) -> ReconciliationReport:
        """Fetch the broker's books and reconcile them (the full, flagging pass)."""
        reports = await self.broker.orders()
        trades = await self.broker.trades()
        positions = await self.broker.positions()
        holdings = await self.broker.holdings() if self.book.holdings is not None else None
        return await self.apply(reports, trades, positions, holdings)

    async def poll(self) -> None:
        """Catch up from the order and trade books without calling it a mismatch."""
        reports = await self.broker.orders()
        trades = await self.broker.trades()
        await self.apply(reports, trades, None, flag=False)

    async def adopt(self, report: OrderStatusReport) -> Order:
        """Adopt one unknown broker order (from the stream); idempotent per broker id."""
        lock = self._adopting.setdefault(report.broker_order_id, asyncio.Lock())
        async with lock:
            existing = self.book.find(report)
            if existing is None:
                existing = self.book.orders.get(external_order_id(report.broker_order_id))
            if existing is not None:
                await self.trades.apply_report(existing, report)
                return existing
            (order,) = await self._adopt_many([report])
            if self.trades.lagging(order):
                self.trades.follow_up(order, at_once=True)
            await self._mismatches(await self._adopted([order], {report.broker_order_id: report}))
            return order

    async def apply(
        self,
        reports: Sequence[OrderStatusReport],
        trades: Sequence[Fill],
        positions: Sequence[PositionReport] | None,
        holdings: Sequence[HoldingReport] | None = None,
        *,
        flag: bool = True,
    ) -> ReconciliationReport:
        """Reconcile fetched books (separate from fetching, so its CPU cost can be measured)."""
        rows: list[ReconciliationRow] = []
        rows += await self._books(reports, trades, flag=flag)
        if positions is not None:
            rows += self._positions(positions)
        if holdings is not None:
            rows += self._holdings(holdings)
        if not flag:
            # Catching up is not a mismatch, but an order placed outside orderdesk always is.
            await self._mismatches([row for row in rows if row.kind == "external_order"])
        if flag:
            rows += self._missing(reports)
            await self._mismatches(rows)
            await self.recorder.desk_event(
                ReconciliationCompleted(
                    at=self.clock.now(),
                    orders_checked=len(reports),
                    trades_checked=len(trades),
                    mismatches=len(rows),
                )
            )
        return ReconciliationReport(
            rows=tuple(rows),
            orders_checked=len(reports),
            trades_checked=len(trades),
            positions_checked=len(positions or ()),
        )

    # -- orders and trades ---------------------------------------------------------------------

    async def _books(
        self, reports: Sequence[OrderStatusReport], trades: Sequence[Fill], *, flag: bool
    ) -> list[ReconciliationRow]:
        """Each order's report and its missing trades, decided together in one append, so an
        order is never seen FILLED without the fills (and the position) that go with it."""
        rows: list[ReconciliationRow] = []
        matched: dict[str, list[OrderStatusReport]] = defaultdict(list)
        unknown: dict[str, OrderStatusReport] = {}
        owners: dict[str, Order] = dict(self.book.by_broker_id)
        for row in reports:
            order = self.book.find(row)
            if order is None:
                order = self.book.orders.get(external_order_id(row.broker_order_id))
            if order is None:
                unknown[row.broker_order_id] = row
            else:
                matched[order.order_id].append(row)
                owners.setdefault(row.broker_order_id, order)
        fills: defaultdict[str, list[Fill]] = defaultdict(list)
        adopted_fills: defaultdict[str, list[Fill]] = defaultdict(list)
        for fill in trades:
            owner = owners.get(fill.broker_order_id)
            if owner is not None:
                if fill.trade_id not in owner.fills:
                    fills[owner.order_id].append(fill)
            elif fill.broker_order_id in unknown:
                adopted_fills[fill.broker_order_id].append(fill)
            else:
                detail = f"trade {fill.trade_id} of {fill.broker_order_id}"
                rows.append(ReconciliationRow("orphan_trade", None, detail))
        now = self.clock.now()
        decisions: list[tuple[Order, Decide]] = []
        before: dict[str, int] = {}
        problems: list[tuple[str, InvalidTransition]] = []
        for order_id in dict.fromkeys([*matched, *fills]):  # book order: same run, same log
            order = self.book.orders[order_id]
            found = matched.get(order_id)
            report: OrderStatusReport | None = None
            if found:
                if len(found) > 1:
                    ids = ", ".join(sorted(r.broker_order_id for r in found))
                    rows.append(ReconciliationRow("duplicate", order_id, f"tag at {ids}"))
                    own = [r for r in found if r.broker_order_id == order.broker_order_id]
                    found = own or sorted(found, key=lambda r: r.broker_order_id)
                report = found[0]
            missing = fills.get(order_id, ())
            if not missing and report is not None and _already_applied(order, report):
                continue  # the usual case on the timer: deciding it would change nothing
            decisions.append((order, _catch_up(report, missing, now, before, problems)))
        for outcome in await self.recorder.decide_many(decisions):
            if flag:
                rows += _flagged(outcome, before.get(outcome.order.order_id, 0))
        for order_id, problem in problems:
            rows.append(ReconciliationRow("refused_fill", order_id, str(problem)))
        if unknown:
            adopted = await self._adopt_many(list(unknown.values()), adopted_fills, now)
            rows += await self._adopted(adopted, unknown)
        return rows

    async def _adopted(
        self, orders: Sequence[Order], reports: Mapping[str, OrderStatusReport]
    ) -> list[ReconciliationRow]:
        """Rows for adopted orders; the broker's own square-offs are recorded, not flagged."""
        rows: list[ReconciliationRow] = []
        for order in orders:
            report = reports.get(order.broker_order_id or "")
            if (
                self.calendar is not None
                and report is not None
                and is_broker_square_off(report, self.calendar)
            ):
                await self._squared_off(order)
            else:
                rows.append(_adopted_row(order))
        return rows

    async def _squared_off(self, order: Order) -> None:
        signal = order.signal
        detail = (
            f"broker order {order.broker_order_id}: {signal.instrument} {signal.product} "
            f"{signal.side} {signal.quantity} at market"
        )
        await self.recorder.desk_event(
            BrokerSquaredOff(at=self.clock.now(), order_id=order.order_id, detail=detail)
        )
        await self.alerts.raise_(
            Severity.WARNING,
            "Squared off by the broker",
            f"{detail}: the broker closed an intraday position at its square-off time",
            key=f"square_off:{order.order_id}",
            order_id=order.order_id,
        )

    async def _adopt_many(
        self,
        reports: Sequence[OrderStatusReport],
        fills: Mapping[str, Sequence[Fill]] | None = None,
        now: datetime | None = None,
    ) -> list[Order]:
        """Adopt unknown broker orders, each with its report and the trades already known."""
        now = now or self.clock.now()
        items: list[tuple[OrderCreated, Decide | None]] = []
        for report in reports:
            created = Order.create(
                external_order_id(report.broker_order_id),
                signal_from_report(report),
                now,
                external=True,
                broker_order_id=report.broker_order_id,
            )
            own = (fills or {}).get(report.broker_order_id, ())
            items.append((created, report_with_fills(report, own, now, [], inferred=True)))
        outcomes = await self.recorder.create_many(items)
        return [outcome.order for outcome in outcomes]

    def _missing(self, reports: Sequence[OrderStatusReport]) -> list[ReconciliationRow]:
        at_broker = {r.broker_order_id for r in reports}
        tags = {t for r in reports for t in (r.tag, *r.tags) if t}
        rows: list[ReconciliationRow] = []
        for order in self.book.open_orders():
            if order.is_unresolved:
                if order.order_id not in tags:
                    rows.append(
                        ReconciliationRow("unresolved", order.order_id, "not in the book yet")
                    )
            elif order.broker_order_id not in at_broker:
                rows.append(
                    ReconciliationRow(
                        "missing_at_broker",
                        order.order_id,
                        f"{order.status} locally; broker order {order.broker_order_id} not found",
                    )
                )
        return rows

    # -- positions -----------------------------------------------------------------------------

    def _positions(self, positions: Sequence[PositionReport]) -> list[ReconciliationRow]:
        rows: list[ReconciliationRow] = []
        broker = {(p.instrument, p.product): p.quantity for p in positions}
        local = {(p.instrument, p.product): p.quantity for p in self.book.positions}
        for key in sorted(broker.keys() | local.keys()):
            theirs, ours = broker.get(key, 0), local.get(key, 0)
            if theirs != ours:
                instrument, product = key
                detail = f"{instrument} {product}: broker {theirs}, local {ours}"
                rows.append(ReconciliationRow("position", None, detail))
        return rows

    def _holdings(self, holdings: Sequence[HoldingReport]) -> list[ReconciliationRow]:
        """Delivered stock against what the day opened with (it moves only overnight)."""
        ours = {key: h.total for key, h in (self.book.holdings or {}).items() if h.total}
        theirs = {
            h.instrument: h.quantity + h.t1_quantity for h in holdings if h.quantity + h.t1_quantity
        }
        rows: list[ReconciliationRow] = []
        for instrument in sorted(ours.keys() | theirs.keys()):
            broker, local = theirs.get(instrument, 0), ours.get(instrument, 0)
            if broker != local:
                detail = f"{instrument} holdings: broker {broker}, local {local}"
                rows.append(ReconciliationRow("holding", None, detail))
        return rows

    # -- reporting -----------------------------------------------------------------------------

    async def _mismatches(self, rows: Sequence[ReconciliationRow]) -> None:
        if not rows:
            return
        now = self.clock.now()
        events = [
            ReconciliationMismatch(at=now, kind=row.kind, detail=row.detail, order_id=row.order_id)
            for row in rows
        ]
        await self.recorder.journal.append(events)
        self.recorder.subscribers.publish(events)
        for row in rows:
            severity = Severity.CRITICAL if row.kind == "duplicate" else Severity.WARNING
            await self.alerts.raise_(
                severity,
                f"Reconciliation: {row.kind}",
                f"{row.order_id or '-'}: {row.detail}",
                key=f"reconcile:{row.kind}:{row.order_id or row.detail}",
                order_id=row.order_id,
            )


def _adopted_row(order: Order) -> ReconciliationRow:
    signal = order.signal
    detail = (
        f"adopted broker order {order.broker_order_id} ({signal.instrument} {signal.side} "
        f"{signal.quantity}) placed outside orderdesk"
    )
    return ReconciliationRow("external_order", order.order_id, detail)


def _already_applied(order: Order, report: OrderStatusReport) -> bool:
    """``order.on_report(report)`` would return nothing: the same news, for the same order."""
    return (
        report.broker_order_id == order.broker_order_id and report.progress == order.last_progress
    )


def _catch_up(
    report: OrderStatusReport | None,
    fills: Sequence[Fill],
    now: datetime,
    before: dict[str, int],
    problems: list[tuple[str, InvalidTransition]],
) -> Decide:
    """Decide the book's report and the missing trades, noting the filled quantity the order
    had (read under its lock, for telling a missed fill from a quiet catch-up)."""

    def decide(order: Order) -> list[OrderEvent]:
        before[order.order_id] = order.filled_quantity
        errors: list[InvalidTransition] = []
        if report is None:
            return record_fills(fills, now, inferred=True)(order)
        events = report_with_fills(report, fills, now, errors, inferred=True)(order)
        problems.extend((order.order_id, error) for error in errors)
        return events

    return decide


def _flagged(outcome: Outcome, filled_before: int) -> list[ReconciliationRow]:
    """Rows for what the live stream should have told us: fills and terminal statuses."""
    rows: list[ReconciliationRow] = []
    order_id = outcome.order.order_id
    moved = [e for e in outcome.events if isinstance(e, OrderStatusChanged)]
    if moved:
        last = moved[-1]
        if last.filled_quantity > filled_before:
            detail = (
                f"broker shows {last.broker_status_text} with {last.filled_quantity} filled; "
                "the fill update was missed"
            )
            rows.append(ReconciliationRow("status", order_id, detail))
        elif last.base_status in TERMINAL:
            detail = f"broker shows {last.broker_status_text}; the update was missed"
            rows.append(ReconciliationRow("status", order_id, detail))
        # Resting (OPEN, TRIGGER PENDING) is not news Kite pushes: learning it here is normal.
    for event in outcome.events:
        if isinstance(event, OrderFillRecorded):
            detail = f"trade {event.fill.trade_id} inferred from the trade book"
            rows.append(ReconciliationRow("missed_fill", order_id, detail))
    return rows


__all__ = [
    "EXTERNAL_STRATEGY",
    "Reconciler",
    "ReconciliationReport",
    "ReconciliationRow",
    "external_order_id",
    "signal_from_report",
]
