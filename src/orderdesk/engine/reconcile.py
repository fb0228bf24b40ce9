"""Reconciliation: the broker's orders, trades, positions and holdings against the desk's.

Run at start-up, on a timer, when a day opens and closes, and on request (``orderdesk
reconcile``). It reads the broker's books and hands the orders and trades to
:class:`~.news.BrokerNews` (the one path by which broker news becomes events), then says what
the live stream should have told and did not:

- a broker order with no local order (no orderdesk tag: placed on Kite web or mobile) is
  **adopted** as external by the news path, which records and alerts it; it is a row here. One
  carrying one of the desk's own ids as its tag is the desk's, missing from a log restored from
  an older backup: adopted under that id, and its row says so (``adoption.adoption_finding``).
  The broker's own square-off orders are adopted too, as news rather than a mismatch;
- a position the broker shows moved from one product to another (converted on Kite web, or a
  conversion whose answer was lost) moves the desk's too: a row, recorded and alerted where it
  is found, not a mismatch;
- a broker order of ours whose terms (quantity, type, price, trigger) the broker shows changed
  (modified on Kite web or by another API client) takes them: a row, recorded and alerted by the
  news path, like an adoption; the desk's next modify builds on them;
- an order the desk gave up as not placed (the broker could not tell, and its book did not
  show it within the late-order window) that the broker's book now shows is **taken back** by
  the news path (bound, brought to the broker's state, recorded and alerted CRITICAL): a row,
  never agreement. One the news path could not take back (its row contradicts the order) is a
  row too, alerted here, while the broker holds it live or filled;
- an order the desk holds as ended (filled, cancelled, rejected, lapsed) that the broker's book
  shows live, or less filled than the desk has it (a final report taken that the broker never
  made; more filled there is fills still to come, the missed-fill path's), cannot leave its
  end, and nothing of the desk's reaches it any more: its cancel, cancel-all and the kill
  switch pass it by. A row ``final_here_live_at_broker``, alerted
  CRITICAL, once a second read of the book still shows it so;
- a broker order whose state is ahead of ours moves ours forward. Only a missed fill or a
  missed terminal status is a mismatch: Kite pushes nothing when an order merely starts
  resting (``OPEN``, ``TRIGGER PENDING``), so finding that out by reading the book is normal;
- a trade missing from our fills is **inferred**, in the same append as its order's report
  (a mismatch, unless the news path was still reading that order's trades again: then the
  books were only found first);
- neither is a mismatch while the broker's own stream was not yet due to deliver it: a stream
  that polls the books (Kite's without the WebSocket: the broker's ``stream_delay``, see
  :class:`~orderdesk.ports.broker.DelayedStream`) tells a change only at its next poll, so a
  reconciliation straight after a fill or a cancel finds it first. The change's age is the
  broker's time on the report or the trade, else the desk's last word on the order (the change
  came after it); a push stream's delay is 0, so there everything found was missed;
- a tag found twice at the broker, a local working order the broker does not have, an order
  whose placement is unknown (not one still being sent, ``SUBMITTING``: waiting in the desk's
  own rate limiter, say), a net position that differs, or (once the desk keeps days) holdings
  that differ from those the day opened with, is reported. A tag is counted over the broker's whole
  book, not only the rows that are news: the two orders that carry it are usually each bound to
  an order of the desk's already (one placed again after a restore, or sent again while the
  first was still to appear), so no single piece of news shows both.

Every mismatch is a ``ReconciliationMismatch`` event and an alert, but for an unresolved order
whose placement told the operator already and will say when it is settled (its row says nothing
that alert did not); one the placement never told of (left unresolved by an earlier process,
say) is alerted here. The returned
:class:`ReconciliationReport` has one row per mismatch for the CLI to print. The poller that
stands in for the live stream while it is down reads the same books through :meth:`poll`,
without flagging.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from orderdesk.domain.conversion import found_conversions
from orderdesk.domain.events import (
    OrderFillRecorded,
    OrderStatusChanged,
    ReconciliationCompleted,
    ReconciliationMismatch,
)
from orderdesk.domain.order import Order
from orderdesk.domain.reports import Fill, HoldingReport, OrderStatusReport, PositionReport
from orderdesk.domain.status import TERMINAL, BrokerStatus, OrderStatus
from orderdesk.domain.text import one_line
from orderdesk.domain.values import InstrumentKey, Product
from orderdesk.engine.adoption import (
    EXTERNAL_ORDER,
    EXTERNAL_STRATEGY,
    OWN_ORDER_NOT_IN_LOG,
    adoption_finding,
    desk_tag,
    external_order_id,
    signal_from_report,
)
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.book import OrderBook
from orderdesk.engine.conversions import Conversions
from orderdesk.engine.news import NOT_PLACED_FOUND, BrokerNews, Decided, NewsResult, Source
from orderdesk.engine.recorder import Recorder
from orderdesk.errors import BrokerAuthError, BrokerError
from orderdesk.ports.broker import Broker, HoldingsSource, OrderHistorySource, stream_delay
from orderdesk.ports.notifier import Severity
from orderdesk.redaction import redact

log = logging.getLogger(__name__)

ADOPTED = EXTERNAL_ORDER
"""The row of an order adopted from the broker's book (recorded by the news path already)."""
RECOVERED = OWN_ORDER_NOT_IN_LOG
"""The row of an order of the desk's own its log does not hold, adopted under its tag
(recorded by the news path already)."""
DUPLICATE = "duplicate"
"""The row of a tag of the desk's found on two or more of the broker's orders."""
CONVERTED = "converted_at_broker"
"""The row of a position conversion found made at the broker (recorded and alerted already)."""
MODIFIED = "modified_at_broker"
"""The row of an order found modified outside orderdesk (recorded and alerted by the news
path already)."""
UNRESOLVED = "unresolved"
"""The row of an order whose placement is unknown that the broker's book does not show."""
TAKEN_BACK = NOT_PLACED_FOUND
"""The row of an order given up as not placed that the broker holds after all: taken back
(recorded and alerted by the news path already), or, when it could not be, alerted here."""
FINAL_BUT_LIVE = "final_here_live_at_broker"
"""The row of an order the desk holds as ended (filled, cancelled, rejected, lapsed) while the
broker's book shows it live or less filled than the desk has it: nothing of the desk's reaches it
(its cancel, cancel-all and the kill switch pass it by) and it cannot leave its end, so it is
alerted CRITICAL for the operator to settle at the broker."""


