"""Approval mode: signals of some strategies wait for an operator before they reach the desk.

:class:`ApprovalQueue` sits in front of the desk's ``submit``. A signal whose strategy has
``approval = true`` in its ``[strategies.<name>]`` section is first screened by the desk (its
risk checks, as for any signal: a denial is refused at once, never parked) and then parked as
a :class:`PendingSignal`; the operator approves it (then it is submitted, exactly once, and
checked again against the desk as it is then) or rejects it, from the dashboard or
``orderdesk pending``.

A parked signal lapses (``EXPIRED``, its reason in words) at the first moment it can no longer
be placed as it was asked, all of them read on the desk's clock (``clock.now()``, the time the
expiry is shown in; never the monotonic clock, which the simulator's clock does not move and a
laptop's suspend stops): the strategy's ``approval_ttl_seconds``; for MIS/CO, the broker's
square-off of its segment (after which the desk refuses fresh MIS/CO orders); for anything but
an AMO, its market's close; for an AMO sent before its day's open, that open (it is for that
session: placed later, the broker would hold it for the next one); and the close of its
trading day (the desk's ``DayClosed``), after which an order would count into a closed day. A
stale trading decision must not execute hours later because somebody clicked "approve" on an
old screen. A signal that could no longer be placed when it arrives is refused rather than
parked.

Lapses happen on a timer while something is parked (an operator need not look), and are
checked again whenever the queue is read or acted on, so an approval after the shown expiry is
refused, never placed. Each lapse, and each signal dropped when the desk stops, is written to
the audit log as an ``OperatorCommandHandled`` (operator ``desk``, command ``lapse``), the event
approvals and rejections are recorded with. Each parked signal is alerted when it parks and,
should it lapse, again then, naming it and why (the signals dropped when the desk stops, in one
alert): an operator told a signal waits is told when it no longer does.

A decision that closes a signal id (approved and placed, rejected, lapsed, dropped when the
desk stopped) is also written as an ``ApprovalDecided`` (strategy, signal id, decision, reason),
and the queue started by the next desk reads them back (:func:`decisions_in`): a signal id is
closed for good, as an order's signal id is, so the same (strategy, signal id) sent again on
any later day, after any number of restarts, is answered as it was before: a 409 naming the
decision, or, once approved, the order it placed (the desk's own idempotency). A signal the
desk refused when it was approved placed nothing and closes nothing: its id stays free. One
refused because the desk could not place anything then (no broker session, the day not open
yet) is not decided at all: it stays parked, and the same approval works once it can.

Parking is in the log too (``SignalParked``, committed before the strategy is answered), and so
is every parked signal's end (an ``ApprovalDecided``; one the desk refused when approved as
``FAILED``, closing nothing). A desk that stopped without a clean stop (killed, crashed) left
its parked signals without an end: the queue started next on the log (:func:`parks_in`) decides
each ``EXPIRED`` as the clean stop does, writes its lapse, and names them in one alert, so a
signal the operator was told waits never vanishes unsaid, and its id sent again is a 409.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from orderdesk.config import StrategySettings
from orderdesk.domain.calendar import IST, SEGMENT_OF, Segment, TradingCalendar, as_ist
from orderdesk.domain.day import INTRADAY
from orderdesk.domain.errors import OrderDeskError
from orderdesk.domain.events import ApprovalDecided, SignalParked
from orderdesk.domain.ids import client_order_id
from orderdesk.domain.order import Order
from orderdesk.domain.signal import Signal, differing_terms
from orderdesk.domain.values import Variety
from orderdesk.engine.errors import DayNotOpen, SessionExpired, SignalIdReused
from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.ports.notifier import Alert, Notifier, Severity
from orderdesk.ports.store import EventStore

Submit = Callable[[Signal], Awaitable[Order]]
Screen = Callable[[Signal], Awaitable[None]]
"""Raises what the desk's ``submit`` would refuse the signal with, placing nothing."""
Record = Callable[[str, str, str, str], Awaitable[None]]
"""Writes one ``OperatorCommandHandled`` (operator, command, outcome, params): the desk's
``record_command``."""
Decided = Callable[[ApprovalDecided | SignalParked], Awaitable[None]]
"""Writes one parking or decision to the desk's log, committed when it returns (its recorder's
``desk_event``)."""
DayCloses = Callable[[date, Segment], datetime]
"""When the desk closes a trading day (its ``DayClosed``) once an order of a segment is in its
book: the engine's ``days.close_with``."""

