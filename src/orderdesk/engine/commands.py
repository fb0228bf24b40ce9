"""Modify and cancel: record the request, call the broker, record what the broker said.

A cover order's stop leg is addressed as Kite wants it (variety ``co`` and its parent's id):
modifying it moves the stop, cancelling it exits the cover order at market.

Both calls are safe to repeat (a modify states absolute terms, a cancel of a cancelled order is
refused harmlessly), so transport errors are retried a few times. A refusal by the broker
returns the order to where it was; so does giving up after the retries — with an alert, since
the broker may in fact have acted, and its next report will then say so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

from orderdesk.domain.order import Order
from orderdesk.domain.status import OrderStatus
from orderdesk.domain.values import OrderType, Variety
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.backoff import Backoff
from orderdesk.engine.config import DeskConfig
from orderdesk.engine.errors import CommandRefused, ModificationLimitReached
from orderdesk.engine.recorder import Recorder
from orderdesk.errors import BrokerAuthError, BrokerError, BrokerRejected
from orderdesk.ports.broker import Broker, OrderChanges
from orderdesk.ports.notifier import Severity


class Commands:
    """Modify and cancel working orders."""

    def __init__(
        self, broker: Broker, recorder: Recorder, config: DeskConfig, alerts: Alerts
    ) -> None:
        self.broker = broker
        self.recorder = recorder
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
            raise CommandRefused(order.order_id, str(outcome.refused))
        request = order.pending_modify
        assert request is not None  # just recorded
        changes = OrderChanges(
            quantity=request.quantity,
            price=request.price,
            trigger_price=request.trigger_price,
            order_type=request.order_type,
        )
        broker_order_id = order.broker_order_id
        assert broker_order_id is not None  # only working orders can be modified
        variety, parent = self._addressed(order)
        try:
            await self._call(
                lambda: self.broker.modify_order(
                    broker_order_id, variety, changes, parent_order_id=parent
                )
            )
        except Exception as exc:
            reason = _reason(exc)
            await self.recorder.decide(
                order,
                lambda o: (
                    o.modify_rejected(reason, self.clock.now())
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
        """Ask the broker to cancel; the order ends when the broker reports it cancelled."""
        now = self.clock.now()
        outcome = await self.recorder.decide(order, lambda o: o.request_cancel(now))
        if outcome.refused is not None:
            raise CommandRefused(order.order_id, str(outcome.refused))
        broker_order_id = order.broker_order_id
        assert broker_order_id is not None
        variety, parent = self._addressed(order)
        try:
            await self._call(
                lambda: self.broker.cancel_order(broker_order_id, variety, parent_order_id=parent)
            )
        except Exception as exc:
            reason = _reason(exc)
            await self.recorder.decide(order, lambda o: o.cancel_rejected(reason, self.clock.now()))
            if order.is_terminal:
                return  # it ended (filled, say) while we asked: nothing left to cancel
            await self._alert("Cancel failed", order, reason, exc)
            raise

    def _addressed(self, order: Order) -> tuple[Variety, str | None]:
        """How the broker names the order in a command: a cover order's stop leg is variety
        ``co`` with its parent's id (cancelling it exits the cover order at market)."""
        if order.leg_of is None:
            return order.signal.variety, None
        cover = self.book.orders.get(order.leg_of)
        return Variety.CO, cover.broker_order_id if cover is not None else None

    async def _call(self, call: Callable[[], Awaitable[None]]) -> None:
        backoff = Backoff(self.config.command_backoff, self.config.command_backoff * 16)
        for attempt in range(1, self.config.command_attempts + 1):
            try:
                await call()
            except (BrokerRejected, BrokerAuthError):
                raise
            except Exception:
                if attempt == self.config.command_attempts:
                    raise
                await asyncio.sleep(backoff.next())
            else:
                return

    async def _alert(self, title: str, order: Order, reason: str, exc: BaseException) -> None:
        severity = Severity.CRITICAL if isinstance(exc, BrokerAuthError) else Severity.WARNING
        await self.alerts.raise_(
            severity,
            title,
            f"{order.order_id}: {reason}",
            key=f"{title}:{order.order_id}",
            order_id=order.order_id,
        )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BrokerError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


__all__ = ["Commands"]
