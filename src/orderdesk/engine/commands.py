"""Modify and cancel: record the request, call the broker, record what the broker said.

A cover order's stop leg is addressed as Kite wants it (variety ``co`` and its parent's id):
modifying it moves the stop, cancelling it exits the cover order at market.

A modify sends only the terms asked for; the broker keeps the others as it holds them (a term
changed outside orderdesk that the desk has not heard of yet is not put back).

A call that fails after it may have reached the broker (a timeout, a reset, a 5xx) has an
unknown outcome. It is not sent again blindly — each modification spends one of Kite's 25 per
order: the order is read first, and the command is sent again only if the broker's row shows it
was not carried out. A refusal by the broker returns the order to where it was; so does an
outcome that cannot be learned — with an alert, since the broker's next report will tell. A
refusal is followed at once by a read of the order's row: "cannot be modified (cancelled) as it
is complete" is often the fill's first news, and an order that has ended meanwhile is told by
its own news, not alerted as a failed command.

A modify whose request an earlier process sent and never heard answered (it stopped
mid-request) is settled the same way, by its row (:meth:`Commands.settle_interrupted`): at
start-up, and before any modify or cancel of that order, which would otherwise be refused for
good as waiting for an answer no one is waiting for.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal

from orderdesk.domain.events import OrderModifyRequested
from orderdesk.domain.order import Order, Terms
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
        self._modifying: Counter[str] = Counter()
        """Modifies of this process on their way, by order: an order held MODIFY_PENDING with
        none is waiting for the answer to a request an earlier process sent."""
        self._settling = asyncio.Lock()
        """Held while an interrupted modify is settled: a cancel and a modify of the order
        asked together wait for one settling (such modifies are rare: one per crash)."""

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
        await self.settle_interrupted(order)
        changes = OrderChanges(
            quantity=quantity, price=price, trigger_price=trigger_price, order_type=order_type
        )
        with self._on_its_way(order):
            await self._modify(order, changes)

    @contextmanager
    def _on_its_way(self, order: Order) -> Iterator[None]:
        """Count a modify of this process on its way for ``order`` (a second one at once is
        refused for the order's state, and must not uncount the first)."""
        self._modifying[order.order_id] += 1
        try:
            yield
        finally:
            self._modifying[order.order_id] -= 1
            if self._modifying[order.order_id] <= 0:
                del self._modifying[order.order_id]

    async def _modify(self, order: Order, changes: OrderChanges) -> None:
        limit = self.config.max_modifications
        if order.modifications >= limit:
            raise ModificationLimitReached(order.order_id, limit)
        now = self.clock.now()
        outcome = await self.recorder.decide(
            order,
            lambda o: o.request_modify(
                now,
                quantity=changes.quantity,
                price=changes.price,
                trigger_price=changes.trigger_price,
                order_type=changes.order_type,
            ),
        )
        if outcome.refused is not None:
            raise CommandRefused.by_state(order.order_id, outcome.refused)
        # Only the terms asked for: the broker keeps the others as it holds them, so a term
        # changed at the broker that the desk has not heard of yet is not put back.
        broker_order_id = order.broker_order_id
        assert broker_order_id is not None  # only working orders can be modified
        variety, parent = self._addressed(order)
        try:
            await self._call(
                order,
                lambda: self.broker.modify_order(
                    broker_order_id, variety, changes, parent_order_id=parent
                ),
                done=lambda row: _carried_out(row, changes),
            )
        except Exception as exc:
            reason = self._reason(exc)
            await self._modify_not_carried_out(order, reason, unanswered=_unanswered(exc))
            if isinstance(exc, BrokerRejected) and not order.is_terminal:
                # As for a refused cancel: "cannot be modified as it is complete" is often the
                # fill's first news, ahead of the stream's.
                await self._catch_up(order)
            if not order.is_terminal:
                # An order that ended meanwhile (filled) is its own news, not a failed modify;
                # the refusal is still raised, since the new terms were not taken.
                await self._alert("Modify failed", order, reason, critical=_critical(exc))
            raise
        await self._modify_carried_out(order)

    async def settle_interrupted(self, order: Order) -> None:
        """Settle the modify ``order`` waits for if no request of this process is on its way:
        an earlier process sent it and stopped before the answer (killed mid-request), and no
        report settles it. As after an unknown outcome here, the order's row at the broker
        says: the asked terms shown (or the order ended), it was carried out; the old terms
        shown, it was not, and the order works on at them — alerted, for it to be sent again;
        no row to read, it was not either (alerted: the broker's next report shows the terms
        it holds)."""
        if not self._interrupted(order):
            return
        async with self._settling:
            request = order.pending_modify
            if self._interrupted(order) and request is not None:  # not settled while we waited
                await self._settle_by_row(order, request)

    def _interrupted(self, order: Order) -> bool:
        """``order`` waits for a modify's answer and no modify of this process is on its way
        (its sender settles its own)."""
        return order.status is OrderStatus.MODIFY_PENDING and not self._modifying[order.order_id]

    async def _settle_by_row(self, order: Order, request: OrderModifyRequested) -> None:
        asked = _asked(order, request)
        row = await self._row(order)
        if row is not None and _carried_out(row, asked):
            await self._modify_carried_out(order)
            return
        if row is None:
            reason = (
                "the desk stopped before the broker answered it, and the order's row at the "
                "broker could not be read: its next report shows the terms it holds"
            )
        else:
            reason = (
                f"the desk stopped before the broker answered it, and the broker still holds "
                f"{order.terms_in(row)}, not {_terms_of(request)}: send it again if still wanted"
            )
        if await self._modify_not_carried_out(order, reason, unanswered=True):
            await self._alert("Modify not applied", order, reason)

    async def _modify_carried_out(self, order: Order) -> None:
        await self.recorder.decide(
            order,
            lambda o: (
                o.modify_accepted(self.clock.now())
                if o.status is OrderStatus.MODIFY_PENDING
                else []
            ),
        )

    async def _modify_not_carried_out(self, order: Order, reason: str, *, unanswered: bool) -> bool:
        """Return ``order`` to its terms (if its modify still waits); whether it did."""
        outcome = await self.recorder.decide(
            order,
            lambda o: (
                o.modify_rejected(reason, self.clock.now(), unanswered=unanswered)
                if o.status is OrderStatus.MODIFY_PENDING
                else []
            ),
        )
        return bool(outcome.events)

    async def cancel(self, order: Order) -> None:
        """Ask the broker to cancel; the order ends when the broker reports it cancelled.

        A cancel that loses the race to the order's end is an everyday event, not a fault: to
        a fill, or to the exchange's mass cancel or a rejection. Refused because the order has
        ended, it is answered (``CommandRefused``) but not alerted; refused by the broker, the
        order's row is read at once, since the refusal is often the fill's first news, and an
        order that has ended meanwhile is not a failed cancel.

        A modify that an earlier process left unanswered is settled first
        (:meth:`settle_interrupted`): "a cancel always goes", not "once the broker answers".
        """
        await self.settle_interrupted(order)
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
            await self._alert("Cancel failed", order, reason, critical=_critical(exc))
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

    async def _alert(
        self, title: str, order: Order, reason: str, *, critical: bool = False
    ) -> None:
        severity = Severity.CRITICAL if critical else Severity.WARNING
        await self.alerts.raise_(
            severity,
            title,
            f"{order.order_id}: {reason}",
            key=f"{title}:{order.order_id}",
            order_id=order.order_id,
        )


_FINAL = frozenset({BrokerStatus.COMPLETE, BrokerStatus.CANCELLED, BrokerStatus.REJECTED})


def _carried_out(row: OrderStatusReport, changes: OrderChanges) -> bool:
    """The broker's row shows the modify carried out, or moot (the order has ended)."""
    return row.status in _FINAL or _has_terms(row, changes)


def _asked(order: Order, request: OrderModifyRequested) -> OrderChanges:
    """The terms a recorded modify request changes from the order's own (the log keeps the
    whole new terms; the sender asked for these)."""
    return OrderChanges(
        quantity=request.quantity if request.quantity != order.quantity else None,
        price=request.price if request.price != order.price else None,
        trigger_price=(
            request.trigger_price if request.trigger_price != order.trigger_price else None
        ),
        order_type=request.order_type if request.order_type is not order.order_type else None,
    )


def _terms_of(request: OrderModifyRequested) -> Terms:
    return Terms(request.quantity, request.order_type, request.price, request.trigger_price)


def _has_terms(row: OrderStatusReport, changes: OrderChanges) -> bool:
    """The broker's row shows the requested terms (the modify was carried out)."""
    if changes.quantity is not None and row.quantity != changes.quantity:
        return False
    if changes.order_type is not None and row.order_type is not changes.order_type:
        return False
    if changes.price is not None and row.price != changes.price:
        return False
    return changes.trigger_price is None or row.trigger_price == changes.trigger_price


def _critical(exc: BaseException) -> bool:
    """A lost session or an unregistered address stops every command until a person acts."""
    return isinstance(exc, BrokerAuthError | AddressRefused)


def _unanswered(exc: BaseException) -> bool:
    """Whether the broker never answered (a timeout, a dropped connection): not a refusal."""
    return isinstance(exc, BrokerTransportError) or not isinstance(exc, BrokerError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BrokerError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


__all__ = ["Commands"]