TRY_AGAIN: tuple[type[Exception], ...] = (SessionExpired, DayNotOpen)
"""The desk's refusals that placed and recorded nothing and ask for the same request again
(a login, the day's opening): an approval refused so leaves its signal parked."""

LEFT_BY_A_CRASH = "the desk stopped before a decision (it was not running)"
"""Why a signal the last desk parked, and stopped without deciding and without a clean stop,
lapsed: found by the next desk's queue as it starts."""

LAPSE_CHECK_SECONDS = 1.0
"""How often, while something is parked, the queue looks at the desk's clock for lapses."""

log = logging.getLogger(__name__)


def ist_moment(when: datetime) -> str:
    """``Tue 08 Dec 09:17:33 IST``: a parked signal's expiry may fall on another day than
    today, so it is never shown as a time alone."""
    return f"{as_ist(when):%a %d %b %H:%M:%S} IST"


class ApprovalState(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    """Submitted to the desk; ``order_id`` names the order."""
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    """Lapsed before a decision (``reason`` says why), or dropped when the desk stopped."""
    FAILED = "FAILED"
    """Approved, but the desk refused it (risk check, kill switch…); ``reason`` says why.
    Nothing was placed, so its signal id is free: sent again, it is checked afresh."""


_ENDED = {
    ApprovalState.APPROVED: "was approved",
    ApprovalState.REJECTED: "was rejected",
    ApprovalState.EXPIRED: "lapsed unapproved",
    ApprovalState.FAILED: "was refused by the desk when approved",
}
"""How a parked signal's story ended, in words (never the state's name: "was failed")."""


@dataclass(slots=True)
class PendingSignal:
    """One signal awaiting (or having had) an operator's decision."""

    approval_id: str
    signal: Signal
    received_at: datetime
    expires_at: datetime
    """When it lapses, on the desk's clock: the first of its limits (see the module)."""
    lapses_because: str
    """Why it lapses at ``expires_at``, in words; its ``reason`` once it has."""
    state: ApprovalState = ApprovalState.PENDING
    decided_at: datetime | None = None
    reason: str | None = None
    order_id: str | None = None
    settled: asyncio.Event = field(default_factory=asyncio.Event, repr=False, compare=False)
    """Set once the story ends: rejected, lapsed, or approved and then submitted (``order_id``)
    or refused by the desk (``FAILED``)."""


@dataclass(frozen=True, slots=True)
class _Limit:
    """A moment after which a parked signal can no longer be placed as it was asked."""

    at: datetime
    reason: str


class ApprovalNotFound(OrderDeskError, LookupError):
    """No signal with this approval id is known (or it has left the history)."""

    def __init__(self, approval_id: str) -> None:
        super().__init__(f"no pending signal {approval_id!r}")
        self.approval_id = approval_id


class ApprovalClosed(OrderDeskError):
    """The signal was already decided, or it expired, so it cannot be decided again."""

    def __init__(
        self, approval_id: str, state: ApprovalState, *, message: str | None = None
    ) -> None:
        super().__init__(message or f"signal {approval_id} is {state.value.lower()}, not pending")
        self.approval_id = approval_id
        self.state = state


class TooLateToPark(OrderDeskError):
    """A signal of an approval strategy that could no longer be placed as asked when it
    arrived (its market closed, its trading day over): refused, not parked; nothing placed."""

    def __init__(self, signal: Signal, reason: str) -> None:
        super().__init__(
            f"{_signal_words(signal)} was not parked for approval: {reason}; nothing was "
            "placed (send it again when it can be placed)"
        )
        self.reason = reason


class NotApproved(OrderDeskError):
    """A parked signal ended without an order: rejected, lapsed, or refused by the desk when
    approved; ``state`` and ``reason`` say which."""

    def __init__(self, item: PendingSignal) -> None:
        super().__init__(
            f"signal {item.approval_id} was not placed: it {_ENDED[item.state]}"
            + (f" ({item.reason})" if item.reason else "")
        )
        self.approval_id = item.approval_id
        self.state = item.state
        self.reason = item.reason


class SignalDecided(ApprovalClosed):
    """A parked signal sent again after it was rejected or lapsed (in this desk's run or an
    earlier one's): it waits for no one, and the same id will not be parked again (a new
    signal needs a new id)."""

    def __init__(
        self,
        signal_id: str,
        approval_id: str,
        state: ApprovalState,
        reason: str | None,
        *,
        on: date | None = None,
    ) -> None:
        """``on``: the day it was decided, when that is not today."""
        why = f": {reason}" if reason else ""
        when = f" on {on:%a %d %b %Y}" if on is not None else ""
        super().__init__(
            approval_id,
            state,
            message=f"signal {signal_id!r} {_ENDED[state]}{when} "
            f"({approval_id}{why}); a new signal needs a new id",
        )


def _closed(item: PendingSignal) -> ApprovalClosed:
    """The refusal of a decision on ``item``, which is no longer pending."""
    if item.state is ApprovalState.EXPIRED:
        return ApprovalClosed(
            item.approval_id,
            item.state,
            message=f"signal {item.approval_id} lapsed unapproved at "
            f"{ist_moment(min(item.decided_at or item.expires_at, item.expires_at))} "
            f"({item.reason}): nothing was "
            "placed; its strategy must send a new signal",
        )
    if item.state is ApprovalState.FAILED:
        return ApprovalClosed(
            item.approval_id,
            item.state,
            message=f"signal {item.approval_id} {_ENDED[item.state]} ({item.reason}): nothing "
            "was placed; its strategy may send it again, under the same id, to be checked afresh",
        )
    return ApprovalClosed(item.approval_id, item.state)


def _same_signal(item: PendingSignal, signal: Signal) -> None:
    """Refuse ``signal`` if its id parked another signal, as the desk refuses it once the parked
    one is approved (:class:`SignalIdReused`): answered with the parked one, it would silently
    never be placed."""
    if item.signal == signal:
        return
    differing = differing_terms(item.signal, signal)
    assert signal.signal_id is not None  # looked up by it
    raise SignalIdReused(
        client_order_id(signal.strategy, signal.signal_id), signal.signal_id, differing
    )


def _signal_words(signal: Signal) -> str:
    return f"{signal.strategy}: {_terms(signal)}"


def _terms(signal: Signal) -> str:
    return f"{signal.side} {signal.quantity} {signal.instrument}"


def _words(item: PendingSignal) -> str:
    """A parked signal as an alert names it."""
    return f"{_signal_words(item.signal)} ({item.approval_id})"


def _intraday(signal: Signal) -> bool:
    """MIS/CO: what the broker squares off, and the desk refuses after the square-off (the
    desk's ``SquareOffCutoff`` check reads a signal the same way)."""
    return signal.product in INTRADAY or signal.variety is Variety.CO


class ApprovalQueue:
    """Parks signals of strategies that need approval; passes the others straight through."""

    def __init__(
        self,
        submit: Submit,
        strategies: Mapping[str, StrategySettings],
        *,
        screen: Screen,
        clock: Clock | None = None,
        notifier: Notifier | None = None,
        history: int = 200,
        calendar: TradingCalendar | None = None,
        day_closes: DayCloses | None = None,
        record: Record | None = None,
        decided: Decided | None = None,
        decided_before: Iterable[ApprovalDecided] = (),
        parked_before: Iterable[SignalParked] = (),
        placed: Callable[[str], bool] = lambda order_id: False,
        check_every: float = LAPSE_CHECK_SECONDS,
    ) -> None:
        """``calendar``: the desk's trading days (None: it keeps none, and only the approval
        window limits a parked signal). ``day_closes``: when the desk closes a day holding the
        signal's segment (None: at its segment's mass cancel, the exchange's end of the day,
        which the desk closes after). ``record``: where lapses are written for the audit log
        (None: nowhere). ``decided``: where parkings and decisions are written (None: nowhere,
        and a restarted desk parks a closed id again and misses what was left parked).
        ``decided_before``: those decisions as the log holds them (:func:`decisions_in`),
        answered as this queue's own. ``parked_before``: the signals parked in the log
        (:func:`parks_in`); one of them without a decision in ``decided_before`` was dropped by
        a desk that did not stop cleanly, and is decided now (written and alerted on the loop,
        or by the first call that awaits); ``placed``: whether the desk holds an order of that
        id (one approved and placed just before the stop, its decision unwritten, is decided
        approved, not dropped)."""
        self._submit = submit
        self._screen = screen
        self._strategies = dict(strategies)
        self._clock: Clock = clock or SystemClock()
        self._calendar = calendar
        self._day_closes = day_closes
        self._record = record
        self._notifier = notifier
        self._history = history
        self._check_every = check_every
        self._items: OrderedDict[str, PendingSignal] = OrderedDict()
        self._by_signal: dict[tuple[str, str], str] = {}
        self._lapsed: list[tuple[str, str]] = []
        """(approval id, what lapsed and why) not yet written to the audit log (a read lapses;
        the timer writes)."""
        self._untold: list[PendingSignal] = []
        """Lapsed, not yet alerted: each was alerted when parked, so its end is alerted too."""
        self._decided = decided
        self._placed = placed
        decisions = list(decided_before)
        self._closed: dict[tuple[str, str], ApprovalDecided] = {
            (d.strategy, d.signal_id): d
            for d in decisions
            if d.signal_id is not None and d.decision != ApprovalState.FAILED
        }
        """Every signal id a decision closed, of this run and the earlier ones in the log: kept
        for good, beside the bounded history (a few words per operator decision or lapse)."""
        self._unwritten: list[ApprovalDecided | SignalParked] = []
        """Parkings and decisions not yet written to the log (a rejection is decided at once)."""
        self._writing = asyncio.Lock()
        self._writes: set[asyncio.Task[None]] = set()
        self._watch: asyncio.Task[None] | None = None
        ended = {d.approval_id for d in decisions}
        self._left: list[str] = [
            words
            for parked in parked_before
            if parked.approval_id not in ended and (words := self._drop_left(parked)) is not None
        ]
        """The signals the last desk left parked without an end, in words, not yet alerted."""
        if self._unwritten:
            self._spawn(self._lapse_due())

    def needs_approval(self, signal: Signal) -> bool:
        policy = self._strategies.get(signal.strategy)
        return policy is not None and policy.approval

    async def submit(self, signal: Signal) -> Order | PendingSignal:
        """Submit now, or park the signal when its strategy asks for approval.

        A signal to be parked is screened first, so one the desk would deny (over a limit,
        kill switch engaged…) is refused now with the desk's own error rather than waiting
        for an operator only to be refused at the approval; one that could no longer be placed
        as asked (its market closed, its day over) is refused with :class:`TooLateToPark`.
        """
        if not self.needs_approval(signal):
            return await self._submit(signal)
        await self._lapse_due()
        again = await self._sent_again(signal)
        if again is not None:
            return again
        await self._screen(signal)
        # The screen awaited the desk: the same signal, sent meanwhile, may be parked by now.
        again = await self._sent_again(signal)
        if again is not None:
            return again
        item = self._park(signal)
        self._unwritten.append(
            SignalParked(
                at=item.received_at,
                approval_id=item.approval_id,
                strategy=signal.strategy,
                signal_id=signal.signal_id,
                terms=_terms(signal),
                expires_at=item.expires_at,
            )
        )
        # Committed before the strategy hears "parked" (and the phone "awaiting approval"):
        # a desk killed after it is found holding this signal by the next one.
        await self.recorded()
        # Keyed per signal rather than exempt from the throttle: each parked signal waits for a
        # decision of its own, so a shared key's cap (3 in 5 min) dropped the fourth, which then
        # lapsed unseen; its own key keeps the throttle's de-duplication. Bounded all the same:
        # one alert when parked and at most one when it lapses, per signal a strategy sent.
        await self._warn(
            "Signal awaiting approval",
            f"{_words(item)}, expires {ist_moment(item.expires_at)}",
            key=f"approval_pending:{item.approval_id}",
        )
        return item

    async def _sent_again(self, signal: Signal) -> Order | PendingSignal | None:
        """What ``signal`` gets when it was parked before: the same signal sent twice (a
        strategy retrying) waits once, like the desk's own idempotency for placed orders.
        None: it was not."""
        if signal.signal_id is None:
            return None
        key = (signal.strategy, signal.signal_id)
        known = self._by_signal.get(key)
        if known is not None and known in self._items:
            item = self._items[known]
            if item.state is ApprovalState.PENDING:
                _same_signal(item, signal)
                # Its parking may still be on its way to the log: answered once it is there.
                await self.recorded()
                return item
            if item.state is ApprovalState.APPROVED:
                return await self._submit(signal)  # the desk answers with its order
            if item.state is not ApprovalState.FAILED:
                raise SignalDecided(
                    signal.signal_id,
                    item.approval_id,
                    item.state,
                    item.reason,
                    on=self._other_day(item.decided_at or item.expires_at),
                )
        closed = self._closed.get(key)
        if closed is None:
            return None
        state = ApprovalState(closed.decision)
        if state is ApprovalState.APPROVED:
            return await self._submit(signal)  # the desk answers with its order, of any day
        raise SignalDecided(
            signal.signal_id,
            closed.approval_id,
            state,
            closed.reason,
            on=self._other_day(closed.at),
        )

    def _other_day(self, at: datetime) -> date | None:
        """The day of ``at``, when it is not today: a decision is named by its day (in this
        run as after a restart) unless it was taken today."""
        day = as_ist(at).date()
        return day if day != as_ist(self._clock.now()).date() else None

    def _park(self, signal: Signal) -> PendingSignal:
        now = self._clock.now()
        first = min(self._limits(signal, now), key=lambda limit: limit.at)
        if first.at <= now:
            raise TooLateToPark(signal, first.reason)
        item = PendingSignal(
            approval_id="ap" + secrets.token_hex(6),
            signal=signal,
            received_at=now,
            expires_at=first.at,
            lapses_because=first.reason,
        )
        self._items[item.approval_id] = item
        if signal.signal_id is not None:
            self._by_signal[(signal.strategy, signal.signal_id)] = item.approval_id
        self._trim()
        self._keep_watch()
        return item

    def _limits(self, signal: Signal, received: datetime) -> list[_Limit]:
        """Every moment after which ``signal``, received at ``received``, can no longer be
        placed as it was asked."""
        ttl = self._strategies[signal.strategy].approval_ttl_seconds
        window = _Limit(received + timedelta(seconds=ttl), f"not approved within {ttl:g} s")
        if self._calendar is None:
            return [window]
        day = self._calendar.trading_day_of(received)
        return [window, *self._day_limits(self._calendar, signal, day, received)]

    def _day_limits(
        self, calendar: TradingCalendar, signal: Signal, day: date, received: datetime
    ) -> list[_Limit]:
        """The limits the trading ``day`` sets ``signal``, received at ``received``, on its
        exchange's clock."""
        segment = SEGMENT_OF[signal.instrument.exchange]
        if signal.variety is Variety.AMO:
            opens = datetime.combine(day, calendar.market_hours(day, segment)[0], tzinfo=IST)
            if received < opens:
                # Sent before its day's open, an AMO is for that open: approved after it, the
                # broker would hold it for the next day's, and it would fill a day late.
                return [
                    _Limit(
                        opens,
                        f"it was for the open of its market ({segment}) at {opens:%H:%M} IST "
                        f"on {day:%a %d %b}",
                    )
                ]
            # Sent after the close, as it usually is, an AMO is for the next session: it can
            # be placed until its trading day ends.
            ends = calendar.next_start_after(calendar.starts_at(day))
            return [
                _Limit(ends, f"its trading day {day:%a %d %b} ended at {as_ist(ends):%H:%M} IST")
            ]
        # Outside market hours the broker takes only AMOs ("Markets are closed").
        closes = datetime.combine(day, calendar.market_hours(day, segment)[1], tzinfo=IST)
        limits = [
            self._day_close(calendar, day, segment),
            _Limit(
                closes, f"its market ({segment}) closed at {closes:%H:%M} IST on {day:%a %d %b}"
            ),
        ]
        if _intraday(signal):
            cutoff = calendar.square_off_at(day, segment)
            limits.append(
                _Limit(
                    cutoff,
                    f"the broker's MIS/CO square-off ({segment}) came at {cutoff:%H:%M} IST, "
                    "after which no fresh MIS/CO order is taken that day",
                )
            )
        return limits

    def _day_close(self, calendar: TradingCalendar, day: date, segment: Segment) -> _Limit:
        """The end of ``day`` for a signal of ``segment``: the desk's close (``DayClosed``) of
        a book holding that segment, after which an order would count into a closed day (a
        commodity signal parked at 16:10 waits for the evening, as the close would once the
        order is placed), or, without it, the exchange's mass cancel, which the desk closes
        after."""
        if self._day_closes is not None:
            closes = as_ist(self._day_closes(day, segment))
            return _Limit(
                closes, f"the desk closed trading day {day:%a %d %b} at {closes:%H:%M} IST"
            )
        ends = calendar.mass_cancel_at(day, segment)
        return _Limit(ends, f"trading day {day:%a %d %b} ended at {ends:%H:%M} IST")

    def pending(self) -> list[PendingSignal]:
        """Signals still waiting, oldest first."""
        self._expire()
        return [item for item in self._items.values() if item.state is ApprovalState.PENDING]

    def recent(self) -> list[PendingSignal]:
        """Every signal the queue remembers (pending and decided), oldest first."""
        self._expire()
        return list(self._items.values())

    def get(self, approval_id: str) -> PendingSignal:
        self._expire()
        item = self._items.get(approval_id)
        if item is None:
            raise ApprovalNotFound(approval_id)
        return item

    async def approve(self, approval_id: str) -> Order:
        """Submit the parked signal; the desk's refusals propagate (and are recorded), but one
        that placed nothing and asks for the same request again (:data:`TRY_AGAIN`) leaves it
        parked, undecided. One past its expiry lapses now and is refused
        (:class:`ApprovalClosed`), never placed."""
        await self._lapse_due()
        item = self._open(approval_id)
        # Decided before the await, so a second click while the desk works cannot submit twice.
        self._decide(item, ApprovalState.APPROVED)
        try:
            order = await self._submit(item.signal)
        except TRY_AGAIN:
            # Nothing was placed or recorded, and the desk asks for the same request again
            # (after a login): the operator's approval is not used up by it. Still parked, it
            # lapses as before, so the timer runs again (it stops while nothing is pending).
            item.state = ApprovalState.PENDING
            item.decided_at = None
            self._keep_watch()
            raise
        except Exception as exc:
            item.state = ApprovalState.FAILED
            item.reason = str(exc)
            self._free(item)
            # Its end is in the log, closing nothing: the next desk does not take it for one
            # left parked.
            self._unwritten.append(self._decision(item))
            await self.recorded()
            raise
        else:
            item.order_id = order.order_id
            self._close(item)
        finally:
            if item.state is not ApprovalState.PENDING:
                item.settled.set()
        await self.recorded()
        return order

    def reject(self, approval_id: str, reason: str = "") -> PendingSignal:
        """Decide against the parked signal, at once; its record is written on the loop (a
        caller that must answer after it is in the log awaits :meth:`recorded`)."""
        item = self._open(approval_id)
        self._decide(item, ApprovalState.REJECTED)
        item.reason = reason or "rejected by the operator"
        item.settled.set()
        self._close(item)
        self._write_soon()
        return item

    async def recorded(self) -> None:
        """Return once every decision and lapse so far is written to the log (or its write
        failed, which is logged: the decision stands in this run)."""
        await self._write_records()

    async def wait(self, approval_id: str) -> PendingSignal:
        """Wait until the parked signal's story ends (see :attr:`PendingSignal.settled`).

        For strategy code that embeds the desk (:meth:`orderdesk.runtime.Runtime.submit`),
        while the operator decides on the dashboard or with ``orderdesk pending``; a signal
        nobody decides lapses at its expiry, on the queue's timer.
        """
        item = self.get(approval_id)
        await item.settled.wait()
        return item

    async def close(self) -> None:
        """The desk stops. Parked signals are not taken up by the next desk, so each ends
        ``EXPIRED`` (a waiter is told, the audit log says so, its id is closed as a lapse's is)
        and one alert names them: their strategies send them again, under new ids, to the next
        desk, and nobody approves a signal that is gone."""
        await self._stop_watch()
        await self._lapse_due()
        dropped = self.pending()
        for item in dropped:
            # Told below, all in one alert.
            self._lapse(item, "the desk stopped before a decision", tell=False)
        await self._write_records()
        if self._writes:
            await asyncio.gather(*self._writes)
        if dropped:
            await self._warn(
                "Parked signals dropped",
                f"the desk stopped with {len(dropped)} signal(s) awaiting approval: "
                f"{', '.join(map(_words, dropped))}; their strategies must send them again "
                "under new ids",
                key="approval_dropped",
            )

    async def _warn(self, title: str, body: str, *, key: str) -> None:
        if self._notifier is not None:
            await self._notifier.notify(
                Alert(severity=Severity.WARNING, title=title, body=body, key=key)
            )

    def _open(self, approval_id: str) -> PendingSignal:
        item = self.get(approval_id)
        if item.state is not ApprovalState.PENDING:
            raise _closed(item)
        return item

    def _decide(self, item: PendingSignal, state: ApprovalState) -> None:
        item.state = state
        item.decided_at = self._clock.now()

    def _decision(self, item: PendingSignal) -> ApprovalDecided:
        signal = item.signal
        return ApprovalDecided(
            at=item.decided_at or self._clock.now(),
            approval_id=item.approval_id,
            strategy=signal.strategy,
            signal_id=signal.signal_id,
            decision=item.state.value,
            reason=item.reason or "",
            order_id=item.order_id,
        )

    def _close(self, item: PendingSignal) -> None:
        """``item``'s decision closes its signal id for good (approved and placed, rejected,
        lapsed): answered so from now on, and after a restart once it is in the log."""
        decided = self._decision(item)
        if decided.signal_id is not None:
            # Without an id there is nothing to close: one sent again is a new signal.
            self._closed[(decided.strategy, decided.signal_id)] = decided
        self._unwritten.append(decided)

    def _drop_left(self, parked: SignalParked) -> str | None:
        """Decide ``parked``, which the last desk left without an end, as the clean stop decides
        what waits (:meth:`close`); its words, for the alert. One the desk holds an order of
        was approved and placed before the stop could write so: decided approved (None: no
        alert), as dropped its id would be closed and a strategy told to send it again could
        place a second order."""
        placed = None
        if parked.signal_id is not None:
            order_id = client_order_id(parked.strategy, parked.signal_id)
            placed = order_id if self._placed(order_id) else None
        decided = ApprovalDecided(
            at=self._clock.now(),
            approval_id=parked.approval_id,
            strategy=parked.strategy,
            signal_id=parked.signal_id,
            decision=(ApprovalState.EXPIRED if placed is None else ApprovalState.APPROVED).value,
            reason=LEFT_BY_A_CRASH if placed is None else "",
            order_id=placed,
        )
        if parked.signal_id is not None:
            self._closed[(parked.strategy, parked.signal_id)] = decided
        self._unwritten.append(decided)
        if placed is not None:
            return None
        words = f"{parked.strategy}: {parked.terms}"
        self._lapsed.append((parked.approval_id, f"{words} lapsed unapproved ({LEFT_BY_A_CRASH})"))
        return f"{words} ({parked.approval_id})"

    def _write_soon(self) -> None:
        """Write what is decided on a task of its own, for a caller that cannot await (without
        a running loop, the next write or :meth:`close` writes it)."""
        self._spawn(self.recorded())

    def _spawn(self, work: Coroutine[None, None, None]) -> None:
        """Run ``work`` (a write) on a task :meth:`close` awaits; without a running loop, the
        next call that awaits does it instead."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            work.close()
            return
        task = loop.create_task(work, name="approvals.record")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    def _free(self, item: PendingSignal) -> None:
        """Forget that ``item``'s signal id was parked (nothing was placed for it, or it left
        the history): sent again, it is checked and parked anew unless a decision closed it
        (``_closed``). The id of a signal parked again since is left to that one."""
        signal_id = item.signal.signal_id
        key = (item.signal.strategy, signal_id or "")
        if signal_id is not None and self._by_signal.get(key) == item.approval_id:
            del self._by_signal[key]

    # -- lapses ----------------------------------------------------------------------------------

    def _expire(self) -> None:
        """Lapse every pending signal whose expiry the desk's clock has reached."""
        now = self._clock.now()
        for item in self._items.values():
            if item.state is ApprovalState.PENDING and now >= item.expires_at:
                self._lapse(item, item.lapses_because)

    def _lapse(self, item: PendingSignal, reason: str, *, tell: bool = True) -> None:
        self._decide(item, ApprovalState.EXPIRED)
        item.reason = reason
        item.settled.set()
        self._close(item)
        self._lapsed.append(
            (item.approval_id, f"{_signal_words(item.signal)} lapsed unapproved ({reason})")
        )
        if tell:
            self._untold.append(item)

    async def _lapse_due(self) -> None:
        """Lapse what is due, write every lapse not yet in the audit log, and alert each."""
        self._expire()
        await self._write_records()
        await self._tell_lapses()
        await self._tell_left()

    async def _tell_left(self) -> None:
        """One alert for the signals the last desk left parked, as a clean stop gives one."""
        left, self._left = self._left, []
        if left:
            await self._warn(
                "Parked signals dropped",
                f"the desk stopped, without a clean stop, with {len(left)} signal(s) awaiting "
                f"approval: {', '.join(left)}; their strategies must send them again under "
                "new ids",
                key="approval_dropped",
            )

    async def _tell_lapses(self) -> None:
        """One alert per lapse: the operator was told the signal waits, and must not be left
        thinking it still does (nothing waiting vanishes silently)."""
        while self._untold:
            item = self._untold.pop(0)
            await self._warn(
                "Parked signal lapsed",
                f"{_words(item)} lapsed unapproved at {ist_moment(item.expires_at)} "
                f"({item.reason}): nothing was placed; its strategy must send a new signal",
                key=f"approval_lapsed:{item.approval_id}",
            )

    async def _write_records(self) -> None:
        """Write the parkings and decisions, then the lapses, not yet in the log (one writer at
        a time, so a caller returns only after a write another one started has ended)."""
        async with self._writing:
            while self._unwritten:
                decided = self._unwritten.pop(0)
                if self._decided is None:
                    continue
                try:
                    await self._decided(decided)
                except Exception:
                    # It stands in this run; a restarted desk will not know it.
                    log.exception(
                        "the %s of %s was not written", type(decided).__name__, decided.approval_id
                    )
            while self._lapsed:
                approval_id, outcome = self._lapsed.pop(0)
                if self._record is None:
                    continue
                try:
                    await self._record("desk", "lapse", outcome, approval_id)
                except Exception:
                    # The lapse stands (nothing can place the signal now); its record is lost.
                    log.exception("the lapse of %s was not written to the log", approval_id)

    def _keep_watch(self) -> None:
        """Run the lapse timer while something is parked (it ends when nothing is)."""
        if self._watch is None or self._watch.done():
            self._watch = asyncio.get_running_loop().create_task(
                self._watch_lapses(), name="approvals.lapses"
            )

    async def _watch_lapses(self) -> None:
        while any(item.state is ApprovalState.PENDING for item in self._items.values()):
            await asyncio.sleep(self._check_every)
            try:
                await self._lapse_due()
            except Exception:
                log.exception("looking for lapsed approvals failed")

    async def _stop_watch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None

    def _trim(self) -> None:
        # Forget the oldest decided signals; pending ones are kept whatever the history size.
        # The ids their decisions closed stay closed (``_closed``).
        excess = len(self._items) - self._history
        for approval_id in [
            k for k, v in self._items.items() if v.state is not ApprovalState.PENDING
        ]:
            if excess <= 0:
                break
            self._free(self._items.pop(approval_id))
            excess -= 1


def decisions_in(store: EventStore) -> list[ApprovalDecided]:
    """Every decision on a parked signal, as the log holds them, oldest first: what a queue
    started on this log answers (``decided_before``). One read of the log's index by type, at
    start-up."""
    return [
        event
        for row in store.read(kind=ApprovalDecided.__name__)
        if isinstance(event := row.event(), ApprovalDecided)
    ]


def parks_in(store: EventStore) -> list[SignalParked]:
    """Every signal parked in the log, oldest first (``parked_before``): read as
    :func:`decisions_in` is, at start-up."""
    return [
        event
        for row in store.read(kind=SignalParked.__name__)
        if isinstance(event := row.event(), SignalParked)
    ]


__all__ = [
    "LEFT_BY_A_CRASH",
    "TRY_AGAIN",
    "ApprovalClosed",
    "ApprovalNotFound",
    "ApprovalQueue",
    "ApprovalState",
    "DayCloses",
    "Decided",
    "NotApproved",
    "PendingSignal",
    "Record",
    "Screen",
    "SignalDecided",
    "Submit",
    "TooLateToPark",
    "decisions_in",
    "ist_moment",
    "parks_in",
]
