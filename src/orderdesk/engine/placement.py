"""Idempotent placement: send under the client order id, and resolve what is unknown.

The order's ``OrderCreated`` and ``OrderSubmitting`` are in the log before this module is asked
to send, and the client order id travels as the broker's tag. Then:

- a broker order id back → ``accepted``;
- ``BrokerRejected`` → ``submit_rejected`` (the broker holds nothing); an ``AddressRefused``
  (the broker takes no orders from this source address) with a CRITICAL alert saying the fix,
  a ``HoldingsNotAuthorised`` (a sale of holdings the day has not authorised) with its fix;
- ``BrokerAuthError`` → ``submit_deferred``: nothing was placed, the session is gone, and the
  order waits as an intent for the same signal to send it after the login;
- ``BrokerRateLimited`` → nothing was placed: back off and send again, same id;
- anything else (``UnknownOutcome``: a reset or a timeout after sending, a 5xx; a connection
  that never opened; a bug in a transport) → ``SUBMIT_UNKNOWN``, resolved by looking for the
  tag in the broker's order book.

Resolution re-sends only on proven absence: ``resolve_absences`` successful reads of the book
without the tag, the last one at least ``resolve_min_age`` after the failure. A read that fails
proves nothing; the order stays unresolved and alerted, never marked failed, never re-sent.

An order can appear late (KITE_API.md §14.2), so the unknown outcome's :class:`Doubt` decides
more. Unless the request provably never left (``Doubt.NO_ANSWER``: no connection), the book is
watched for ``late_order_window`` before absences start to count: when no reply came back (a
timeout, a reset, a 5xx: a broker slow to answer may be slow to place), when the desk stopped
mid-send (so whatever the broker answered is lost), and when the broker answered that it cannot
tell (``AmbiguousReply``, Kite's "Order request timed out"). Then a send that got no reply or
was interrupted is sent again, but an unsure one is given up as not placed (REJECTED, with a
reason the strategy reads and an alert): sending it again is what turns a late order into two.
"""

from __future__ import annotations

import asyncio
import logging

from orderdesk.domain.events import Doubt
from orderdesk.domain.order import Order
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.status import OrderStatus
from orderdesk.engine.address import ALERT_TITLE, address_fix, alert_key
from orderdesk.engine.alerts import Alerts
from orderdesk.engine.authorisation import ALERT_TITLE as AUTHORISATION_TITLE
from orderdesk.engine.authorisation import alert_key as authorisation_key
from orderdesk.engine.authorisation import authorisation_fix
from orderdesk.engine.commands import Commands
from orderdesk.engine.config import DeskConfig
from orderdesk.engine.news import BrokerNews, Source
from orderdesk.engine.recorder import Recorder
from orderdesk.engine.retry import NotYet, retrying, while_throttled
from orderdesk.engine.session import SessionWatch
from orderdesk.errors import (
    AddressRefused,
    AmbiguousReply,
    BrokerAuthError,
    BrokerRateLimited,
    BrokerRejected,
    BrokerTransportError,
    HoldingsNotAuthorised,
    UnknownOutcome,
)
from orderdesk.ports.broker import Broker, PlaceOrder
from orderdesk.ports.notifier import Severity

log = logging.getLogger(__name__)


def matches_tag(report: OrderStatusReport, order_id: str) -> bool:
    return report.tag == order_id or order_id in report.tags


