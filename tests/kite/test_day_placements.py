"""Kite's daily placement cap as the broker counts it: seeded from the day's order book (orders
placed before a restart or from Kite web spent it too), on the desk's clock (the simulator's
day under ``clock = "simulator"``), refused at once with a reason naming the cap."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orderdesk.brokers import BrokerContext
from orderdesk.brokers.kite import KiteBroker, create_broker
from orderdesk.brokers.kite.config import ACCESS_TOKEN_SECRET
from orderdesk.brokers.kite.ratelimit import EndpointClass, KiteRateLimiter
from orderdesk.domain.calendar import IST
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import Exchange, InstrumentKey, OrderType, Product, Side
from orderdesk.errors import OrderRejected, QuotaExhausted
from orderdesk.ports.broker import PlaceOrder
from tests.support import WallClock

from .conftest import ACCESS_TOKEN, FakeKite, Reply
from .test_broker import MemorySecrets, _order

MONDAY = date(2026, 1, 5)
pytestmark = pytest.mark.usefixtures("no_backoff")


def _ok(data: Any) -> Reply:
    return Reply.json({"status": "success", "data": data})


def _book(rows: int) -> Reply:
    return _ok([_order("COMPLETE", 2, order_id=f"2601050000{i:05d}") for i in range(rows)])


def _buy(n: int = 0) -> PlaceOrder:
    signal = Signal(
        instrument=InstrumentKey(Exchange.NSE, "INFY"),
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=Decimal("1400.5"),
    )
    return PlaceOrder(f"odcapfix{n:012d}", signal)


def _broker(fake: FakeKite, tmp_path: Path, clock: WallClock, **options: Any) -> KiteBroker:
    """A broker on its own limiter (a fresh api_key), polling rarely, on ``clock``."""
    secrets = MemorySecrets()
    secrets.set(ACCESS_TOKEN_SECRET, ACCESS_TOKEN)
    context = BrokerContext(secrets=secrets, data_dir=tmp_path, clock=clock)
    base = {
        "api_key": f"capfix{uuid.uuid4().hex[:12]}",
        "root": fake.root,
        "timeout_seconds": 2.0,
        "stream": "poll",
        "poll_interval_seconds": 300,
    }
    return create_broker(base | options, context)


def _clock(day: date = MONDAY, hour: int = 10) -> WallClock:
    return WallClock(datetime(day.year, day.month, day.day, hour, tzinfo=IST))


def _placements(fake: FakeKite) -> int:
    return fake.count("POST", "/orders/regular")


async def test_a_restarted_desk_counts_the_days_book_and_refuses_past_the_cap(
    fake_kite: FakeKite, tmp_path: Path
) -> None:
    """973 orders already in the day's book (this desk's before a restart, Kite web's) and a
    cap of 960: the started broker refuses the next placement at once, naming the cap, and
    sends nothing."""
    fake_kite.on("GET", "/orders", _book(973))
    fake_kite.on("GET", "/trades", _ok([]))
    fake_kite.on("POST", "/orders/regular", _ok({"order_id": "260105000099999"}))
    async with _broker(fake_kite, tmp_path, _clock(), orders_per_day=960) as broker:
        with pytest.raises(QuotaExhausted) as refused:
            await broker.place_order(_buy())
    reason = str(refused.value)
    assert "day's 960 order placements are spent" in reason
    assert "Kite's daily cap" in reason
    assert "next trading day" in reason
    assert _placements(fake_kite) == 0


async def test_a_new_days_first_placement_counts_that_days_book(
    fake_kite: FakeKite, tmp_path: Path
) -> None:
    """The book read at start is the start day's; the next day's first placement reads that
    day's book (orders placed elsewhere overnight or that morning spent the new day's cap)."""
    clock = _clock()
    fake_kite.on("GET", "/orders", _book(0))
    fake_kite.on("GET", "/trades", _ok([]))
    fake_kite.on("POST", "/orders/regular", _ok({"order_id": "260105000099999"}))
    async with _broker(fake_kite, tmp_path, clock, orders_per_day=3) as broker:
        await broker.place_order(_buy(1))
        fake_kite.on("GET", "/orders", _book(3))  # Kite web placed the next day's three
        clock.set(MONDAY + timedelta(days=1), 9, 20)
        with pytest.raises(QuotaExhausted):
            await broker.place_order(_buy(2))
    assert _placements(fake_kite) == 1


async def test_the_days_turn_on_the_desks_clock(fake_kite: FakeKite, tmp_path: Path) -> None:
    """The cap and the modification counts start again when the desk's clock (the simulator's
    under clock = "simulator") enters the next IST day, whatever the machine's date."""
    clock = _clock()
    fake_kite.on("GET", "/orders", _book(0))
    fake_kite.on("GET", "/trades", _ok([]))
    fake_kite.on("POST", "/orders/regular", _ok({"order_id": "260105000099999"}))
    options = {"orders_per_day": 1, "modifications_per_order": 1}
    async with _broker(fake_kite, tmp_path, clock, **options) as broker:
        limiter = broker._limiter
        assert isinstance(limiter, KiteRateLimiter)
        await broker.place_order(_buy(1))
        await limiter.acquire(EndpointClass.ORDER, modifies="260105000099999")
        with pytest.raises(QuotaExhausted):
            await broker.place_order(_buy(2))
        with pytest.raises(OrderRejected):
            await limiter.acquire(EndpointClass.ORDER, modifies="260105000099999")
        clock.set(MONDAY + timedelta(days=1), 0, 1)  # 00:01 IST: Kite's next day
        await broker.place_order(_buy(3))
        await limiter.acquire(EndpointClass.ORDER, modifies="260105000099999")
    assert _placements(fake_kite) == 2


