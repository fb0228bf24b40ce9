"""Kite's request-rate limits and order quotas, met on our side before Kite has to enforce them.

Kite throttles per endpoint class (quotes 1/s, historical 3/s, orders 10/s, everything else
10/s) and caps order requests per minute and per day, plus 25 modifications per order (see
KITE_API.md §9). :class:`KiteRateLimiter` holds one *lane* per endpoint class. A caller waits in
its lane until a slot is free; waiters are served strictly first come, first served, so a stream
of quote polls can never starve an order placement queued behind it in its own lane, and no
placement overtakes an earlier one.

**One limiter per process.** Kite counts request rates per api_key and order quotas per user, so
two limiters in one process would each believe they own the full budget and together exceed it.
Everything that talks to Kite with one api_key (REST client, login, reconciler, bench) must
share the instance returned by :func:`shared_limiter`. The limiter is not bound to an event loop
(it creates its wait futures per call), so the shared instance survives tests that each run
their own loop.

The guarantee: never more than N grants in any span of one second (any alignment), and never
more than ``orders_per_minute`` order grants in any span of sixty seconds. Both are sliding logs;
a fixed window would let 2N through across a boundary.

**Grant time is not arrival time.** Kite counts a request when it *arrives*, somewhere between
our grant and its reply. A request that opens a fresh TLS connection arrives later than one that
reuses a warm connection, so spacing *grants* one second apart can still put N+1 *arrivals*
inside one of Kite's seconds. Two ways to take a slot, then:

- ``async with limiter.slot(kind):`` around the HTTP exchange (what the REST client should use):
  the slot counts from when the reply came back, which is no earlier than the arrival, so the
  bound holds for arrivals whatever the latency. The (N+1)-th request waits for the first one's
  reply plus a second: the rate is N per (1 s + one round trip).
- ``await limiter.acquire(kind)``: the slot counts from the grant plus :data:`DEFAULT_MARGIN`
  for jitter. Cheaper to call, but the bound holds only while latencies differ by less than
  the margin.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum

from orderdesk.domain.calendar import IST
from orderdesk.errors import OrderRejected, QuotaExhausted

IST_OFFSET_SECONDS = int(IST.utcoffset(None).total_seconds())
"""Kite's day (for the daily order quota) is the IST calendar day: KITE_API.md says its books
start empty the next day without the hour (§14.1), so the count starts again at midnight IST.
Counted in epoch seconds here because the quota is checked on every placement."""

DEFAULT_MARGIN = 0.02
"""Seconds added to the windows of slots taken with ``acquire`` (``slot`` needs none).

It is their only protection against latency jitter, and a thin one: in bench_ratelimit on a
2-CPU box, 20 ms gave 0 429s in a burst of 100 where 0 ms gave 17–32; but once, with the box
loaded by other work, 20 ms still let 12 through. ``slot`` stayed at 0 throughout.
"""


class EndpointClass(StrEnum):
    """Kite's rate-limit buckets."""

    QUOTE = "quote"
    HISTORICAL = "historical"
    ORDER = "order"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Kite's published limits; every number is configurable because Kite has changed them."""

    quote_per_second: int = 1
    historical_per_second: int = 3
    order_per_second: int = 10
    other_per_second: int = 10
    orders_per_minute: int = 400
    orders_per_day: int = 5000
    modifications_per_order: int = 25

    def per_second(self, kind: EndpointClass) -> int:
        """The per-second limit of one endpoint class."""
        return {
            EndpointClass.QUOTE: self.quote_per_second,
            EndpointClass.HISTORICAL: self.historical_per_second,
            EndpointClass.ORDER: self.order_per_second,
            EndpointClass.OTHER: self.other_per_second,
        }[kind]


class _Entry:
    """One granted request: when it counts from (``inf`` while its reply is outstanding)."""

    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at


IN_FLIGHT = math.inf


