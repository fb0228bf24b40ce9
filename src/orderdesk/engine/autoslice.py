"""The broker's own slicing (Kite's autoslice): one placement, the broker's children.

An order above the freeze quantity goes to a broker that offers
:class:`~orderdesk.ports.broker.AutosliceControl` as one placement. The desk's order is the
parent: it holds the intent and is never an order at the broker. ``AutosliceSent`` is in the log
before the call. The answer names the placement and, slice by slice, the child the broker placed
or why it refused that slice:

- a placed child is the broker's order; it becomes the desk's order when it is reported, through
  the one inbound path (:class:`~orderdesk.engine.news.BrokerNews` routes a report whose
  ``slice_of`` names the placement, or whose tag is the parent's, to a child of the parent and
  adopts it there: its fills and position count for the parent's strategy). Right after the
  answer the desk reads the book once so the children exist before anyone asks;
- a refused slice becomes a child of the parent, rejected with the broker's reason, and an alert
  names it: the parent then shows the failure (its derived status stops short of FILLED);
- a refusal of the whole placement rejects the parent; an unknown outcome (timeout, lost
  answer) is alerted and never re-sent: whatever the broker placed shows up tagged with the
  parent's id and is adopted as its children.

More slices than the broker places (Kite: 10) is refused before anything is written.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable

from orderdesk.domain.errors import ValidationError
from orderdesk.domain.events import (
    AutosliceAnswered,
    AutosliceFailed,
    AutosliceSent,
    OrderCreated,
    OrderEvent,
    OrderSubmitRejected,
    OrderSubmitting,
)
from orderdesk.domain.ids import child_order_id
from orderdesk.domain.order import Order
from orderdesk.domain.reports import InstrumentInfo
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import OrderStatus
from orderdesk.engine.address import ALERT_TITLE, address_fix, alert_key
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.config import DeskConfig
from orderdesk.engine.news import BrokerNews, Source
from orderdesk.engine.recorder import Decide, Recorder
from orderdesk.engine.retry import while_throttled
from orderdesk.engine.session import SessionWatch
from orderdesk.engine.slicing import slice_quantities
from orderdesk.errors import (
    AddressRefused,
    BrokerAuthError,
    BrokerRateLimited,
    BrokerRejected,
    QuotaExhausted,
)
from orderdesk.ports.broker import AutosliceControl, AutosliceReply, Broker, PlaceOrder
from orderdesk.ports.notifier import Severity

log = logging.getLogger(__name__)


def slice_size(signal: Signal, info: InstrumentInfo) -> int:
    """The largest child the broker cuts ``signal`` into: whole lots up to the freeze limit
    (NIFTY's 1,800 in lots of 65: 1,755)."""
    freeze = info.freeze_quantity or signal.quantity
    lot = max(info.lot_size, 1)
    return max(freeze // lot * lot, lot)


def slice_count(signal: Signal, info: InstrumentInfo) -> int:
    """How many children the broker cuts ``signal`` into (whole lots up to the freeze limit)."""
    return math.ceil(signal.quantity / slice_size(signal, info))


class BrokerSlicing:
    """Sends an order above the freeze quantity as one autoslice placement (see the module)."""

    def __init__(
        self,
        broker: Broker,
        slicing: AutosliceControl,
        news: BrokerNews,
        recorder: Recorder,
        config: DeskConfig,
        alerts: Alerts,
        session: SessionWatch,
    ) -> None:
        self.broker = broker
        self.slicing = slicing
        """The same adapter as ``broker``, seen through its autoslice capability."""
        self.news = news
        self.recorder = recorder
        self.config = config
        self.alerts = alerts
        self.session = session
        self.clock = recorder.clock

    def check(self, signal: Signal, info: InstrumentInfo) -> None:
        """Refuse, before anything is written, an order the broker would cut into too many."""
        count = slice_count(signal, info)
        limit = self.slicing.max_slices
        if count > limit:
            # In whole lots, as the broker cuts them: the most one order carries is 10 x 1,755
            # NIFTY (lots of 65), not 10 x its freeze quantity of 1,800.
            size = slice_size(signal, info)
            raise ValidationError(
                "quantity",
                f"{signal.quantity} of {signal.instrument} needs {count} slices of at most "
                f"{size} (whole lots of {max(info.lot_size, 1)} within the freeze quantity "
                f"{info.freeze_quantity}); the broker's autoslice places at most {limit} "
                f"({limit * size} in one order): send it as several orders, or set "
                '[engine] slicing = "desk" to have the desk place every slice',
            )

    async def send(
        self,
        order_id: str,
        signal: Signal,
        info: InstrumentInfo,
        *,
        created: Callable[[], None] | None = None,
    ) -> Order:
        """Write the parent and ``AutosliceSent``, place it, and record the answer;
        ``created`` is called once the parent is in the book, before it is placed."""
        now = self.clock.now()
        algo_id = self.config.algo_ids.for_strategy(signal.strategy)
        outcome = await self.recorder.create(
            Order.create(order_id, signal, now),
            lambda o: [AutosliceSent(at=now, order_id=o.order_id, algo_id=algo_id)],
        )
        if created is not None:
            created()
        parent = outcome.order
        config = self.config
        try:
            # A 429 proves nothing was placed: the one error after which it is sent again.
            async for attempt in while_throttled(config):
                with attempt:
                    reply = await self.slicing.place_autoslice(
                        PlaceOrder(order_id, signal, algo_id=algo_id)
                    )
        except QuotaExhausted as exc:
            await self._refused(parent, str(exc))  # the day's placements are spent, it says
        except BrokerRateLimited as exc:
            await self._refused(parent, f"rate limited for too long: {exc}")
        except BrokerAuthError as exc:
            self.session.refused(f"the broker refused the session: {exc}", self.clock.now())
            await self._refused(parent, f"session refused: {exc}")
        except AddressRefused as exc:
            # A configuration fault (static IP), as for any placement: never sent again.
            await self._refused(
                parent,
                address_fix(exc, self.broker.name),
                Severity.CRITICAL,
                title=ALERT_TITLE,
                key=alert_key(exc),
            )
        except BrokerRejected as exc:
            await self._refused(parent, str(exc))
        except Exception as exc:
            await self._unknown(parent, f"{type(exc).__name__}: {exc}")
        else:
            await self._answered(parent, reply, info)
        return parent

    async def _answered(self, parent: Order, reply: AutosliceReply, info: InstrumentInfo) -> None:
        now = self.clock.now()
        signal = parent.signal
        expected = slice_quantities(signal.quantity, info.freeze_quantity, info.lot_size)
        placed = tuple(s.broker_order_id for s in reply.slices if s.broker_order_id is not None)
        refused = [
            (index, child_order_id(parent.order_id, index), s.error or "refused")
            for index, s in enumerate(reply.slices)
            if s.broker_order_id is None
        ]
        await self.recorder.decide(
            parent,
            lambda o: [
                AutosliceAnswered(
                    at=now,
                    order_id=o.order_id,
                    broker_parent_id=reply.broker_parent_id,
                    placed=placed,
                    refused=tuple(child_id for _, child_id, _ in refused),
                )
            ],
        )
        created: list[tuple[OrderCreated, Decide | None]] = []
        for index, child_id, reason in refused:
            # The broker does not say a refused slice's size; the same arithmetic it slices by.
            quantity = expected[index] if index < len(expected) else expected[-1]
            child = signal.with_quantity(quantity, signal_id=child_id)
            created.append(
                (
                    Order.create(child_id, child, now, parent_id=parent.order_id),
                    _refused_slice(reason),
                )
            )
        if created:
            await self.recorder.create_many(created)
        total = len(reply.slices)
        for index, child_id, reason in refused:
            await self.alerts.raise_(
                Severity.WARNING,
                "Slice rejected",
                f"{parent.order_id}: slice {index + 1} of {total} ({child_id}, "
                f"{signal.instrument} {signal.side}) was refused by the broker: {reason}; "
                f"{len(placed)} of {total} slices were placed",
                key=f"slice:{child_id}",
                order_id=child_id,
            )
        if placed:
            await self._adopt_children(parent, set(placed))

    async def _adopt_children(self, parent: Order, placed: set[str]) -> None:
        """Read the order book and the trade book once, together, so the children exist now
        with their fills (the stream may have brought some already); what the read misses, the
        stream, the polls and reconciliation bring.

        Both books in one go, as a poll reads them: a read of each child's trades instead
        queued behind Kite's 10 reads a second with the first looks at the same children
        (about 0.9 s of a 1 s fill on the simulator, against 0.25 s for the desk's slicing)."""
        try:
            books, trades = await asyncio.gather(self.broker.orders(), self.broker.trades())
        except Exception as exc:
            log.warning("reading the children of %s failed: %r", parent.order_id, exc)
            return
        reports = [r for r in books if r.broker_order_id in placed]
        fills = [f for f in trades if f.broker_order_id in placed]
        if reports:
            await self.news.apply(reports, fills, source=Source.POLL)

    async def _refused(
        self,
        parent: Order,
        reason: str,
        severity: Severity = Severity.WARNING,
        *,
        title: str = "Order rejected",
        key: str | None = None,
    ) -> None:
        now = self.clock.now()
        await self.recorder.decide(
            parent, lambda o: [AutosliceFailed(at=now, order_id=o.order_id, reason=reason)]
        )
        signal = parent.signal
        await self.alerts.raise_(
            severity,
            title,
            f"{parent.order_id} ({signal.instrument} {signal.side} {signal.quantity}, one "
            f"autoslice placement): {reason}",
            key=key or f"rejected:{parent.order_id}",
            order_id=parent.order_id,
        )

    @staticmethod
    def interrupted(parent: Order) -> bool:
        """Sent as an autoslice placement, and neither answered nor failed in the log."""
        return (
            parent.autoslice
            and parent.broker_parent_id is None
            and parent.reason is None
            and parent.status is OrderStatus.INITIALIZED
        )

    async def stopped_while_sending(self, parent: Order) -> None:
        """After a restart: the placement's answer was lost with the last process."""
        await self._unknown(
            parent, "the desk stopped before the autoslice placement's answer was recorded"
        )

    async def _unknown(self, parent: Order, reason: str) -> None:
        now = self.clock.now()
        await self.recorder.decide(
            parent,
            lambda o: [AutosliceFailed(at=now, order_id=o.order_id, reason=reason, unknown=True)],
        )
        await self.alerts.raise_(
            Severity.CRITICAL,
            "Autoslice outcome unknown",
            f"{parent.order_id}: {reason}. It is not sent again: the children the broker placed "
            "carry its tag and are adopted as they are reported. Check the broker's book before "
            "placing it again.",
            key=f"unknown:{parent.order_id}",
            order_id=parent.order_id,
        )


def _refused_slice(reason: str) -> Decide:
    """The events of a slice the broker refused: sent (in the parent's placement), refused."""

    def decide(order: Order) -> list[OrderEvent]:
        return [
            OrderSubmitting(at=order.created_at, order_id=order.order_id, attempt=1),
            OrderSubmitRejected(at=order.created_at, order_id=order.order_id, reason=reason),
        ]

    return decide


__all__ = ["BrokerSlicing", "slice_count", "slice_size"]
