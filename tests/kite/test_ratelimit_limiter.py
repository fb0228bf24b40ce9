"""The client-side Kite rate limiter, on virtual time: its window guarantee, FIFO order, quotas."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderdesk.brokers.kite.ratelimit import (
    EndpointClass,
    KiteRateLimiter,
    RateLimits,
    shared_limiter,
)
from orderdesk.errors import BrokerRateLimited, OrderRejected, QuotaExhausted

# 2026-01-05 10:00 IST, as epoch seconds; the daily quota keys on the IST day of this.
MONDAY_10_IST = 1_767_587_400.0


class VirtualTime:
    """A monotonic clock that only moves when someone sleeps on it.

    ``sleep`` yields to the loop once (as a real sleep would) and then moves the clock to at
    least its wake-up time. Only the head of a lane ever sleeps, so within one lane virtual time
    is exact; across lanes a sleeper may wake late, never early.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.wall = MONDAY_10_IST
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall_clock(self) -> float:
        return self.wall + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        # A real sleep always lets some time pass; without nextafter a sub-ulp delay would
        # leave the clock where it was.
        target = max(self.now + seconds, math.nextafter(self.now, math.inf))
        await asyncio.sleep(0)
        self.now = max(self.now, target)


def make_limiter(
    vt: VirtualTime, limits: RateLimits | None = None, margin: float = 0.0
) -> KiteRateLimiter:
    return KiteRateLimiter(
        limits or RateLimits(),
        clock=vt.clock,
        sleep=vt.sleep,
        wall=vt.wall_clock,
        margin=margin,
    )


def recorder(
    vt: VirtualTime, limiter: KiteRateLimiter, grants: list[tuple[float, int]]
) -> Callable[[EndpointClass, int], Awaitable[None]]:
    async def one(kind: EndpointClass, ident: int) -> None:
        await limiter.acquire(kind)
        grants.append((vt.now, ident))

    return one


def max_in_any_window(times: list[float], window: float) -> int:
    """The most grants inside any half-open span [t, t + window) starting at a grant."""
    ordered = sorted(times)
    return max((sum(1 for u in ordered if t <= u < t + window) for t in ordered), default=0)


requests = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=4.0, allow_nan=False),
        st.sampled_from(list(EndpointClass)),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(requests=requests, margin=st.sampled_from([0.0, 0.02]))
def test_never_more_than_n_grants_in_any_one_second_window(
    requests: list[tuple[float, EndpointClass]], margin: float
) -> None:
    """Whatever the arrival times, no endpoint class is granted more than its N in any 1 s span."""
    vt = VirtualTime()
    limits = RateLimits()
    limiter = make_limiter(vt, limits, margin)
    grants: dict[EndpointClass, list[float]] = {kind: [] for kind in EndpointClass}

    async def one(kind: EndpointClass) -> None:
        await limiter.acquire(kind)
        grants[kind].append(vt.now)

    async def main() -> None:
        tasks = []
        for at, kind in sorted(requests, key=lambda r: r[0]):
            vt.now = max(vt.now, at)
            tasks.append(asyncio.create_task(one(kind)))
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)

    asyncio.run(main())

    assert sum(len(g) for g in grants.values()) == len(requests)
    for kind, times in grants.items():
        n = limits.per_second(kind)
        ordered = sorted(times)
        # N+1 grants inside one second would put grant i+N less than 1 s after grant i.
        assert all(ordered[i + n] - ordered[i] >= 1.0 for i in range(len(ordered) - n)), kind
        assert max_in_any_window(ordered, 1.0) <= n


latencies = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=1.0, allow_nan=False),  # when the call is made
        st.floats(min_value=0.0, max_value=0.5, allow_nan=False),  # its round trip
        st.floats(min_value=0.0, max_value=1.0, allow_nan=False),  # where in it Kite counts it
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(calls=latencies)
def test_slots_bound_arrivals_whatever_the_latency(calls: list[tuple[float, float, float]]) -> None:
    """With slot(), Kite sees at most N arrivals per second even when round trips vary."""
    vt = VirtualTime()
    limiter = make_limiter(vt)
    arrivals: list[float] = []

    async def one(rtt: float, fraction: float) -> None:
        async with limiter.slot(EndpointClass.ORDER):
            # Kite counts the request somewhere between our grant and its reply.
            arrivals.append(vt.now + fraction * rtt)
            await vt.sleep(rtt)

    async def main() -> None:
        tasks = []
        for at, rtt, fraction in sorted(calls):
            vt.now = max(vt.now, at)
            tasks.append(asyncio.create_task(one(rtt, fraction)))
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)

    asyncio.run(main())

    assert len(arrivals) == len(calls)
    assert max_in_any_window(arrivals, 1.0) <= RateLimits().order_per_second


