"""Fills behind reports: read the trades a report's filled quantity implies.

Kite's stream and order book carry filled quantities, not trades; positions are built from
trades. So when a report shows more filled than the fills recorded for its order, the order's
trades are read (``broker.order_trades``) while the order's lock is held, and the report and
the new fills are recorded in one append: whoever waits for ``FILLED`` finds the fills (and the
position) already there. The read is bounded by ``trades_timeout``; if it fails or the trade
book lags, the report is recorded alone and a few background reads follow
(``trades_attempts``), after which reconciliation is the safety net. Trade ids make every
repeat harmless: a fill the stream also delivers is recorded once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

from orderdesk.domain.errors import InvalidTransition
from orderdesk.domain.events import OrderEvent, OrderStatusChanged
from orderdesk.domain.order import Order
from orderdesk.domain.reports import Fill, OrderStatusReport
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.backoff import Backoff
from orderdesk.engine.config import DeskConfig
from orderdesk.engine.recorder import Decide, Outcome, Recorder
from orderdesk.ports.broker import Broker
from orderdesk.ports.notifier import Severity

log = logging.getLogger(__name__)


def new_fills(order: Order, fills: Sequence[Fill]) -> list[Fill]:
    """The fills the order has not recorded yet; raises if they would overfill it.

    Fills of another broker order are skipped (an order book read returns them all).
    """
    fresh: list[Fill] = []
    seen: set[str] = set()
    extra = 0
    for fill in fills:
        if fill.trade_id in order.fills or fill.trade_id in seen:
            continue
        if order.broker_order_id not in (None, fill.broker_order_id):
            continue
        if order.fill_quantity + extra + fill.quantity > order.quantity:
            raise InvalidTransition(
                order.status.value,
                "FILL",
                f"trade {fill.trade_id} of {fill.quantity} overfills "
                f"{order.fill_quantity + extra} of {order.quantity}",
            )
        seen.add(fill.trade_id)
        extra += fill.quantity
        fresh.append(fill)
    return fresh


def fill_events(
    order: Order, fills: Sequence[Fill], at: datetime, *, inferred: bool = False
) -> list[OrderEvent]:
    """One :class:`OrderFillRecorded` per fill the order has not recorded yet (see
    :func:`new_fills`)."""
    events: list[OrderEvent] = []
    for fill in new_fills(order, fills):
        events += order.on_fill(fill, at, inferred=inferred)
    return events


def record_fills(fills: Sequence[Fill], at: datetime, *, inferred: bool = False) -> Decide:
    def decide(order: Order) -> list[OrderEvent]:
        return fill_events(order, fills, at, inferred=inferred)

    return decide


class TradeReader:
    """Applies reports together with the fills they imply; owns the follow-up reads."""

    def __init__(
        self, broker: Broker, recorder: Recorder, config: DeskConfig, alerts: Alerts
    ) -> None:
        self.broker = broker
        self.recorder = recorder
        self.config = config
        self.alerts = alerts
        self.clock = recorder.clock
        self._following: dict[str, asyncio.Task[None]] = {}

    @staticmethod
    def lagging(order: Order, filled_quantity: int | None = None) -> bool:
        """The broker says more is filled than the fills recorded for ``order`` cover."""
        filled = order.filled_quantity if filled_quantity is None else filled_quantity
        return filled > order.fill_quantity

    async def apply_report(
        self, order: Order, report: OrderStatusReport, fills: Sequence[Fill] | None = None
    ) -> Outcome:
        """Decide ``report`` for ``order``, with the trades it implies when they are missing
        (read here, under the order's lock, unless the caller read them as ``fills``)."""
        problems: list[InvalidTransition] = []
        outcomes: list[Outcome] = []
        async with self.recorder.lock(order.order_id):
            if fills is None:
                fills = []
                if self.lagging(order, report.filled_quantity):
                    fills = await self.read(report.broker_order_id)
            now = self.clock.now()
            outcome = await self.recorder.decide_held(
                order, report_with_fills(report, fills, now, problems)
            )
            outcomes.append(outcome)
            if outcome.refused is not None and fills:
                # The report contradicts what we hold; its trades are facts all the same.
                outcomes.append(await self.recorder.decide_held(order, record_fills(fills, now)))
        await self.recorder.alert_refusals(outcomes)
        await self.settle(order, problems)
        return outcome

    async def settle(self, order: Order, problems: Sequence[InvalidTransition]) -> None:
        """After a report and its fills were recorded: alert the fills that were refused, and
        keep reading trades in the background while the fills still lag."""
        for problem in problems:
            await self._refused_fill(order, problem)
        if self.lagging(order):
            self.follow_up(order)

    def follow_up(self, order: Order, *, at_once: bool = False) -> None:
        """Read ``order``'s trades again in the background until its fills catch up (bounded)."""
        running = self._following.get(order.order_id)
        if running is not None and not running.done():
            return
        task = asyncio.get_running_loop().create_task(
            self._follow(order, at_once), name=f"trades-{order.order_id}"
        )
        self._following[order.order_id] = task
        task.add_done_callback(lambda done: self._finished(order.order_id, done))

    def _finished(self, order_id: str, task: asyncio.Task[None]) -> None:
        if self._following.get(order_id) is task:
            del self._following[order_id]

    async def _follow(self, order: Order, at_once: bool) -> None:
        backoff = Backoff(self.config.trades_backoff, self.config.trades_backoff * 8)
        for attempt in range(self.config.trades_attempts):
            if attempt or not at_once:
                await asyncio.sleep(backoff.next())
            if not self.lagging(order) or order.broker_order_id is None:
                return
            fills = await self.read(order.broker_order_id)
            if fills:
                outcome = await self.recorder.decide(order, record_fills(fills, self.clock.now()))
                if outcome.refused is not None:
                    return  # alerted by the recorder; more reads would only repeat it
        if self.lagging(order):
            log.info(
                "%s: %d filled, fills for %d; left to reconciliation",
                order.order_id,
                order.filled_quantity,
                order.fill_quantity,
            )

    async def read(self, broker_order_id: str) -> list[Fill]:
        """The order's trades, or none if they could not be read in ``trades_timeout``."""
        try:
            async with asyncio.timeout(self.config.trades_timeout):
                return list(await self.broker.order_trades(broker_order_id))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Not fatal: the report is recorded anyway and the fills are read again later.
            log.warning("reading the trades of %s failed: %r", broker_order_id, exc)
            return []

    async def _refused_fill(self, order: Order, problem: InvalidTransition) -> None:
        await self.alerts.raise_(
            Severity.WARNING,
            "Fill refused",
            f"{order.order_id}: {problem}",
            key=f"refused:{order.order_id}",
            order_id=order.order_id,
        )

    async def idle(self) -> None:
        """Wait until every follow-up read has finished (tests and benchmarks)."""
        while self._following:
            await asyncio.gather(*list(self._following.values()), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._following.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def report_with_fills(
    report: OrderStatusReport,
    fills: Sequence[Fill],
    at: datetime,
    problems: list[InvalidTransition],
    *,
    inferred: bool = False,
) -> Decide:
    """The report's events with its new fills; a bad fill is refused (and noted in
    ``problems``) without taking the report down with it.

    The fills ride on the report's status change, one event for both (a fill row costs as much
    to write as a status row: ``make bench ARGS=engine``). They are recorded on their own when
    the report moves nothing, and when reconciliation infers them (``inferred``), as each
    inferred fill is a mismatch of its own in the report.
    """
    own = [fill for fill in fills if fill.broker_order_id == report.broker_order_id]

    def decide(order: Order) -> list[OrderEvent]:
        fresh: list[Fill] = []
        refusal: OrderEvent | None = None
        if own:
            try:
                fresh = new_fills(order, own)
            except InvalidTransition as error:
                problems.append(error)
                refusal = order.refused(error, at)
        carried = fresh if fresh and not inferred else []
        events = order.on_report(report, at, carried)
        if fresh and not any(isinstance(e, OrderStatusChanged) and e.fills for e in events):
            events += [order.on_fill(fill, at, inferred=inferred)[0] for fill in fresh]
        if refusal is not None:
            events.append(refusal)
        return events

    return decide


__all__ = ["TradeReader", "fill_events", "new_fills", "record_fills", "report_with_fills"]
