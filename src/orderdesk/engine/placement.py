"""Idempotent placement: send under the client order id, and resolve what is unknown.

The order's ``OrderCreated`` and ``OrderSubmitting`` are in the log before this module is asked
to send, and the client order id travels as the broker's tag. Then:

- a broker order id back → ``accepted``;
- ``BrokerRejected`` → ``submit_rejected`` (the broker holds nothing); an ``AddressRefused``
  (the broker takes no orders from this source address) with a CRITICAL alert saying the fix,
  a ``HoldingsNotAuthorised`` (a sale of holdings the day has not authorised) with its fix;
- ``BrokerAuthError`` → ``submit_deferred``: nothing was placed, the session is gone, and the
  order waits as an intent for the same signal to send it after the login;
- ``BrokerRateLimited`` → nothing was placed: back off and send again, same id, in a task of
  the order's own (:meth:`Placement.send` returns at once, the order still ``SUBMITTING``, so a
  signal is answered while the broker rate-limits); a run of 429s is alerted once, and its end
  said under the same key. Between its sends such an order is the desk's alone: a cancel
  withdraws it (:meth:`Placement.withdraw`, CANCELLED, never sent), and so does the kill switch
  engaged since it was admitted, unless it is an exit or a protective order
  (``Placement.held_refusal``);
- anything else (``UnknownOutcome``: a reset or a timeout after sending, a 5xx; a connection
  that never opened; a bug in a transport; an adapter's answer that is no order id, not a
  non-empty str, which is never written to the log) → ``SUBMIT_UNKNOWN``, resolved by looking
  for the tag in the broker's order book.

A cancel asked while a placement is on the wire (or its outcome unknown) is carried out at the
broker once the broker's answer, or its book, shows the order (``Placement.cancel_when_found``).
One whose book proves it absent is not sent again (to be cancelled only once accepted: a market
order fills in between), nor is one the kill switch engaged since refuses (``held_refusal``):
given up as not placed, the cancel answered as asked and the switch's refusal alerted; the
broker's late report of it takes it back, and the cancel is carried out then.

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

A re-send places the order at that moment's price, so it happens only while the intent is
fresh: within ``resend_within`` of its ``OrderCreated`` and, with trading days kept, in its own
trading day and (intraday) before the broker's square-off. A restart hours later, or on the
next day, gives the absent order up as not placed instead (REJECTED, alerted, taken back should
the broker show it after all).

The alert of an unknown outcome says which of these the desk will do, and that the operator must
not place the order by hand (the desk may send it itself: that would make two). Once an order
whose unresolved placement was alerted is settled at the broker (found and bound, by whichever
path, or sent again and accepted), one alert of the severity last told says so; a give-up says
so by its own alert ("Order not placed").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from orderdesk.domain.calendar import IST, SEGMENT_OF, TradingCalendar
from orderdesk.domain.day import INTRADAY
from orderdesk.domain.events import Doubt
from orderdesk.domain.order import Order
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.status import OrderStatus
from orderdesk.domain.values import Variety
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
    QuotaExhausted,
    UnknownOutcome,
    is_throttled,
)
from orderdesk.ports.broker import Broker, PlaceOrder
from orderdesk.ports.notifier import Severity

log = logging.getLogger(__name__)

RATE_LIMIT_ALERT_AFTER = 3
"""Placements answered 429 in a row (any orders') before the desk alerts that the broker is
rate-limiting it: one 429 in a burst is the broker's rate at work, not news."""
RATE_LIMIT_ALERT_SECONDS = 5.0
"""…or seconds since the first 429 of the run, whichever comes first."""
RATE_LIMIT_ALERT_KEY = "rate_limit:placements"
"""One key for the run's alert and the one saying it ended (as the stream's ``stream``)."""
HELD_CANCELLED = "cancelled before it was sent (held back by the broker's rate limit)"
"""The reason of an order withdrawn by a cancel while the broker's 429s held it back."""
HELD_NOT_SENT = "Held-back order not sent"
"""The alert of orders held back by 429s that the desk withdrew unasked (the kill switch)."""
CANCEL_ASKED = "its cancel was asked while its placement was unresolved"
"""Why an order proven absent is not sent again: the end of its reason ("not placed: …")."""
HANDS_OFF = "Do not place it again by hand; the desk settles it and alerts when it has."
"""What every alert of an unresolved placement tells the operator: the desk itself finds the
order, or proves it absent and sends it again or gives it up, so a hand-placed copy is two."""


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
        self.sending: dict[str, asyncio.Task[None]] = {}
        """Orders the broker answered 429, each sent again by a task of its own until the broker
        takes it or ``rate_limit_give_up`` passes (whoever asked was answered meanwhile)."""
        self._awake: set[str] = set()
        """Orders of ``sending`` whose task is not waiting out the broker's rate: a send on the
        wire, or its answer being recorded. The others are withdrawable (:meth:`withdraw`)."""
        self._unwithdrawn: set[str] = set()
        """Orders whose task :meth:`withdraw` stopped but whose withdrawal the log did not take:
        still ``SUBMITTING``, never sent again by this process, and withdrawn by the next
        cancel (or the kill switch's) as a held-back one is."""
        self.held_refusal: Callable[[Order], str | None] = lambda order: None
        """Why the desk no longer sends ``order``, held back by 429s, when its turn comes (the
        kill switch engaged since it was admitted), or None: it goes. Set by the desk."""
        self._throttled: _Throttled | None = None
        """The run of 429s placements are meeting now (None: the last answer was not one)."""
        self._again: set[str] = set()
        self.cancel_when_found: set[str] = set()
        """Orders whose cancel was asked while their placement was on the wire or unresolved:
        cancelled as soon as the broker's answer or its book shows them (one held back by 429s
        meanwhile is withdrawn before its next send instead)."""
        self.settling: dict[str, asyncio.Task[None]] = {}
        """Orders whose unresolved placement the operator was told of, each watched by a task
        that alerts once it is settled."""
        self._told: dict[str, Severity] = {}
        """The severity each of those was last told at: its settled alert's."""

    # -- sending -------------------------------------------------------------------------------

    def algo_id(self, order: Order) -> str | None:
        """The exchange algo id for ``order``'s next placement attempt (None: send none)."""
        return self.config.algo_ids.for_strategy(order.signal.strategy)

    async def send(self, order: Order) -> None:
        """Place an order that is ``SUBMITTING``; returns when its outcome is recorded, or at
        once when the broker answers 429: the order, still ``SUBMITTING``, is then sent again
        by a task of its own (:meth:`_keep_sending`), so no caller waits out the broker's rate."""
        # The algo id the log says this attempt carries, so the log is what was sent.
        command = PlaceOrder(order.order_id, order.signal, algo_id=order.algo_id)
        try:
            broker_order_id = await self._place(command)
        except Exception as exc:
            if is_throttled(exc):
                await self._held_back(order, command, exc)
            else:
                await self._failed(order, exc)
        else:
            if self._throttled is not None:  # the one check the common case pays
                await self._let_through()
            await self._accepted(order, broker_order_id)

    async def _place(self, command: PlaceOrder) -> str:
        """Send ``command``: the broker's order id, or raise what the adapter raised, or
        :class:`_NotAnId` when its answer is no order id."""
        answer: object = await self.broker.place_order(command)
        if isinstance(answer, str) and answer.strip():
            # A str subclass's own text: the store's encoder refuses the subclass itself.
            return str.__str__(answer)
        # The port's type is a promise a third-party adapter can break: an id of another type
        # would be written into the log that its decoder then refuses, and the desk could not
        # start again. The request reached the broker, which may have placed the order.
        said = f"{type(answer).__name__} {_bounded_repr(answer)}"
        log.error(
            "broker adapter %r answered the placement of %s with %s, not an order id",
            self.broker.name,
            command.client_order_id,
            said,
        )
        raise _NotAnId(
            f"the broker adapter {self.broker.name!r} answered the placement with {said}, not "
            "an order id: the broker may have placed it"
        )

    async def _failed(self, order: Order, exc: Exception) -> None:
        """Record what a placement's error (anything but a 429 to send again after) says."""
        match exc:
            case QuotaExhausted():
                # The day's placements are spent: its words say so, and when they come back.
                await self._rejected(order, str(exc), Severity.WARNING)
            case BrokerRateLimited():
                # 429s for longer than the give-up.
                await self._rejected(order, f"rate limited for too long: {exc}", Severity.WARNING)
            case BrokerAuthError():
                await self._answered()
                # A refused session placed nothing: the order is an intent again, which the
                # same signal sends once a person has logged in.
                self.session.refused(f"the broker refused the session: {exc}", self.clock.now())
                await self._deferred(order, f"session refused: {exc}")
            case AddressRefused():
                await self._answered()
                # A configuration fault: not unknown (nothing was placed), never sent again.
                await self._rejected(
                    order,
                    address_fix(exc, self.broker.name),
                    Severity.CRITICAL,
                    title=ALERT_TITLE,
                    key=alert_key(exc),
                )
            case HoldingsNotAuthorised():
                await self._answered()
                instrument = order.signal.instrument
                await self._rejected(
                    order,
                    authorisation_fix(exc, instrument),
                    Severity.WARNING,
                    title=AUTHORISATION_TITLE,
                    key=authorisation_key(instrument),
                )
            case BrokerRejected():
                await self._answered()
                await self._rejected(order, str(exc), Severity.WARNING)
            # The reason is read by people (the order's row, the alert): the broker's words and
            # the doubt, not the adapter's class names.
            case AmbiguousReply():
                await self._unknown(order, str(exc), Doubt.BROKER_UNSURE)
            case _NotAnId():
                await self._answered()
                # An answer the desk cannot use is as good as none: the reply was lost.
                await self._unknown(order, str(exc), Doubt.NO_REPLY)
            case UnknownOutcome():
                await self._unknown(order, str(exc), Doubt.NO_REPLY)
            case BrokerTransportError():
                # The port's word that the request never left (a placement that may have left
                # is an UnknownOutcome): nothing can turn up late.
                await self._unknown(order, str(exc), Doubt.NO_ANSWER)
            case _:
                # A fault with no word on whether the request left: as careful as a lost reply.
                await self._unknown(order, f"{type(exc).__name__}: {exc}", Doubt.NO_REPLY)

    # -- held back by the broker's rate (429) ----------------------------------------------------

    async def _held_back(self, order: Order, command: PlaceOrder, error: Exception) -> None:
        """A 429 proves nothing was placed: hand the order to a task that sends it again under
        the same id, and return (the order stays ``SUBMITTING``)."""
        task = asyncio.get_running_loop().create_task(
            self._keep_sending(order, command, error), name=f"send-{order.order_id}"
        )
        self.sending[order.order_id] = task
        task.add_done_callback(lambda done: self._done_sending(order.order_id, done))
        await self._rate_limited()

    def _done_sending(self, order_id: str, task: asyncio.Task[None]) -> None:
        if self.sending.get(order_id) is task:
            del self.sending[order_id]

    async def _keep_sending(self, order: Order, command: PlaceOrder, error: Exception) -> None:
        try:
            broker_order_id = await self._until_let_through(order, command, error)
        except _Withheld as withheld:
            self._stop_sending(order)
            await self._withheld(order, withheld)
        except Exception as exc:
            # Out of ``sending`` first: an unknown outcome starts its resolver (resolve_later).
            self._stop_sending(order)
            await self._failed(order, exc)
        else:
            self._stop_sending(order)
            if broker_order_id is not None:
                await self._let_through()
                await self._accepted(order, broker_order_id)

    def _stop_sending(self, order: Order) -> None:
        del self.sending[order.order_id]
        self._awake.discard(order.order_id)

    async def withdraw(self, order: Order, reason: str) -> bool:
        """Withdraw ``order`` if the broker's 429s hold it back and its task is waiting to
        send it again: never sent (a 429 proves nothing was placed), recorded CANCELLED with
        ``reason``. False when it is not held so (a send of it on the wire now, or none at all):
        the caller's cancel then waits for the broker's answer (:attr:`cancel_when_found`).
        One whose withdrawal the log did not take is withdrawn by the next call."""
        order_id = order.order_id
        if order_id in self._unwithdrawn:
            self._unwithdrawn.discard(order_id)
        else:
            task = self.sending.get(order_id)
            if task is None or order_id in self._awake:
                return False
            # Between sends the task only waits out the broker's rate: stopped there, it sends
            # nothing more. Stopped before the withdrawal is written, so no send slips in during
            # the write.
            task.cancel()
            self._stop_sending(order)
        try:
            return await self._withdrawn(order, reason)
        except Exception:
            # Left SUBMITTING with no task: without this, a cancel asked again would only wait
            # for a broker answer to a send nobody makes (and the store's error is the caller's).
            self._unwithdrawn.add(order_id)
            raise

    async def _withdrawn(self, order: Order, reason: str) -> bool:
        now = self.clock.now()
        outcome = await self.recorder.decide(
            order,
            lambda o: o.withdraw(reason, now) if o.status is OrderStatus.SUBMITTING else [],
        )
        # Not before: a write that fails leaves the cancel asked and not carried out.
        self.cancel_when_found.discard(order.order_id)
        return bool(outcome.events)

    async def _withheld(self, order: Order, withheld: _Withheld) -> None:
        """The task found, before a send, that the desk no longer sends ``order``."""
        if not await self._withdrawn(order, withheld.reason) or withheld.asked:
            return  # an operator's cancel is answered as asked, not alerted
        await self.alerts.raise_(
            Severity.WARNING,
            HELD_NOT_SENT,
            f"{_named(order)} was withdrawn, never sent: {withheld.reason}.",
            key=f"withheld:{order.order_id}",
            order_id=order.order_id,
        )

    def _why_withheld(self, order: Order) -> _Withheld | None:
        """Whether the desk still sends ``order``, held back by 429s, now that its turn came."""
        if order.order_id in self.cancel_when_found:
            return _Withheld(HELD_CANCELLED, asked=True)
        refusal = self.held_refusal(order)
        return None if refusal is None else _Withheld(_refused_words(refusal), asked=False)

    async def withdraw_refused(self) -> list[Order]:
        """Withdraw every order held back by 429s, waiting for its next send, that the desk no
        longer sends (:attr:`held_refusal`: the kill switch just engaged); returns them, for
        the caller to say so once. One on the wire now is checked before its next send."""
        withdrawn: list[Order] = []
        for order_id in [*self.sending, *self._unwithdrawn]:
            order = self.recorder.book.orders.get(order_id)
            if order is None or (refusal := self.held_refusal(order)) is None:
                continue
            if await self.withdraw(order, _refused_words(refusal)):
                withdrawn.append(order)
        return withdrawn

    async def _until_let_through(
        self, order: Order, command: PlaceOrder, error: Exception
    ) -> str | None:
        """Send ``command`` again until the broker answers something other than 429, or
        ``rate_limit_give_up`` seconds after ``error`` (the 429 already met) raise the last.
        None: the order stopped being sent meanwhile (its day lapsed it): nothing is sent."""
        met: Exception | None = error
        async for attempt in while_throttled(self.config):
            # Awake until the next wait (or the end): a send, or its answer, is under way.
            self._awake.add(order.order_id)
            with attempt:
                if met is not None:
                    # The first attempt is the send that met ``error``: stamina waits after it.
                    raised, met = met, None
                    self._awake.discard(order.order_id)
                    raise raised
                if order.status is not OrderStatus.SUBMITTING:
                    return None
                if (withheld := self._why_withheld(order)) is not None:
                    raise withheld
                try:
                    return await self._place(command)
                except Exception as exc:
                    if is_throttled(exc):
                        await self._rate_limited()
                        # Nothing placed: the wait that follows sends nothing, so the order
                        # may be withdrawn meanwhile.
                        self._awake.discard(order.order_id)
                    raise
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    async def _rate_limited(self) -> None:
        """Count a placement answered 429; alert once the run is long enough to be news."""
        now = self.clock.monotonic()
        run = self._throttled
        if run is None:
            run = self._throttled = _Throttled(now)
        run.hits += 1
        run.last = now
        lasted = now - run.since
        if run.alerted or (run.hits < RATE_LIMIT_ALERT_AFTER and lasted < RATE_LIMIT_ALERT_SECONDS):
            return
        run.alerted = True
        held = len(self.sending)
        await self.alerts.raise_(
            Severity.WARNING,
            "Broker rate-limiting placements",
            f"the broker has answered {run.hits} placements in a row with 429 (too many "
            f"requests) over {lasted:.0f} s. Nothing was placed by them: the desk keeps sending "
            f"the {held} order{'' if held == 1 else 's'} held back, each under its own id (never "
            "twice), until the broker takes it, and rejects one still refused after "
            f"{self.config.rate_limit_give_up:g} s. A signal sent meanwhile is answered at once "
            "with its order still SUBMITTING; sending the same signal id again is safe.",
            key=RATE_LIMIT_ALERT_KEY,
        )

    async def _answered(self) -> None:
        """The broker answered a placement with something else than a 429."""
        if self._throttled is not None:
            await self._let_through()

    async def _let_through(self) -> None:
        """A placement got past the broker's rate: the run of 429s is over (said if alerted)."""
        run, self._throttled = self._throttled, None
        if run is None or not run.alerted:
            return
        lasted = run.last - run.since
        held = len(self.sending)
        rest = (
            f"the {held} order{'' if held == 1 else 's'} still held back go"
            f"{'es' if held == 1 else ''} out as the broker takes "
            f"{'it' if held == 1 else 'them'}"
            if held
            else "no order is held back any more"
        )
        await self.alerts.raise_(
            Severity.INFO,
            "Broker no longer rate-limiting placements",
            f"the broker answered a placement without 429 after {run.hits} in a row over "
            f"{lasted:.0f} s; {rest}.",
            key=RATE_LIMIT_ALERT_KEY,
        )

    async def _accepted(self, order: Order, broker_order_id: str) -> None:
        # Binding is broker news: the stream may have told it already, or be telling it now.
        await self.news.placed(order, broker_order_id)
        await self._cancel_if_asked(order)

    async def _cancel_if_asked(self, order: Order) -> None:
        """Cancel at the broker an order whose cancel was asked while its placement was on the
        wire or unresolved, now that the broker holds it. A failed cancel is alerted by the
        command ("Cancel failed"); one refused as the order ended meanwhile is done."""
        if order.order_id not in self.cancel_when_found or not order.is_working:
            return
        self.cancel_when_found.discard(order.order_id)
        try:
            await self.commands.cancel(order)
        except Exception as error:  # alerted by the command; the placement itself stands
            log.warning("cancel of %s, asked before it was placed: %s", _named(order), error)

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

    async def interrupted(self, order: Order, reason: str) -> None:
        """A send the last process stopped in (``order`` still SUBMITTING at start-up): its
        outcome is unknown (``Doubt.INTERRUPTED``), alerted and settled as any unknown one;
        the start-up reconciliation that follows starts its look."""
        await self._unknown(order, reason, Doubt.INTERRUPTED, resolve=False)

    async def _unknown(
        self, order: Order, reason: str, doubt: Doubt, *, resolve: bool = True
    ) -> None:
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
                f"{_named(order)}: {reason}. {self._how_settled(doubt)} {HANDS_OFF}",
                key=f"unknown:{order.order_id}",
                order_id=order.order_id,
            )
            self._tell_when_settled(order, Severity.WARNING)
        if resolve:
            self.resolve_later(order)

    def _how_settled(self, doubt: Doubt) -> str:
        """What the desk does about an unknown outcome of ``doubt``, as the resolver does it:
        the alert is the operator's guide, so it must never invite a second placement."""
        fresh = f"while its intent is fresh (within {self.config.resend_within:g} s of it)"
        if doubt is Doubt.NO_ANSWER:
            return (
                "The request never left: the desk looks for the order in the broker's order "
                f"book and, proven absent, sends it again itself under the same id {fresh}, "
                "else gives it up as not placed."
            )
        window = f"{self.config.late_order_window:g} s"
        if doubt is Doubt.BROKER_UNSURE:
            return (
                f"The desk watches the broker's order book for it for {window} (it may appear "
                "late): found, it is the desk's order; not found, it is given up as not placed "
                "and never sent again, as a late order would make two."
            )
        return (
            f"The desk watches the broker's order book for it for {window} (it may appear "
            "late): found, it is the desk's order; proven absent, the desk sends it again "
            f"itself under the same id {fresh}, else gives it up as not placed."
        )

    # -- resolving -----------------------------------------------------------------------------

    def resolve_later(self, order: Order) -> None:
        """Start (once) a task that resolves ``order`` if it is unresolved."""
        if not order.is_unresolved or order.order_id in self.sending:
            # An order the broker answered 429 is not unknown: its own task is sending it,
            # and starts the resolver should that end unknown.
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
            f"lookups; reconciliation will keep trying. {HANDS_OFF}",
            key=f"unresolved:{order.order_id}",
            order_id=order.order_id,
        )
        self._tell_when_settled(order, Severity.CRITICAL)
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
        await self._give_up(
            order,
            "not placed: the broker could not tell whether it placed the order and its order "
            f"book did not show it within {window:g} s; not sent again, as a late order would "
            "make two",
        )

    async def _too_old(self, order: Order, why: str, *, alert: bool = True) -> None:
        """Give up a placement proven absent that the desk no longer sends again (``why``)."""
        waited = (
            "" if order.doubt is Doubt.NO_ANSWER else f" within {self.config.late_order_window:g} s"
        )
        await self._give_up(
            order,
            f"not placed: the broker's order book did not show it{waited}; not sent again, as "
            f"{why}",
            alert=alert,
        )

    async def _give_up(self, order: Order, reason: str, *, alert: bool = True) -> None:
        """End an unresolved placement ``REJECTED`` as not placed (``reason`` starts "not
        placed:"), alerted unless ``alert`` is False (a cancel asked, answered as asked); the
        broker's first report of it takes it back."""
        # The outcome's unknown reason, before the give-up replaces it: the broker's words when
        # it was unsure, else what kept the answer from the desk.
        answer = order.reason
        said = "The broker's answer" if order.doubt is Doubt.BROKER_UNSURE else "Unknown because"
        now = self.clock.now()
        outcome = await self.recorder.decide(
            order,
            lambda o: o.not_placed(reason, now) if o.status is OrderStatus.SUBMIT_UNKNOWN else [],
        )
        if outcome.events and alert:
            await self.alerts.raise_(
                Severity.WARNING,
                "Order not placed",
                f"{order.order_id} ({order.signal.instrument} {order.signal.side} "
                f"{order.signal.quantity}): {reason}. {said}: {answer}. Should it "
                "appear at the broker after all, the desk takes it back (as the broker holds "
                "it, nothing sent again) and alerts again.",
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
        self._tell_when_settled(order, Severity.WARNING)

    # -- telling the operator it is settled ----------------------------------------------------

    def _tell_when_settled(self, order: Order, severity: Severity) -> None:
        """The operator was told ``order``'s placement is unresolved (at ``severity``): say,
        once, when it is settled at the broker, however that comes (the resolver, the stream,
        a reconciliation), so a WARNING is never the operator's last word on it."""
        order_id = order.order_id
        if self._told.get(order_id) is not Severity.CRITICAL:
            self._told[order_id] = severity
        if order_id in self.settling:
            return
        task = asyncio.get_running_loop().create_task(
            self._when_settled(order, order.submit_attempts), name=f"settled-{order_id}"
        )
        self.settling[order_id] = task
        task.add_done_callback(lambda done: self._done_settling(order_id, done))

    def _done_settling(self, order_id: str, task: asyncio.Task[None]) -> None:
        if self.settling.get(order_id) is task:
            del self.settling[order_id]
            self._told.pop(order_id, None)

    async def _when_settled(self, order: Order, attempts: int) -> None:
        """Wait for ``order`` to leave the unresolved states, then say how it was settled
        (``attempts``: its sends when the operator was told, to tell a re-send apart)."""
        # A changed event is taken with no await after the check, so no change slips between.
        while order.is_unresolved and self.recorder.book.orders.get(order.order_id) is order:
            await self.recorder.changed(order.order_id).wait()
        if order.is_unresolved:
            return  # out of memory (a new day): its day's end says what became of it
        severity = self._told.get(order.order_id, Severity.WARNING)
        body = _settled_words(order, resent=order.submit_attempts > attempts)
        if body is None:
            return  # given up, refused or lapsed: that path's own alert said so
        await self.alerts.raise_(
            severity,
            "Placement outcome settled",
            body,
            key=f"settled:{order.order_id}",
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
        await self._cancel_if_asked(order)

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
        if order.order_id in self.cancel_when_found:
            # Sent again, it would be cancelled only once accepted: a market order fills in
            # between. Left in cancel_when_found, so one the broker shows after all is taken
            # back and cancelled then.
            await self._too_old(order, CANCEL_ASKED, alert=False)
            return False
        refusal = self.held_refusal(order)
        if refusal is not None:
            # The kill switch engaged since it was admitted: a re-send is a new placement to
            # the broker, refused as a held-back send is.
            await self._too_old(order, refusal)
            return False
        late = self._too_late(order)
        if late is not None:
            await self._too_old(order, late)
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
            self._tell_when_settled(order, Severity.CRITICAL)
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
        if (sending := self.sending.get(order.order_id)) is not None:
            # Held back by 429s: its outcome decides whether to look again. Waited, not
            # awaited: a withdrawal stops that task, which is no reason to stop this one.
            await asyncio.wait({sending})
        return True

    def _too_late(self, order: Order) -> str | None:
        """Why ``order``, proven absent, is no longer sent again (None: it still is). A re-send
        places it at this moment's price, for a strategy that asked at another: only a fresh
        intent is the strategy's still."""
        now = self.clock.now()
        rules = self.config.days
        if rules is not None:
            past = _past_its_day(order, rules.calendar, now)
            if past is not None:
                return past
        age = (now - order.created_at).total_seconds()
        within = self.config.resend_within
        if age <= within:
            return None
        return (
            f"its intent was {_age(age)} old (a placement is sent again only within {within:g} s "
            "of its intent: [engine] resend_within_seconds)"
        )

    async def close(self) -> None:
        """Stop every resolver, every send held back by 429s and every wait to say an order
        settled (orders stay unresolved in the log; the next start resumes them as sends the
        desk stopped in)."""
        tasks = [*self.sending.values(), *self.resolving.values(), *self.settling.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _NotAnId(Exception):
    """Raised for a placement the adapter answered with something other than a non-empty str."""


class _Withheld(Exception):
    """Raised in a held order's task, in place of a send the desk no longer makes."""

    def __init__(self, reason: str, *, asked: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.asked = asked
        """By an operator's (or the desk's) cancel, answered as asked; else alerted."""


class _Throttled:
    """A run of placements answered 429: since when (monotonic), how many, whether alerted."""

    __slots__ = ("alerted", "hits", "last", "since")

    def __init__(self, since: float) -> None:
        self.since = since
        self.last = since
        self.hits = 0
        self.alerted = False


class _Round:
    """What one resolution round remembers between its looks."""

    __slots__ = ("lookup_failed",)

    def __init__(self) -> None:
        self.lookup_failed = False


def _past_its_day(order: Order, calendar: TradingCalendar, now: datetime) -> str | None:
    """Why the trading day no longer takes ``order`` (None: it does): the day it was made for
    is over, or it is intraday and its segment's square-off has passed (the broker refuses it
    until the next day, as the risk check ``SquareOffCutoff`` does a new one)."""
    signal = order.signal
    amo = signal.variety is Variety.AMO
    # An AMO made after the close is for the next session: that is the day it was made for.
    segment = SEGMENT_OF[signal.instrument.exchange]
    made = order.created_at
    day = calendar.session_of(made, segment) if amo else calendar.trading_day_of(made)
    if day < calendar.trading_day_of(now):
        return f"it was made for trading day {day}, which is over"
    if amo or (signal.product not in INTRADAY and signal.variety is not Variety.CO):
        return None
    cutoff = calendar.square_off_passed(signal.instrument.exchange, now)
    if cutoff is None:
        return None
    return (
        f"{signal.product} orders are refused after the broker's square-off at "
        f"{cutoff.astimezone(IST):%H:%M} IST ({segment})"
    )


ANSWER_SHOWN = 80
"""The characters of an adapter's bad answer that its alert, log line and reason show."""


def _bounded_repr(value: object) -> str:
    """``repr(value)`` cut to :data:`ANSWER_SHOWN` characters, for words about an adapter's
    answer (whatever it is: its repr may be huge, or raise)."""
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<repr failed: {type(exc).__name__}>"
    return text if len(text) <= ANSWER_SHOWN else f"{text[: ANSWER_SHOWN - 1]}…"


def _refused_words(refusal: str) -> str:
    """The reason of an order held back by 429s that the desk withdrew for ``refusal``."""
    return f"{refusal}; the broker's rate limit (429) had held it back"


def _named(order: Order) -> str:
    """An order as an alert names it: its id and what it buys or sells."""
    signal = order.signal
    return f"{order.order_id} ({signal.instrument} {signal.side} {signal.quantity})"


def _settled_words(order: Order, *, resent: bool) -> str | None:
    """How an alerted unknown outcome ended, for the operator; None when it ended not placed
    (given up, refused, lapsed), which its own alert says, but for a cancel asked meanwhile."""
    what = _named(order)
    if order.broker_order_id is not None:
        status = f"{order.broker_order_id}, {order.status}"
        if resent:
            return (
                f"{what} was proven absent from the broker's order book, sent again by the desk "
                f"under the same id, and accepted as {status}. It is tracked as any order; "
                "do not place it again."
            )
        return (
            f"{what} is at the broker as {status}: found under its tag and bound, nothing sent "
            "again. It is tracked as any order; do not place it again."
        )
    if order.given_up and order.reason is not None and order.reason.endswith(CANCEL_ASKED):
        # The one give-up not alerted on its own ("Order not placed"): the cancel was asked.
        return (
            f"{what} was proven absent from the broker's order book and not sent again, as its "
            "cancel was asked meanwhile: it ends not placed. Should the broker show it after "
            "all, the desk takes it back and cancels it."
        )
    if order.deferred:
        return (
            f"{what} was proven absent from the broker's order book and not placed: sending it "
            f"again met a refused session ({order.reason}). It is an intent again, sent by its "
            "signal once someone has logged in."
        )
    return None


def _age(seconds: float) -> str:
    """An intent's age in words: seconds when short, else minutes."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} minutes"


def _is_ours(report: OrderStatusReport, order: Order) -> bool:
    return matches_tag(report, order.order_id) or (
        order.broker_order_id is not None and report.broker_order_id == order.broker_order_id
    )


__all__ = ["HELD_CANCELLED", "HELD_NOT_SENT", "Placement", "matches_tag"]