@dataclass(frozen=True, slots=True)
class ReconciliationRow:
    """One difference found: what kind, which order (if any), and the detail."""

    kind: str
    order_id: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class _NotYetDue:
    """News the broker's stream had not yet been due to deliver when the books were read
    (found here first, not missed): reports by broker order id, trades by trade id."""

    reports: frozenset[str] = frozenset()
    trades: frozenset[str] = frozenset()


_NOTHING_YET_DUE = _NotYetDue()


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


@dataclass(frozen=True, slots=True)
class ReconciliationFailure:
    """Full passes failing in a row since the last that succeeded (``orderdesk doctor``)."""

    since: datetime
    """When the first of them failed."""
    at: datetime
    """When the latest failed."""
    error: str
    """The latest's exception, one line, secrets hidden."""


ERROR_CHARS = 200
"""The most of an exception's words kept: a broker's reply quoted whole is not a line."""


class Reconciler:
    """Brings the desk's picture in line with the broker's, reporting every difference."""

    def __init__(
        self,
        broker: Broker,
        news: BrokerNews,
        recorder: Recorder,
        book: OrderBook,
        alerts: Alerts,
        conversions: Conversions | None = None,
    ) -> None:
        self.broker = broker
        self.news = news
        self.recorder = recorder
        self.book = book
        self.alerts = alerts
        self.conversions = conversions
        """Where a conversion made at the broker is recorded (None: left a difference)."""
        self.clock = recorder.clock
        self.told_unresolved: Callable[[Order], bool] = lambda order: False
        """Whether the operator was told ``order``'s placement is unresolved and will be told
        once it is settled: its row is then not alerted again. Set by the desk."""
        self.last: tuple[datetime, ReconciliationReport] | None = None
        """When the last full pass finished, and what it found (``orderdesk doctor``)."""
        self.failure: ReconciliationFailure | None = None
        """The full passes failing since ``last`` (None: the latest succeeded, or none was
        made): a desk whose passes fail cannot see the broker's books."""

    async def run(self) -> ReconciliationReport:
        """Fetch the broker's books and reconcile them (the full, flagging pass)."""
        try:
            report = await self._run()
        except BrokerAuthError:
            # The session is over (the refusal ends it): the session's own check says so, and
            # no pass is made until a login; not a failing reconciliation besides.
            raise
        except Exception as exc:
            self._failed(exc)
            raise
        self.failure = None
        return report

    def _failed(self, exc: Exception) -> None:
        now = self.clock.now()
        said = one_line(redact(f"{type(exc).__name__}: {exc}")).strip()
        if len(said) > ERROR_CHARS:
            said = said[: ERROR_CHARS - 1] + "…"
        since = self.failure.since if self.failure is not None else now
        self.failure = ReconciliationFailure(since=since, at=now, error=said)

    async def _run(self) -> ReconciliationReport:
        reports = await self.broker.orders()
        trades = await self.broker.trades()
        positions = await self.broker.positions()
        holdings = None
        # Holdings are compared once the desk keeps days, and only with a broker that has them.
        if self.book.holdings is not None and isinstance(self.broker, HoldingsSource):
            holdings = await self.broker.holdings()
        report = await self.apply(reports, trades, positions, holdings)
        self.last = (self.clock.now(), report)
        return report

    async def poll(self) -> None:
        """Catch up from the order and trade books without calling it a mismatch."""
        reports = await self.broker.orders()
        trades = await self.broker.trades()
        await self.apply(reports, trades, None, flag=False)

    async def look(self, orders: Sequence[Order]) -> None:
        """Catch up on a few orders from their own histories, not the whole book: a read that
        costs the same however many orders the day holds. The broker must be an
        :class:`OrderHistorySource`. A report showing fills reads its trades as the stream's
        would (``Source.LOOK``)."""
        assert isinstance(self.broker, OrderHistorySource)
        latest: list[OrderStatusReport] = []
        for order in orders:
            if order.broker_order_id is None:
                continue
            history = await self.broker.order_history(order.broker_order_id)
            if history and not _already_applied(self.book, history[-1]):
                latest.append(history[-1])
        if latest:
            await self.news.apply(latest, source=Source.LOOK)

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
            if flag:
                positions, converted = await self._converted(positions)
                rows += converted
            rows += self._positions(positions)
        if holdings is not None:
            rows += self._holdings(holdings)
        if flag:
            rows += self._tagged_twice(reports, rows)
            rows += self._missing(reports)
            stuck = self._given_up_at_broker(reports, rows)
            rows += stuck
            rows += await self._final_but_live(reports)
            # Adoptions, conversions, modifications and orders taken back found are recorded
            # and alerted where they happen.
            found = (ADOPTED, RECOVERED, CONVERTED, MODIFIED, TAKEN_BACK)
            await self._mismatches([row for row in rows if row.kind not in found] + stuck)
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
        """The books through the news path; the rows say what the stream should have told."""
        fresh = [r for r in reports if not _already_applied(self.book, r)]
        missing = [f for f in trades if not _recorded(self.book, f)]
        # A fill the news path is still reading (the broker's trade book trailed its order
        # book) is found here first, not missed: recorded all the same, but not called a
        # mismatch, or every such moment would be a false alarm. So is news the broker's own
        # stream is yet to deliver (judged before the news moves the orders' times on).
        chasing = self.news.chasing()
        not_due = self._not_yet_due(fresh, missing) if flag else _NOTHING_YET_DUE
        result = await self.news.apply(
            fresh, missing, source=Source.RECONCILE if flag else Source.POLL
        )
        rows = _news_rows(result)
        if flag:
            rows += [
                row
                for decided in result.decided
                if decided.order.order_id not in chasing and not decided.taken_back
                for row in _flagged(decided, not_due)
            ]
        return rows

    def _not_yet_due(
        self, reports: Sequence[OrderStatusReport], trades: Sequence[Fill]
    ) -> _NotYetDue:
        """The reports and trades younger than the broker's stream delay: a stream that polls
        the books would deliver them at its next poll. A push stream's delay is 0 (whatever
        it has not told, it missed)."""
        delay = stream_delay(self.broker)
        if delay <= 0:
            return _NOTHING_YET_DUE
        now = self.clock.now()

        def young(broker_time: datetime | None, broker_order_id: str) -> bool:
            since = broker_time or self._last_word(broker_order_id)
            return since is not None and (now - since).total_seconds() <= delay

        return _NotYetDue(
            reports=frozenset(
                r.broker_order_id for r in reports if young(_report_time(r), r.broker_order_id)
            ),
            trades=frozenset(f.trade_id for f in trades if young(f.filled_at, f.broker_order_id)),
        )

    def _last_word(self, broker_order_id: str) -> datetime | None:
        """When the desk last heard of the order (a change it has not heard of came after):
        the age of news the broker gives no time for. None for an order the desk lacks."""
        order = self.book.by_broker_id.get(broker_order_id)
        return None if order is None else order.updated_at

    def _tagged_twice(
        self, reports: Sequence[OrderStatusReport], found: Sequence[ReconciliationRow]
    ) -> list[ReconciliationRow]:
        """A row for each of the desk's tags the broker's whole book shows on two or more
        orders (one the news path already called a duplicate is not said twice)."""
        said = {row.order_id for row in found if row.kind == DUPLICATE}
        rows = []
        for tag, broker_ids in sorted(_tags_at_broker(reports).items()):
            if len(broker_ids) < 2:
                continue
            order_id = self._carrying(tag, broker_ids)
            if order_id is None or order_id not in said:
                rows.append(_duplicate(order_id, tag, broker_ids))
        return rows

    def _carrying(self, tag: str, broker_ids: Sequence[str]) -> str | None:
        """The desk's order a twice-found tag is about: the one under that id, else the first
        bound to one of the broker's orders carrying it (an order adopted as external before
        the desk knew its tags were its own), else None."""
        if tag in self.book.orders:
            return tag
        bound = (self.book.by_broker_id.get(broker_id) for broker_id in broker_ids)
        return next((order.order_id for order in bound if order is not None), None)

    def _given_up_at_broker(
        self, reports: Sequence[OrderStatusReport], found: Sequence[ReconciliationRow]
    ) -> list[ReconciliationRow]:
        """A row for each order the desk still holds as given up (not placed) while the broker
        shows it under the desk's tag, live or with fills: the news path could not take it
        back (it is said there as a refused update). Never agreement while it is so."""
        said = {row.order_id for row in found if row.kind == TAKEN_BACK}
        rows = []
        for report in reports:
            if report.parent_order_id is not None or report.slice_of is not None:
                continue
            if report.status in _ENDED and not report.filled_quantity:
                continue
            order = self.book.find(report)
            if order is None or not order.taken_back(report) or order.order_id in said:
                continue
            said.add(order.order_id)
            detail = (
                f"given up as not placed, but the broker holds it as broker order "
                f"{report.broker_order_id} ({report.broker_status_text}, "
                f"{report.filled_quantity} of {report.quantity} filled), and the desk could "
                "not take it back; check it at the broker: if you sent it again, you hold two"
            )
            rows.append(ReconciliationRow(TAKEN_BACK, order.order_id, detail))
        return rows

    async def _final_but_live(
        self, reports: Sequence[OrderStatusReport]
    ) -> list[ReconciliationRow]:
        """A row for each order the desk holds as ended while the broker's book shows it live,
        or ended with another filled quantity (a forged or mistaken final report taken, say).

        The order's state machine never leaves an end, so it stays as it is; but nothing the
        desk does reaches it any more, so the operator is told what the broker holds. Orders
        found so are read again first: a book read before the stream's news of a genuine end
        shows them live, and only a second read that still does is a difference.
        """
        found = self._ended_here(reports)
        if not found:
            return []
        try:
            again = {r.broker_order_id: r for r in await self.broker.orders()}
        except BrokerError as exc:
            # The first read showed it so: said on that read alone rather than left unsaid, a
            # live order passed by, until the next pass.
            log.warning("the book could not be read again to confirm: %s", type(exc).__name__)
            again = {r.broker_order_id: r for r in reports}
        rows = []
        for order in found:
            report = again.get(order.broker_order_id or "")
            if report is None or not _contradicts_end(order, report):
                continue
            detail = (
                f"{order.status} here with {order.filled_quantity} of {order.quantity} filled, "
                f"but the broker shows broker order {report.broker_order_id} "
                f"{report.broker_status_text} with {report.filled_quantity} filled; the desk's "
                "cancel, cancel-all and kill switch pass it by: check it at the broker and "
                "cancel it there (Kite web or app) if it should not stand"
            )
            rows.append(ReconciliationRow(FINAL_BUT_LIVE, order.order_id, detail))
        return rows

    def _ended_here(self, reports: Sequence[OrderStatusReport]) -> list[Order]:
        """The desk's ended orders whose broker row contradicts that end. One given up as not
        placed is the news path's to take back (``_given_up_at_broker`` says so if it could
        not)."""
        ended = []
        for report in reports:
            order = self.book.by_broker_id.get(report.broker_order_id)
            if order is None or order.status not in TERMINAL or order.taken_back(report):
                continue
            if _contradicts_end(order, report):
                ended.append(order)
        return ended

    def _missing(self, reports: Sequence[OrderStatusReport]) -> list[ReconciliationRow]:
        at_broker = {r.broker_order_id for r in reports}
        tags = {t for r in reports for t in (r.tag, *r.tags) if t}
        rows: list[ReconciliationRow] = []
        for order in self.book.open_orders():
            if order.status is OrderStatus.SUBMITTING:
                # Still being sent: waiting in the desk's own rate limiter, held back after a
                # 429, or on its way with the answer to come. Not a difference: the placement
                # path records its answer, or an unknown outcome that is looked up (after a
                # restart every SUBMITTING order is one, before this runs).
                continue
            if order.is_unresolved:
                if order.order_id not in tags:
                    rows.append(
                        ReconciliationRow(UNRESOLVED, order.order_id, "not in the book yet")
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

    async def _converted(
        self, positions: Sequence[PositionReport]
    ) -> tuple[Sequence[PositionReport], list[ReconciliationRow]]:
        """Positions converted at the broker (on Kite web, or a request whose answer was lost)
        become the desk's too; returns the positions to compare with, and a row for each.

        A move is taken only when a second read of the broker's positions shows it again: for
        a fill to pass for one, the broker's positions would have to trail the trade book this
        pass just recorded, the same way, on both reads."""
        conversions = self.conversions
        if conversions is None or not found_conversions(
            self.book.positions, _quantities(positions)
        ):
            return positions, []
        rows = []
        # Not while the desk's own conversion awaits its answer (see ``one_at_a_time``).
        async with conversions.one_at_a_time:
            positions = await self.broker.positions()
            for conversion in found_conversions(self.book.positions, _quantities(positions)):
                await conversions.found_at_broker(conversion)
                rows.append(ReconciliationRow(CONVERTED, None, conversion.describe()))
        return positions, rows

    def _positions(self, positions: Sequence[PositionReport]) -> list[ReconciliationRow]:
        rows: list[ReconciliationRow] = []
        broker = _quantities(positions)
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
        # Judged before the write: a placement settled during it has said so and its watch is
        # gone, and an alert after that calling the order unresolved would be the last word.
        told = [self._told(row) for row in rows]
        now = self.clock.now()
        events = [
            ReconciliationMismatch(at=now, kind=row.kind, detail=row.detail, order_id=row.order_id)
            for row in rows
        ]
        await self.recorder.desk_events(events)
        for row, quiet in zip(rows, told, strict=True):
            if quiet:
                continue
            severity = (
                Severity.CRITICAL
                if row.kind in (DUPLICATE, TAKEN_BACK, FINAL_BUT_LIVE)
                else Severity.WARNING
            )
            await self.alerts.raise_(
                severity,
                f"Reconciliation: {row.kind}",
                f"{row.order_id or '-'}: {row.detail}",
                key=f"reconcile:{row.kind}:{row.order_id or row.detail}",
                order_id=row.order_id,
            )

    def _told(self, row: ReconciliationRow) -> bool:
        """An unresolved row of an order the placement told the operator of, and will say is
        settled: alerted again, it would repeat that alert and promise nothing new."""
        if row.kind != UNRESOLVED or row.order_id is None:
            return False
        order = self.book.orders.get(row.order_id)
        return order is not None and self.told_unresolved(order)


def _quantities(positions: Sequence[PositionReport]) -> dict[tuple[InstrumentKey, Product], int]:
    return {(p.instrument, p.product): p.quantity for p in positions}


def _already_applied(book: OrderBook, report: OrderStatusReport) -> bool:
    """The book's row is news its order has already applied (the usual case on the timer:
    deciding it would change nothing, so it is not handed on). Terms changed at the broker
    are news whatever the status shows."""
    order = book.by_broker_id.get(report.broker_order_id)
    return (
        order is not None
        and report.progress == order.last_progress
        and not order.changed_at_broker(report)
    )


def _recorded(book: OrderBook, fill: Fill) -> bool:
    order = book.by_broker_id.get(fill.broker_order_id)
    return order is not None and fill.trade_id in order.fills


_ENDED = frozenset({BrokerStatus.CANCELLED, BrokerStatus.REJECTED})
_NOT_LIVE = _ENDED | {BrokerStatus.COMPLETE, BrokerStatus.UNKNOWN}
"""Broker statuses that do not show an order live (a word the adapter does not know says
nothing either way)."""


def _contradicts_end(order: Order, report: OrderStatusReport) -> bool:
    """Whether the broker's row of an order the desk holds as ended shows it live, or less
    filled than the desk has it (fills the broker never made). More filled at the broker is
    fills still to come: Kite's trade book lags its order book, and the missed-fill path says
    so; flagged here too, it read as an end the broker never made, with advice to cancel an
    order cancelled there."""
    if report.filled_quantity < order.filled_quantity:
        return True
    return report.status not in _NOT_LIVE


def _tags_at_broker(reports: Sequence[OrderStatusReport]) -> dict[str, list[str]]:
    """The desk's tags in the broker's book → the broker's orders carrying each, in the order
    the book lists them. A cover order's stop leg and an autoslice child carry their parent's
    tag by design, so they are not counted; nor is an order that ended with nothing filled
    (rejected, or cancelled before a fill): it moved no money, and once the extra order is
    cancelled the books agree again rather than flagging it for the rest of the day."""
    carrying: dict[str, list[str]] = {}
    for report in reports:
        if report.parent_order_id is not None or report.slice_of is not None:
            continue
        if report.status in _ENDED and not report.filled_quantity:
            continue
        tag = desk_tag(report)
        if tag is not None:
            carrying.setdefault(tag, []).append(report.broker_order_id)
    return carrying


def _duplicate(order_id: str | None, tag: str, broker_ids: Sequence[str]) -> ReconciliationRow:
    detail = (
        f"tag {tag} is on {len(broker_ids)} broker orders ({', '.join(broker_ids)}): one signal "
        "was placed more than once; check them at the broker and cancel any not wanted"
    )
    return ReconciliationRow(DUPLICATE, order_id, detail)


def _news_rows(result: NewsResult) -> list[ReconciliationRow]:
    """Rows for what the news path could not place: duplicates, orphans, refusals; and for
    adoptions and modifications made outside orderdesk (the news path has recorded and
    alerted those; they are rows of the report)."""
    rows: list[ReconciliationRow] = []
    for order, broker_ids in result.duplicates:
        rows.append(_duplicate(order.order_id, order.order_id, broker_ids))
    for fill in result.orphans:
        detail = f"trade {fill.trade_id} of {fill.broker_order_id}"
        rows.append(ReconciliationRow("orphan_trade", None, detail))
    for order_id, problem in result.refused:
        rows.append(ReconciliationRow("refused_fill", order_id, str(problem)))
    for decided in result.decided:
        if decided.adopted and not decided.square_off:
            kind, detail = adoption_finding(decided.order)
            rows.append(ReconciliationRow(kind, decided.order.order_id, detail))
        if decided.taken_back:
            order = decided.order
            filled = (
                f"{order.filled_quantity} of {order.quantity} filled"
                if order.filled_quantity
                else f"nothing of {order.quantity} filled"
            )
            detail = (
                f"given up as not placed, but the broker holds it as broker order "
                f"{order.broker_order_id} ({order.base_status}, {filled}); taken back"
            )
            rows.append(ReconciliationRow(TAKEN_BACK, order.order_id, detail))
        for before, after in decided.modified_outside():
            detail = (
                f"broker order {decided.order.broker_order_id} modified outside orderdesk: "
                f"{after.changes_from(before)}"
            )
            rows.append(ReconciliationRow(MODIFIED, decided.order.order_id, detail))
    return rows


def _report_time(report: OrderStatusReport) -> datetime | None:
    """The broker's time of the state a report shows: the later of its order system's and the
    exchange's (a fill moves the exchange's on, not always the order system's)."""
    times = [t for t in (report.order_timestamp, report.exchange_timestamp) if t is not None]
    return max(times, default=None)


def _flagged(decided: Decided, not_due: _NotYetDue) -> list[ReconciliationRow]:
    """Rows for what the live stream should have told us: fills and terminal statuses, less
    those it was not yet due to deliver."""
    if decided.adopted:
        return []
    rows: list[ReconciliationRow] = []
    order_id = decided.order.order_id
    moved = [e for e in decided.events if isinstance(e, OrderStatusChanged)]
    last = moved[-1] if moved else None
    if last is not None and last.broker_order_id not in not_due.reports:
        if last.filled_quantity > decided.filled_before:
            detail = (
                f"broker shows {last.broker_status_text} with {last.filled_quantity} filled; "
                "the fill update was missed"
            )
            rows.append(ReconciliationRow("status", order_id, detail))
        elif last.base_status in TERMINAL:
            detail = f"broker shows {last.broker_status_text}; the update was missed"
            rows.append(ReconciliationRow("status", order_id, detail))
        # Resting (OPEN, TRIGGER PENDING) is not news Kite pushes: learning it here is normal.
    for event in decided.events:
        if isinstance(event, OrderFillRecorded) and event.fill.trade_id not in not_due.trades:
            detail = f"trade {event.fill.trade_id} inferred from the trade book"
            rows.append(ReconciliationRow("missed_fill", order_id, detail))
    return rows


__all__ = [
    "ADOPTED",
    "CONVERTED",
    "DUPLICATE",
    "EXTERNAL_STRATEGY",
    "FINAL_BUT_LIVE",
    "MODIFIED",
    "RECOVERED",
    "TAKEN_BACK",
    "UNRESOLVED",
    "Reconciler",
    "ReconciliationFailure",
    "ReconciliationReport",
    "ReconciliationRow",
    "external_order_id",
    "signal_from_report",
]