class Placement:
    """Sends orders and owns the resolver tasks of orders whose placement is unknown."""

    def __init__(
        self,
        broker: Broker,
        news: BrokerNews,
        recorder: Recorder,
        config: DeskConfig,
        alerts: Alerts,
        session: SessionWatch,
        commands: Commands,
    ) -> None:
        self.broker = broker
        self.news = news
        self.commands = commands
        self.session = session
        self.recorder = recorder
        self.config = config
        self.alerts = alerts
        self.clock = recorder.clock
        self.resolving: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self.cancel_when_found: set[str] = set()
        """Orders whose cancel was asked while their placement was unresolved: cancelled as
        soon as they are found at the broker."""

    # -- sending -------------------------------------------------------------------------------

    def algo_id(self, order: Order) -> str | None:
        """The exchange algo id for ``order``'s next placement attempt (None: send none)."""
        return self.config.algo_ids.for_strategy(order.signal.strategy)

    async def send(self, order: Order) -> None:
        """Place an order that is ``SUBMITTING``; returns when its outcome is recorded."""
        config = self.config
        # The algo id the log says this attempt carries, so the log is what was sent.
        command = PlaceOrder(order.order_id, order.signal, algo_id=order.algo_id)
        try:
            # A 429 proves nothing was placed: the one error after which a placement is sent
            # again, under the same id, until the broker lets it through or time runs out.
            async for attempt in while_throttled(config):
                with attempt:
                    broker_order_id = await self.broker.place_order(command)
        except BrokerRateLimited as exc:
            await self._rejected(order, f"rate limited for too long: {exc}", Severity.WARNING)
        except BrokerAuthError as exc:
            # A refused session placed nothing: the order is an intent again, which the same
            # signal sends once a person has logged in.
            self.session.refused(f"the broker refused the session: {exc}", self.clock.now())
            await self._deferred(order, f"session refused: {exc}")
        except AddressRefused as exc:
            # A configuration fault: not unknown (nothing was placed), never sent again.
            await self._rejected(
                order,
                address_fix(exc, self.broker.name),
                Severity.CRITICAL,
                title=ALERT_TITLE,
                key=alert_key(exc),
            )
        except HoldingsNotAuthorised as exc:
            instrument = order.signal.instrument
            await self._rejected(
                order,
                authorisation_fix(exc, instrument),
                Severity.WARNING,
                title=AUTHORISATION_TITLE,
                key=authorisation_key(instrument),
            )
        except BrokerRejected as exc:
            await self._rejected(order, str(exc), Severity.WARNING)
        except AmbiguousReply as exc:
            await self._unknown(order, f"{type(exc).__name__}: {exc}", Doubt.BROKER_UNSURE)
        except UnknownOutcome as exc:
            await self._unknown(order, f"{type(exc).__name__}: {exc}", Doubt.NO_REPLY)
        except BrokerTransportError as exc:
            # The port's word that the request never left (a placement that may have left is
            # an UnknownOutcome): nothing can turn up late.
            await self._unknown(order, f"{type(exc).__name__}: {exc}", Doubt.NO_ANSWER)
        except Exception as exc:
            # A fault with no word on whether the request left: as careful as a lost reply.
            await self._unknown(order, f"{type(exc).__name__}: {exc}", Doubt.NO_REPLY)
        else:
            await self._accepted(order, broker_order_id)

    async def _accepted(self, order: Order, broker_order_id: str) -> None:
        # Binding is broker news: the stream may have told it already, or be telling it now.
        await self.news.placed(order, broker_order_id)

    async def _rejected(
        self,
        order: Order,
        reason: str,
        severity: Severity,
        *,
        title: str = "Order rejected",
        key: str | None = None,
    ) -> None:
        now = self.clock.now()
        outcome = await self.recorder.decide(
            order,
            lambda o: o.submit_rejected(reason, now) if o.status is OrderStatus.SUBMITTING else [],
        )
        if outcome.events:
            await self.alerts.raise_(
                severity,
                title,
                f"{order.order_id} ({order.signal.instrument} {order.signal.side} "
                f"{order.signal.quantity}): {reason}",
                key=key or f"rejected:{order.order_id}",
                order_id=order.order_id,
            )

    async def _deferred(self, order: Order, reason: str) -> None:
        now = self.clock.now()
        await self.recorder.decide(
            order,
            lambda o: o.submit_deferred(reason, now) if o.status is OrderStatus.SUBMITTING else [],
        )

    async def _unknown(self, order: Order, reason: str, doubt: Doubt) -> None:
        now = self.clock.now()
        # The stream may already have told us where the order is; then nothing is unknown.
        outcome = await self.recorder.decide(
            order,
            lambda o: (
                o.submit_unknown(reason, now, doubt) if o.status is OrderStatus.SUBMITTING else []
            ),
        )
        if outcome.events:
            await self.alerts.raise_(
                Severity.WARNING,
                "Placement outcome unknown",
                f"{order.order_id}: {reason}; looking it up in the broker's order book",
                key=f"unknown:{order.order_id}",
                order_id=order.order_id,
            )
        self.resolve_later(order)

    # -- resolving -----------------------------------------------------------------------------

    def resolve_later(self, order: Order) -> None:
        """Start (once) a task that resolves ``order`` if it is unresolved."""
        if not order.is_unresolved:
            return
        running = self.resolving.get(order.order_id)
        if running is not None and not running.done():
            # The running resolver may be finishing a round that gave up: ask for one more.
            self._again.add(order.order_id)
            return
        self._again.discard(order.order_id)
        task = asyncio.get_running_loop().create_task(
            self._resolve(order), name=f"resolve-{order.order_id}"
        )
        self.resolving[order.order_id] = task
        task.add_done_callback(lambda done: self._finished(order.order_id, done))

    def _finished(self, order_id: str, task: asyncio.Task[None]) -> None:
        if self.resolving.get(order_id) is task:
            del self.resolving[order_id]

    async def _resolve(self, order: Order) -> None:
        try:
            # A re-send that again ends unknown needs another round; this task is still the
            # order's resolver then, so resolve_later() would not start a second one.
            while order.is_unresolved:
                resent = await self._resolve_round(order)
                if not resent and order.order_id not in self._again:
                    return
                self._again.discard(order.order_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("resolving %s failed", order.order_id)

    async def _resolve_round(self, order: Order) -> bool:
        """Look until the order is found or proven absent; True when it was re-sent."""
        config = self.config
        failed_at = self.clock.monotonic()
        absences = 0
        round_ = _Round()
        # A request that did reach the broker needs a moment to appear in its book.
        await asyncio.sleep(config.resolve_first_delay)
        if order.doubt is not Doubt.NO_ANSWER and await self._watch_late(order, round_):
            return False
        try:
            async for attempt in retrying(
                NotYet,
                first=config.resolve_interval,
                ceiling=config.resolve_max_interval,
                attempts=config.resolve_max_lookups,
            ):
                with attempt:
                    if not order.is_unresolved:
                        return False
                    if await self._look(order, round_):
                        return False
                    absences += 1
                    proven = (
                        absences >= config.resolve_absences
                        and self.clock.monotonic() - failed_at >= config.resolve_min_age
                    )
                    if not proven:
                        raise NotYet
                    if order.doubt is Doubt.BROKER_UNSURE:
                        await self._not_placed(order)
                        return False
                    return await self._resend(order)
        except NotYet:
            pass
        await self.alerts.raise_(
            Severity.CRITICAL,
            "Order unresolved",
            f"{order.order_id} is still unresolved after {self.config.resolve_max_lookups} "
            "lookups; reconciliation will keep trying. Check the broker before re-placing.",
            key=f"unresolved:{order.order_id}",
            order_id=order.order_id,
        )
        return False

    async def _look(self, order: Order, round_: _Round) -> bool:
        """One read of the book: True when the order is there (and now bound to it). A read
        that fails proves nothing (``NotYet``), said once a round."""
        try:
            reports = await self.broker.orders()
        except Exception as exc:
            if not round_.lookup_failed:
                round_.lookup_failed = True
                await self._lookup_failed(order, exc)
            raise NotYet from exc
        found = [r for r in reports if _is_ours(r, order)]
        if found:
            await self.found(order, found)
            return True
        return False

    async def _watch_late(self, order: Order, round_: _Round) -> bool:
        """Look for ``late_order_window`` seconds, counting no absence: True when the order
        turned up (or was resolved by other news) meanwhile."""
        config = self.config
        started = self.clock.monotonic()
        try:
            async for attempt in retrying(
                NotYet,
                first=config.resolve_interval,
                ceiling=config.resolve_max_interval,
                attempts=None,
            ):
                with attempt:
                    if not order.is_unresolved:
                        return True
                    # Checked before reading, so failing reads cannot stretch the window.
                    if self.clock.monotonic() - started >= config.late_order_window:
                        return False
                    if await self._look(order, round_):
                        return True
                    raise NotYet
        except NotYet:
            pass
        return not order.is_unresolved

    async def _not_placed(self, order: Order) -> None:
        """Give up a placement the broker could not vouch for and its book never showed."""
        window = self.config.late_order_window
        answer = order.reason
        reason = (
            "not placed: the broker could not tell whether it placed the order and its order "
            f"book did not show it within {window:g} s; not sent again, as a late order would "
            "make two"
        )
        now = self.clock.now()
        outcome = await self.recorder.decide(
            order,
            lambda o: o.not_placed(reason, now) if o.status is OrderStatus.SUBMIT_UNKNOWN else [],
        )
        if outcome.events:
            await self.alerts.raise_(
                Severity.WARNING,
                "Order not placed",
                f"{order.order_id} ({order.signal.instrument} {order.signal.side} "
                f"{order.signal.quantity}): {reason}. The broker's answer: {answer}. Should it "
                "appear at the broker after all, the desk alerts again.",
                key=f"not_placed:{order.order_id}",
                order_id=order.order_id,
            )

    async def _lookup_failed(self, order: Order, exc: Exception) -> None:
        await self.alerts.raise_(
            Severity.WARNING,
            "Cannot resolve order",
            f"{order.order_id}: the order book could not be read "
            f"({type(exc).__name__}: {exc}); the order stays unresolved",
            key=f"lookup:{order.order_id}",
            order_id=order.order_id,
        )

    async def found(self, order: Order, reports: list[OrderStatusReport]) -> None:
        """The tag is in the broker's book: bind the order to what the broker holds."""
        if len(reports) > 1:
            ids = ", ".join(r.broker_order_id for r in reports)
            await self.alerts.raise_(
                Severity.CRITICAL,
                "Duplicate orders at the broker",
                f"{order.order_id} appears {len(reports)} times ({ids})",
                key=f"duplicate:{order.order_id}",
                order_id=order.order_id,
            )
        await self.news.apply(reports, source=Source.PLACEMENT)
        if order.order_id in self.cancel_when_found and order.is_working:
            self.cancel_when_found.discard(order.order_id)
            await self.commands.cancel(order)

    async def _resend(self, order: Order) -> bool:
        if order.external:
            # Never ours to send. Only a log from before adoption started orders ACCEPTED can
            # leave one unresolved; the broker id finds it, absence must not place it.
            await self.alerts.raise_(
                Severity.CRITICAL,
                "External order not found",
                f"{order.order_id}: broker order {order.broker_order_id} is not in the book",
                key=f"attempts:{order.order_id}",
                order_id=order.order_id,
            )
            return False
        if order.submit_attempts >= self.config.max_submit_attempts:
            await self.alerts.raise_(
                Severity.CRITICAL,
                "Order not placed",
                f"{order.order_id} proved absent after {order.submit_attempts} sends; "
                "not sending again without a person deciding",
                key=f"attempts:{order.order_id}",
                order_id=order.order_id,
            )
            return False
        now = self.clock.now()
        outcome = await self.recorder.decide(
            order,
            lambda o: (
                o.submit(now, algo_id=self.algo_id(o))
                if o.status is OrderStatus.SUBMIT_UNKNOWN
                else []
            ),
        )
        if not outcome.events:
            return False
        log.info("re-sending %s after proven absence", order.order_id)
        await self.send(order)
        return True

    async def close(self) -> None:
        """Stop every resolver (orders stay unresolved in the log; the next start resumes)."""
        tasks = list(self.resolving.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Round:
    """What one resolution round remembers between its looks."""

    __slots__ = ("lookup_failed",)

    def __init__(self) -> None:
        self.lookup_failed = False


def _is_ours(report: OrderStatusReport, order: Order) -> bool:
    return matches_tag(report, order.order_id) or (
        order.broker_order_id is not None and report.broker_order_id == order.broker_order_id
    )


__all__ = ["Placement", "matches_tag"]