async def test_a_slot_counts_from_its_reply() -> None:
    """At 1 quote/s, a quote whose reply took 0.5 s frees the lane at 1.5 s, not 1.0 s."""
    vt = VirtualTime()
    limiter = make_limiter(vt)
    async with limiter.slot(EndpointClass.QUOTE):
        await vt.sleep(0.5)

    async with limiter.slot(EndpointClass.QUOTE):
        granted = vt.now

    assert granted == 1.5


async def test_a_failed_slot_still_counts_and_frees_the_lane() -> None:
    """An exchange that raises counts from the failure; the next caller is not stuck."""
    vt = VirtualTime()
    limiter = make_limiter(vt)

    async def exchange() -> None:
        async with limiter.slot(EndpointClass.QUOTE):
            await vt.sleep(0.25)
            raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError) as exc_info:
        await exchange()
    await limiter.acquire(EndpointClass.QUOTE)

    assert exc_info.value.args == ("peer went away",)
    assert vt.now == 1.25


async def test_waiters_behind_an_outstanding_reply_wake_when_it_arrives() -> None:
    """The head waits for the oldest reply, then for the rest of its second, then goes."""
    vt = VirtualTime()
    limiter = make_limiter(vt)
    reply = asyncio.Event()
    granted: list[float] = []

    async def slow() -> None:
        async with limiter.slot(EndpointClass.QUOTE):
            await reply.wait()

    async def next_quote() -> None:
        await limiter.acquire(EndpointClass.QUOTE)
        granted.append(vt.now)

    first = asyncio.create_task(slow())
    second = asyncio.create_task(next_quote())
    await asyncio.sleep(0)
    vt.now = 3.0  # the reply takes three seconds
    reply.set()
    await asyncio.gather(first, second)

    assert granted == [4.0]


async def test_a_burst_is_served_at_the_full_rate_without_idle_gaps() -> None:
    """Thirty placements at once go 10 at t=0, 10 at t=1 and 10 at t=2: the limit, not less."""
    vt = VirtualTime()
    limiter = make_limiter(vt)
    grants: list[tuple[float, int]] = []
    one = recorder(vt, limiter, grants)

    await asyncio.gather(*(one(EndpointClass.ORDER, i) for i in range(30)))

    assert [t for t, _ in grants] == [0.0] * 10 + [1.0] * 10 + [2.0] * 10


async def test_margin_widens_every_window() -> None:
    """With a 20 ms margin the second batch of ten starts 1.02 s after the first."""
    vt = VirtualTime()
    limiter = make_limiter(vt, margin=0.02)
    grants: list[tuple[float, int]] = []
    one = recorder(vt, limiter, grants)

    await asyncio.gather(*(one(EndpointClass.ORDER, i) for i in range(11)))

    assert grants[-1][0] == pytest.approx(1.02)


async def test_waiters_are_served_first_come_first_served() -> None:
    """Requests granted in arrival order, including ones that arrive while the head is waiting."""
    vt = VirtualTime()
    limiter = make_limiter(vt, RateLimits(quote_per_second=1))
    grants: list[tuple[float, int]] = []
    one = recorder(vt, limiter, grants)

    first = [asyncio.create_task(one(EndpointClass.QUOTE, i)) for i in range(3)]
    await asyncio.sleep(0)
    late = [asyncio.create_task(one(EndpointClass.QUOTE, i)) for i in range(3, 6)]
    await asyncio.gather(*first, *late)

    assert [ident for _, ident in grants] == list(range(6))
    assert [t for t, _ in grants] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


async def test_lanes_are_independent() -> None:
    """A full quote lane does not hold back an order placement."""
    vt = VirtualTime()
    limiter = make_limiter(vt)
    await limiter.acquire(EndpointClass.QUOTE)

    await limiter.acquire(EndpointClass.ORDER)

    assert vt.now == 0.0
    assert vt.sleeps == []


