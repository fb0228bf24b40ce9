"""Modify and cancel: record the request, call the broker, record what the broker said.

A cover order's stop leg is addressed as Kite wants it (variety ``co`` and its parent's id):
modifying it moves the stop, cancelling it exits the cover order at market.

A modify sends only the terms asked for; the broker keeps the others as it holds them (a term
changed outside orderdesk that the desk has not heard of yet is not put back).

A call that fails after it may have reached the broker (a timeout, a reset, a 5xx) has an
unknown outcome. It is not sent again blindly — each modification spends one of Kite's 25 per
order: the order is read first, and the command is sent again only if the broker's row shows it
was not carried out. A refusal by the broker returns the order to where it was; so does an
outcome that cannot be learned — with an alert, since the broker's next report will tell.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from orderdesk.domain.order import Order
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.status import BrokerStatus, OrderStatus
from orderdesk.domain.values import OrderType, Variety
from orderdesk.engine.address import address_fix
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.config import DeskConfig
from orderdesk.engine.errors import CommandRefused, ModificationLimitReached
from orderdesk.engine.news import BrokerNews, Source
from orderdesk.engine.recorder import Recorder
from orderdesk.engine.retry import NotYet, retrying
from orderdesk.engine.session import SessionWatch
from orderdesk.errors import (
    AddressRefused,
    BrokerAuthError,
    BrokerError,
    BrokerRateLimited,
    BrokerRejected,
    BrokerTransportError,
)
from orderdesk.ports.broker import Broker, OrderChanges
from orderdesk.ports.notifier import Severity


class Commands:
    """Modify and cancel working orders."""

    def __init__(
        self,
        broker: Broker,
        recorder: Recorder,
        config: DeskConfig,
        alerts: Alerts,
        news: BrokerNews,
        session: SessionWatch,
    ) -> None:
        self.broker = broker
        self.session = session
        self.recorder = recorder
        self.news = news
        self.book = recorder.book
        self.config = config
        self.alerts = alerts
        self.clock = recorder.clock

    async def modify(
        self,
        order: Order,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
    ) -> None:
        """Ask the broker for new terms; raises if refused (after recording the refusal)."""
        limit = self.config.max_modifications
        if order.modifications >= limit:
            raise ModificationLimitReached(order.order_id, limit)
        now = self.clock.now()
        outcome = await self.recorder.decide(
            order,
            lambda o: o.request_modify(
                now,
                quantity=quantity,
                price=price,
                trigger_price=trigger_price,
                order_type=order_type,
            ),
        )
        if outcome.refused is not None:
            raise CommandRefused.by_state(order.order_id, outcome.refused)
        # Only the terms asked for: the broker keeps the others as it holds them, so a term
        # changed at the broker that the desk has not heard of yet is not put back.
        changes = OrderChanges(
            quantity=quantity, price=price, trigger_price=trigger_price, order_type=order_type
        )
        broker_order_id = order.broker_order_id
        assert broker_order_id is not None  # only working orders can be modified
        variety, parent = self._addressed(order)
        try:
            await self._call(
                order,
                lambda: self.broker.modify_order(
                    broker_order_id, variety, changes, parent_order_id=parent
                ),
                done=lambda row: row.status in _FINAL or _has_terms(row, changes),
            )
        except Exception as exc:
            reason, unanswered = self._reason(exc), _unanswered(exc)
            await self.recorder.decide(
                order,
                lambda o: (
                    o.modify_rejected(reason, self.clock.now(), unanswered=unanswered)
                    if o.status is OrderStatus.MODIFY_PENDING
                    else []
                ),
            )
            await self._alert("Modify failed", order, reason, exc)
            raise
        await self.recorder.decide(
            order,
            lambda o: (
                o.modify_accepted(self.clock.now())
                if o.status is OrderStatus.MODIFY_PENDING
                else []
            ),
        )

    async def cancel(self, order: Order) -> None:
        """Ask the broker to cancel; the order ends when the broker reports it cancelled.

        A cancel that loses the race to the order's end is an everyday event, not a fault: to
        a fill, or to the exchange's mass cancel or a rejection. Refused because the order has
        ended, it is answered (``CommandRefused``) but not alerted; refused by the broker, the
        order's row is read at once, since the refusal is often the fill's first news, and an
        order that has ended meanwhile is not a failed cancel.
        """
        now = self.clock.now()
        async with self.recorder.lock(order.order_id):
            outcome = await self.recorder.decide_held(order, lambda o: o.request_cancel(now))
        if outcome.refused is not None:
            if not order.is_terminal:
                await self.recorder.alert_refusals([outcome])
            raise CommandRefused.by_state(order.order_id, outcome.refused)
        broker_order_id = order.broker_order_id
        assert broker_order_id is not None
        variety, parent = self._addressed(order)
        try:
            await self._call(
                order,
                lambda: self.broker.cancel_order(broker_order_id, variety, parent_order_id=parent),
                done=lambda row: row.status in _FINAL,
            )
        except Exception as exc:
            reason, unanswered = self._reason(exc), _unanswered(exc)
            await self.recorder.decide(
                order,
                lambda o: o.cancel_rejected(reason, self.clock.now(), unanswered=unanswered),
            )
            if isinstance(exc, BrokerRejected) and not order.is_terminal:
                await self._catch_up(order)
            if order.is_terminal:
                return  # it ended (filled, say) while we asked: nothing left to cancel
            await self._alert("Cancel failed", order, reason, exc)
            raise

    async def _catch_up(self, order: Order) -> None:
        """Record what the broker's row of ``order`` shows (its trades read as the stream's
        are), ahead of the stream's news of it."""
        row = await self._row(order)
        if row is not None:
            await self.news.apply([row], source=Source.LOOK)

    def _reason(self, exc: BaseException) -> str:
        if isinstance(exc, AddressRefused):
            return address_fix(exc, self.broker.name)
        return _reason(exc)

    def _addressed(self, order: Order) -> tuple[Variety, str | None]:
        """How the broker names the order in a command: a cover order's stop leg is variety
        ``co`` with its parent's id (cancelling it exits the cover order at market)."""
        if order.leg_of is None:
            return order.signal.variety, None
        cover = self.book.orders.get(order.leg_of)
        return Variety.CO, cover.broker_order_id if cover is not None else None

    async def _call(
        self,
        order: Order,
        call: Callable[[], Awaitable[None]],
        *,
        done: Callable[[OrderStatusReport], bool],
    ) -> None:
        """Send a command; after an unknown outcome, send it again only if the order's row at
        the broker shows it was not carried out (``done`` says whether it was)."""
        config = self.config
        try:
            async for attempt in retrying(
                NotYet,
                first=config.command_backoff,
                ceiling=config.command_backoff * 16,
                attempts=config.command_attempts,
            ):
                with attempt:
                    try:
                        await call()
                        return
                    except BrokerAuthError as exc:
                        # Told like a placement's: the desk ends the session at once (alerted
                        # and recorded by its clock loop) rather than at its next placement.
                        self.session.refused(
                            f"the broker refused the session: {exc}", self.clock.now()
                        )
                        raise
                    except (BrokerRejected, BrokerRateLimited):
                        raise  # nothing was done: no row to read (in a 429 storm, one more 429)
                    except Exception as unknown:
                        row = await self._row(order)
                        if row is None:
                            raise  # the outcome cannot be learned: nothing is sent again
                        if done(row):
                            return
                        raise NotYet from unknown  # the broker shows it was not carried out
        except NotYet as gave_up:
            cause = gave_up.__cause__
            raise (cause if isinstance(cause, Exception) else gave_up) from None

    async def _row(self, order: Order) -> OrderStatusReport | None:
        """The order's row in the broker's book, or None if the book cannot be read."""
        try:
            rows = await self.broker.orders()
        except Exception:
            return None
        return next((r for r in rows if r.broker_order_id == order.broker_order_id), None)

    async def _alert(self, title: str, order: Order, reason: str, exc: BaseException) -> None:
        # A lost session or an unregistered address stops every command until a person acts.
        critical = isinstance(exc, BrokerAuthError | AddressRefused)
        severity = Severity.CRITICAL if critical else Severity.WARNING
        await self.alerts.raise_(
            severity,
            title,
            f"{order.order_id}: {reason}",
            key=f"{title}:{order.order_id}",
            order_id=order.order_id,
        )


_FINAL = frozenset({BrokerStatus.COMPLETE, BrokerStatus.CANCELLED, BrokerStatus.REJECTED})


def _has_terms(row: OrderStatusReport, changes: OrderChanges) -> bool:
    """The broker's row shows the requested terms (the modify was carried out)."""
    if changes.quantity is not None and row.quantity != changes.quantity:
        return False
    if changes.order_type is not None and row.order_type is not changes.order_type:
        return False
    if changes.price is not None and row.price != changes.price:
        return False
    return changes.trigger_price is None or row.trigger_price == changes.trigger_price


def _unanswered(exc: BaseException) -> bool:
    """Whether the broker never answered (a timeout, a dropped connection): not a refusal."""
    return isinstance(exc, BrokerTransportError) or not isinstance(exc, BrokerError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BrokerError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


__all__ = ["Commands"]