async def test_an_unreadable_book_leaves_the_count_to_this_process_and_is_read_once(
    fake_kite: FakeKite, tmp_path: Path
) -> None:
    """A book that cannot be read: placements go on, counted by this process alone, and the
    day's placements do not each wait for another read."""
    fake_kite.on("GET", "/orders", Reply.error(503, "NetworkException"))
    fake_kite.on("GET", "/trades", _ok([]))
    fake_kite.on("POST", "/orders/regular", _ok({"order_id": "260105000099999"}))
    async with _broker(fake_kite, tmp_path, _clock(), orders_per_day=2) as broker:
        rest = broker.rest
        read = rest.orders
        counts: list[bool] = []

        async def counted(*, patient: bool = True) -> list[OrderStatusReport]:
            counts.append(patient)
            return await read(patient=patient)

        rest.orders = counted  # type: ignore[method-assign]
        await broker.place_order(_buy(1))
        await broker.place_order(_buy(2))
        assert counts.count(False) == 1  # the first placement's read; the second's none
        with pytest.raises(QuotaExhausted):
            await broker.place_order(_buy(3))
    assert _placements(fake_kite) == 2


async def test_an_autoslice_placement_counts_each_child_against_the_cap(
    fake_kite: FakeKite, tmp_path: Path
) -> None:
    """Each slice Kite placed is an order of the account's day: an autoslice of three children
    spends three of a cap of four, so one more placement goes and the next is refused (the
    request alone counted as one, and three more went past the cap)."""
    fake_kite.on("GET", "/orders", _book(0))
    fake_kite.on("GET", "/trades", _ok([]))
    children = [{"order_id": f"26010500000100{i}"} for i in range(3)]
    fake_kite.on(
        "POST", "/orders/regular", _ok({"order_id": "260105000001000", "children": children})
    )
    async with _broker(fake_kite, tmp_path, _clock(), orders_per_day=4) as broker:
        reply = await broker.place_autoslice(_buy(1))
        assert len(reply.slices) == 3
        fake_kite.on("POST", "/orders/regular", _ok({"order_id": "260105000099999"}))
        await broker.place_order(_buy(2))
        with pytest.raises(QuotaExhausted):
            await broker.place_order(_buy(3))
    assert _placements(fake_kite) == 2