async def test_orders_per_minute_quota_makes_the_next_order_wait_out_the_minute() -> None:
    """With 15 orders per minute, the 16th is granted sixty seconds after the first."""
    vt = VirtualTime()
    limiter = make_limiter(vt, RateLimits(orders_per_minute=15))
    grants: list[tuple[float, int]] = []
    one = recorder(vt, limiter, grants)

    await asyncio.gather(*(one(EndpointClass.ORDER, i) for i in range(16)))

    assert [t for t, _ in grants[:15]] == [0.0] * 10 + [1.0] * 5
    assert grants[15][0] == 60.0


async def test_daily_quota_raises_at_once_instead_of_waiting_a_day() -> None:
    """Once the day's placements are spent the next one fails immediately with a 429-class error."""
    vt = VirtualTime()
    limiter = make_limiter(vt, RateLimits(orders_per_day=3))
    for _ in range(3):
        await limiter.acquire(EndpointClass.ORDER)

    with pytest.raises(BrokerRateLimited) as exc_info:
        await limiter.acquire(EndpointClass.ORDER)

    assert "day's 3 order placements are spent (Kite's daily cap" in str(exc_info.value)
    assert "next trading day" in str(exc_info.value)
    assert exc_info.value.http_status == 429
    assert vt.sleeps == []


async def test_daily_quota_spares_cancellations_and_modifications() -> None:
    """A desk that has spent its day can still modify and cancel the orders it has open."""
    vt = VirtualTime()
    limiter = make_limiter(vt, RateLimits(orders_per_day=1))
    await limiter.acquire(EndpointClass.ORDER)

    await limiter.acquire(EndpointClass.ORDER, modifies="101")
    await limiter.acquire(EndpointClass.ORDER, cancels="101")

    assert limiter.modifications("101") == 1


async def test_daily_quota_resets_on_the_next_ist_day() -> None:
    """The placement quota is per IST calendar day: after midnight IST placements work again."""
    vt = VirtualTime()
    limiter = make_limiter(vt, RateLimits(orders_per_day=1))
    await limiter.acquire(EndpointClass.ORDER)
    vt.wall += 14 * 3600  # 10:00 IST + 14 h = 00:00 IST the next day

    await limiter.acquire(EndpointClass.ORDER)


async def test_twenty_sixth_modification_is_refused_before_sending() -> None:
    """Kite allows 25 modifications per order; the 26th raises OrderRejected, others still work."""
    vt = VirtualTime()
    limiter = make_limiter(vt)
    for _ in range(25):
        await limiter.acquire(EndpointClass.ORDER, modifies="240101000000001")

    with pytest.raises(OrderRejected) as exc_info:
        await limiter.acquire(EndpointClass.ORDER, modifies="240101000000001")

    message = str(exc_info.value)
    assert "25 modifications" in message
    assert "cancel" in message
    assert limiter.modifications("240101000000001") == 25
    await limiter.acquire(EndpointClass.ORDER, modifies="240101000000002")


async def test_modification_counts_are_forgotten_with_their_day() -> None:
    """Orders live for a day, so a long-running process forgets their counts the next day."""
    vt = VirtualTime()
    limiter = make_limiter(vt)
    for _ in range(3):
        await limiter.acquire(EndpointClass.ORDER, modifies="240101000000001")
    assert limiter.modifications("240101000000001") == 3
    vt.wall += 14 * 3600  # 10:00 IST + 14 h = 00:00 IST the next day
    await limiter.acquire(EndpointClass.ORDER, modifies="240102000000001")
    assert limiter.modifications("240101000000001") == 0
    assert limiter.modifications("240102000000001") == 1


async def test_an_order_modified_to_the_limit_yesterday_can_be_modified_today() -> None:
    """The limit is checked against the day's count: yesterday's 25 refuse nothing today."""
    vt = VirtualTime()
    limiter = make_limiter(vt, RateLimits(modifications_per_order=1))
    await limiter.acquire(EndpointClass.ORDER, modifies="240101000000001")
    vt.wall += 14 * 3600  # 00:00 IST the next day
    await limiter.acquire(EndpointClass.ORDER, modifies="240101000000001")
    assert limiter.modifications("240101000000001") == 1