class _SlidingLog:
    """The last ``limit`` grants; one more is allowed once the oldest is ``window`` old."""

    __slots__ = ("_entries", "limit", "window")

    def __init__(self, limit: int, window: float) -> None:
        if limit < 1:
            raise ValueError(f"a rate limit must allow at least one request, got {limit}")
        self.limit = limit
        self.window = window
        self._entries: deque[_Entry] = deque(maxlen=limit)

    def wait(self, now: float) -> float | None:
        """Seconds until a grant is allowed (<= 0: now; ``None``: when the oldest reply is in)."""
        if len(self._entries) < self.limit:
            return 0.0
        oldest = self._entries[0].at
        if oldest == IN_FLIGHT:
            return None
        # Written as "elapsed >= window" so the grant condition is the exact float expression a
        # checker of the guarantee would evaluate; "oldest + window <= now" can round the
        # other way.
        elapsed = now - oldest
        return 0.0 if elapsed >= self.window else self.window - elapsed

    def record(self, entry: _Entry) -> None:
        self._entries.append(entry)


class _DayQuota:
    """Placements counted per Kite day (the IST date); never waited on, only refused.

    This process sees only its own placements, while Kite counts the account's: orders placed
    before a restart or from Kite web spend the same cap. So each day's count also takes in the
    day's order book once (:meth:`seed`), and ``seeded`` says whether the current day's has.
    """

    __slots__ = ("count", "day", "limit", "seeded")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.day = -1
        self.count = 0
        self.seeded = False

    def exhausted(self, wall: float) -> bool:
        return self._day_of(wall) == self.day and self.count >= self.limit

    def record(self, wall: float, placements: int = 1) -> None:
        self._turn(wall)
        self.count += placements

    def seed(self, wall: float, in_book: int | None) -> None:
        self._turn(wall)
        # The book holds this process's placements too (or will: one may be in flight), so the
        # larger count is the day's, never the sum.
        if in_book is not None:
            self.count = max(self.count, in_book)
        self.seeded = True

    def seeded_on(self, wall: float) -> bool:
        return self.seeded and self._day_of(wall) == self.day

    def _turn(self, wall: float) -> None:
        day = self._day_of(wall)
        if day != self.day:
            self.day, self.count, self.seeded = day, 0, False

    @staticmethod
    def _day_of(wall: float) -> int:
        return int((wall + IST_OFFSET_SECONDS) // 86_400)


class _Lane:
    """One endpoint class: its sliding log, its backoff, and the FIFO queue of waiters.

    The turn is handed over explicitly (``busy`` + a deque of futures) rather than through an
    ``asyncio.Lock``, because a lock binds itself to the first event loop that contends it and
    the shared limiter must outlive loops (one per test).
    """

    __slots__ = ("blocked_until", "busy", "log", "replies", "waiters")

    def __init__(self, limit: int, window: float) -> None:
        self.log = _SlidingLog(limit, window)
        self.blocked_until = float("-inf")
        self.busy = False
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.replies: list[asyncio.Future[None]] = []

    async def next_reply(self) -> None:
        """Wait until some request of this lane (or the order quota) reports its reply."""
        reply: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.replies.append(reply)
        try:
            await reply
        finally:
            if reply in self.replies:
                self.replies.remove(reply)

    def replied(self) -> None:
        replies, self.replies = self.replies, []
        for reply in replies:
            if not reply.done():
                reply.set_result(None)

    async def take_turn(self) -> None:
        if not self.busy and not self.waiters:
            self.busy = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                # The turn was handed to us just as we were cancelled: pass it on.
                self.end_turn()
            elif turn in self.waiters:
                self.waiters.remove(turn)
            raise
        # end_turn() handed the turn over with ``busy`` still set, so nobody slipped in.

    def end_turn(self) -> None:
        while self.waiters:
            turn = self.waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.busy = False


class KiteRateLimiter:
    """Waits for a slot in an endpoint class; see the module docstring for the guarantees.

    ``clock`` and ``sleep`` are injectable so tests run on virtual time; ``wall`` (epoch
    seconds) only decides which IST day the daily order quota and the modification counts
    belong to. The desk's broker replaces it with the desk's clock when it starts
    (:meth:`count_days_by`), so under ``clock = "simulator"`` the day is the simulator's.

    Written by hand rather than with aiolimiter: aiolimiter is a leaky bucket, which after a
    full burst refills continuously, and measured with 100 simultaneous acquires it admitted
    19 grants inside one window where the limit was 10 (Kite would answer 429 to nine of them).
    """

    def __init__(
        self,
        limits: RateLimits,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], float] = time.time,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        if margin < 0:
            raise ValueError("margin must not be negative")
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self._margin = margin
        self._lanes = {kind: _Lane(limits.per_second(kind), 1.0) for kind in EndpointClass}
        self._minute = _SlidingLog(limits.orders_per_minute, 60.0)
        self._day = _DayQuota(limits.orders_per_day)
        self._modifications: dict[str, int] = {}
        self._modifications_day = -1
        """Orders live for a day, so their counts are forgotten with it (memory stays a
        day's, however long the process runs)."""

    async def acquire(
        self,
        kind: EndpointClass,
        *,
        modifies: str | None = None,
        cancels: str | None = None,
    ) -> None:
        """Wait for a slot in ``kind``'s lane and take it; the slot counts from now.

        ``ORDER`` requests also spend the per-minute quota. A placement (an ``ORDER`` request
        that names neither ``modifies`` nor ``cancels``) spends the daily quota too and raises
        :class:`QuotaExhausted` (a ``BrokerRateLimited`` the send path does not re-queue) at once
        when that is exhausted, instead of waiting for tomorrow. Cancellations never touch the
        daily quota, so a desk that has spent its day can still close its orders.
        ``modifies=order_id`` counts one modification of that order and raises
        :class:`OrderRejected` instead of sending one beyond Kite's limit.
        """
        await self._take(kind, modifies, cancels, _Entry(IN_FLIGHT), until_reply=False)

    @asynccontextmanager
    async def slot(
        self,
        kind: EndpointClass,
        *,
        modifies: str | None = None,
        cancels: str | None = None,
    ) -> AsyncIterator[None]:
        """Like :meth:`acquire`, but the slot counts from when the block ends (the reply).

        Wrap exactly one HTTP exchange in it. Kite cannot have counted the request later than
        its reply, so this keeps the window bound for arrivals, whatever the latency. A block
        that fails or is cancelled counts from that moment, which is just as safe.
        """
        entry = _Entry(IN_FLIGHT)
        await self._take(kind, modifies, cancels, entry, until_reply=True)
        try:
            yield
        finally:
            entry.at = self._clock()
            self._lanes[kind].replied()

    def backoff(self, kind: EndpointClass, seconds: float) -> None:
        """After a 429, grant nothing in ``kind`` for ``seconds`` (waiters keep their places)."""
        lane = self._lanes[kind]
        lane.blocked_until = max(lane.blocked_until, self._clock() + seconds)

    def count_days_by(self, wall: Callable[[], float]) -> None:
        """Tell the day of the daily quota and the modification counts by ``wall`` (epoch
        seconds) from now on: the desk's clock. A process runs one desk, whose broker calls
        this as it starts; a limiter shared with other callers follows that desk's day."""
        self._wall = wall

    def book_counted(self) -> bool:
        """Whether today's placement count has taken in the day's order book (or tried to)."""
        return self._day.seeded_on(self._wall())

    def count_book(self, placements: int | None) -> None:
        """Take in the day's order book: ``placements`` rows, each an order of the account's
        day (this process's, one placed before a restart, Kite web's) that spent Kite's cap.

        Today's count becomes at least that. ``None``: the book could not be read, and the count
        goes on from what this process placed; either way :meth:`book_counted` is true until
        the day turns. The book still undercounts by placements Kite's pre-trade checks refused,
        which count without showing in it (KITE_API.md §9).
        """
        self._day.seed(self._wall(), placements)

    def count_slices(self, children: int) -> None:
        """Count an autoslice placement's ``children`` beyond the one request that placed
        them: each is an order of the account's day, as Kite's book shows, so the cap counts
        each (a desk counting the request alone kept placing past the cap)."""
        if children > 1:
            self._day.record(self._wall(), children - 1)

    def modifications(self, order_id: str) -> int:
        """How many modifications of ``order_id`` have been granted."""
        return self._modifications.get(order_id, 0)

    async def _take(
        self,
        kind: EndpointClass,
        modifies: str | None,
        cancels: str | None,
        entry: _Entry,
        *,
        until_reply: bool,
    ) -> None:
        self._check_quotas(kind, modifies, cancels)
        lane = self._lanes[kind]
        await lane.take_turn()
        try:
            while (delay := self._delay(kind, lane, self._clock())) != 0:
                if delay is None:
                    await lane.next_reply()
                else:
                    await self._sleep(delay)
            # Waiting may have let a concurrent caller spend the last slot of a quota.
            self._check_quotas(kind, modifies, cancels)
            if not until_reply:
                # Counting the grant as if it happened ``margin`` later widens its windows.
                entry.at = self._clock() + self._margin
            lane.log.record(entry)
            if kind is EndpointClass.ORDER:
                # The same entry in both logs: one reply frees both.
                self._minute.record(entry)
                if modifies is not None:
                    self._forget_old_modifications()
                    self._modifications[modifies] = self._modifications.get(modifies, 0) + 1
                elif cancels is None:
                    self._day.record(self._wall())
        finally:
            lane.end_turn()

    def _forget_old_modifications(self) -> None:
        day = _DayQuota._day_of(self._wall())
        if day != self._modifications_day:
            self._modifications_day = day
            self._modifications.clear()

    def _delay(self, kind: EndpointClass, lane: _Lane, now: float) -> float | None:
        """0 when a grant is allowed now; seconds to sleep; ``None`` to wait for a reply."""
        waits = [lane.blocked_until - now, lane.log.wait(now)]
        if kind is EndpointClass.ORDER:
            waits.append(self._minute.wait(now))
        if None in waits:
            return None
        longest = max(w for w in waits if w is not None)
        return longest if longest > 0 else 0

    def _check_quotas(self, kind: EndpointClass, modifies: str | None, cancels: str | None) -> None:
        if kind is not EndpointClass.ORDER:
            if modifies is not None or cancels is not None:
                raise ValueError("modifies/cancels only apply to ORDER requests")
            return
        if modifies is not None:
            self._forget_old_modifications()  # yesterday's count does not refuse today's
            limit = self.limits.modifications_per_order
            if self._modifications.get(modifies, 0) >= limit:
                raise OrderRejected(
                    f"order {modifies} has reached Kite's limit of {limit} modifications; "
                    "cancel it and place a new order instead",
                    error_type="OrderException",
                )
        elif cancels is None and self._day.exhausted(self._wall()):
            raise QuotaExhausted(
                f"the day's {self.limits.orders_per_day} order placements are spent (Kite's "
                "daily cap, [kite] orders_per_day); placing resumes with the next trading day, "
                "when the count resets (midnight IST)",
                http_status=429,
                error_type="NetworkException",
            )


_SHARED: dict[str, KiteRateLimiter] = {}


def shared_limiter(api_key: str, limits: RateLimits | None = None) -> KiteRateLimiter:
    """The process-wide limiter for ``api_key``, created on first use.

    ``limits`` applies only when the limiter is created; later callers get the same instance
    whatever they pass, because two budgets for one api_key would defeat the point.
    """
    limiter = _SHARED.get(api_key)
    if limiter is None:
        limiter = _SHARED[api_key] = KiteRateLimiter(limits or RateLimits())
    return limiter


__all__ = [
    "DEFAULT_MARGIN",
    "EndpointClass",
    "KiteRateLimiter",
    "RateLimits",
    "shared_limiter",
]