async def test_the_days_book_seeds_the_placement_count() -> None:
    """The book's rows count toward the cap (never twice with this process's own), and the
    next day starts unread and from zero."""
    vt = VirtualTime()
    limiter = make_limiter(vt, RateLimits(orders_per_day=5))
    await limiter.acquire(EndpointClass.ORDER)
    assert not limiter.book_counted()
    limiter.count_book(4)  # the book holds this process's one and three placed elsewhere
    assert limiter.book_counted()
    await limiter.acquire(EndpointClass.ORDER)
    with pytest.raises(QuotaExhausted):
        await limiter.acquire(EndpointClass.ORDER)
    vt.wall += 14 * 3600
    assert not limiter.book_counted()
    limiter.count_book(None)  # unread: this process's own count goes on
    assert limiter.book_counted()
    for _ in range(5):
        await limiter.acquire(EndpointClass.ORDER)


async def test_the_day_follows_the_clock_it_is_given() -> None:
    """``count_days_by`` moves the quota's day to another clock (the desk's)."""
    vt = VirtualTime()
    limiter = make_limiter(vt, RateLimits(orders_per_day=1))
    await limiter.acquire(EndpointClass.ORDER)
    limiter.count_days_by(lambda: MONDAY_10_IST + 86_400)
    await limiter.acquire(EndpointClass.ORDER)


async def test_concurrent_modifications_are_capped_at_grant_time() -> None:
    """Thirty modifications of one order fired together: 25 are granted and 5 refused."""
    vt = VirtualTime()
    limiter = make_limiter(vt)

    results = await asyncio.gather(
        *(limiter.acquire(EndpointClass.ORDER, modifies="7") for _ in range(30)),
        return_exceptions=True,
    )

    refused = [r for r in results if isinstance(r, OrderRejected)]
    assert len(refused) == 5
    assert limiter.modifications("7") == 25


async def test_backoff_blocks_the_lane_for_the_given_seconds() -> None:
    """After backoff(QUOTE, 5) the next quote is granted at t=5 and orders are unaffected."""
    vt = VirtualTime()
    limiter = make_limiter(vt)
    limiter.backoff(EndpointClass.QUOTE, 5.0)

    await limiter.acquire(EndpointClass.ORDER)
    assert vt.now == 0.0
    await limiter.acquire(EndpointClass.QUOTE)

    assert vt.now == 5.0


async def test_a_cancelled_waiter_does_not_block_the_queue() -> None:
    """Cancelling the waiting head and a queued waiter leaves the others served in order."""
    vt = VirtualTime()
    limiter = make_limiter(vt, RateLimits(quote_per_second=1))
    grants: list[tuple[float, int]] = []
    one = recorder(vt, limiter, grants)
    await one(EndpointClass.QUOTE, 0)

    tasks = [asyncio.create_task(one(EndpointClass.QUOTE, i)) for i in range(1, 5)]
    await asyncio.sleep(0)
    tasks[0].cancel()  # the head, asleep in the limiter
    tasks[2].cancel()  # queued behind it
    await asyncio.gather(*tasks, return_exceptions=True)

    assert [ident for _, ident in grants] == [0, 2, 4]
    assert len([t for t, _ in grants]) == len({t for t, _ in grants})


def test_quota_arguments_only_apply_to_orders() -> None:
    """Passing modifies= to a quote request is a programming error, caught at once."""
    limiter = KiteRateLimiter(RateLimits())

    with pytest.raises(ValueError, match="only apply to ORDER") as exc_info:
        asyncio.run(limiter.acquire(EndpointClass.QUOTE, modifies="1"))

    assert isinstance(exc_info.value, ValueError)


def test_shared_limiter_is_one_instance_per_api_key_across_event_loops() -> None:
    """The process-wide limiter is reused and keeps working when a new event loop uses it."""
    limiter = shared_limiter("test_shared_key")
    assert shared_limiter("test_shared_key", RateLimits(quote_per_second=99)) is limiter
    assert shared_limiter("another_key") is not limiter

    async def contend() -> None:
        await asyncio.gather(*(limiter.acquire(EndpointClass.OTHER) for _ in range(3)))

    asyncio.run(contend())
    asyncio.run(contend())
