"""Issue 13, exits that really exit: ``exit_position`` through the real Kite adapter against a
simulator whose market runs away from a protected MARKET exit (a thin book fills part of it,
then the price falls through its protection), escalated by re-pricing and then an alert.

Time is the engine's own: the escalation waits ``reprice_after`` on the order's changes, and
the tests wait on the events it records, never on a sleep."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from kiteconnect import KiteConnect

from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.events import Event, ExitRepriced, ExitStarted, ExitUnfilled
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk
from orderdesk.engine.config import ExitPolicy
from orderdesk.engine.risk import RiskLimits
from orderdesk.errors import RiskDenied
from orderdesk.ports.notifier import Severity
from orderdesk.store import SqlEventStore
from tests.scenarios.harness import (
    SCENARIO_CONFIG,
    BrokerView,
    ListNotifier,
    SimAddress,
    open_desk,
    running_sim,
)

INFY = InstrumentKey.parse("NSE:INFY")
EXITS = replace(
    SCENARIO_CONFIG,
    exit=ExitPolicy(reprice_after=0.2, max_reprices=2, band_percent=Decimal(2)),
)


async def _hold(desk: OrderDesk, view: BrokerView, quantity: int) -> None:
    """Buy ``quantity`` INFY MIS at 1,500 and wait for the fill."""
    await view.control("prices", {"NSE:INFY": 1500})
    handle = await desk.submit(
        Signal(
            instrument=INFY,
            side=Side.BUY,
            quantity=quantity,
            order_type=OrderType.MARKET,
            product=Product.MIS,
        )
    )
    await handle.wait()
    assert handle.status is OrderStatus.FILLED


async def _exit_events(events: AsyncIterator[Event], until: type[Event]) -> list[Event]:
    """The exit's events as the desk records them, up to the first ``until``."""
    seen: list[Event] = []
    async with asyncio.timeout(30):
        async for event in events:
            if isinstance(event, ExitStarted | ExitRepriced | ExitUnfilled):
                seen.append(event)
                if isinstance(event, until):
                    return seen
    raise AssertionError(f"the desk stopped before {until.__name__}: {seen}")


def _official(sim: SimAddress) -> KiteConnect:
    return KiteConnect(sim.api_key, access_token=sim.access_token, root=sim.rest_root)


async def test_a_resting_exit_is_repriced_through_the_market_and_fills(
    tmp_path: Path, store_url: str
) -> None:
    """The exit fills 5 of 10 at 1,500, the price falls to 1,440 below its 2% protection
    (1,470) and the rest rests; after reprice_after the desk moves it to 1,411.20 (2% below
    1,440) and it fills: the position is flat, the log says how."""
    async with (
        running_sim(rate_limits=False, seed=95) as (_, address),
        open_desk(address, store_url, tmp_path, config=EXITS) as desk,
    ):
        view = BrokerView(address)
        await _hold(desk, view, 10)
        events = desk.events()
        await view.faults(partial_fill=0.5)
        handle = await desk.exit_position(INFY, product=Product.MIS)
        assert handle is not None
        await view.control("prices", {"NSE:INFY": 1440})  # the market runs away
        await view.faults(partial_fill=0)  # liquidity comes back, lower
        seen = await _exit_events(events, ExitRepriced)
        await handle.wait()
        assert handle.status is OrderStatus.FILLED
        started, repriced = seen
        assert isinstance(started, ExitStarted)
        assert started.order_id == handle.order_id
        assert (started.reprice_after, started.max_reprices) == (Decimal("0.2"), 2)
        assert isinstance(repriced, ExitRepriced)
        assert (repriced.attempt, repriced.last_price, repriced.price) == (
            1,
            Decimal(1440),
            Decimal("1411.20"),
        )
        assert desk.position(INFY, Product.MIS).quantity == 0
        row = next(
            r
            for r in await asyncio.to_thread(_official(address).orders)
            if r["order_id"] == handle.order.broker_order_id
        )
        assert (row["status"], row["order_type"], row["price"]) == ("COMPLETE", "LIMIT", 1411.2)
        trades = await asyncio.to_thread(_official(address).order_trades, row["order_id"])
        assert sorted(t["average_price"] for t in trades) == [1440, 1500]


async def test_a_position_past_the_order_limits_still_exits_whole(
    tmp_path: Path, store_url: str
) -> None:
    """The order limits guard what an order adds, not what an exit takes away: a position of
    100 built by two orders within ``max_quantity`` 60 and ``max_order_value`` ₹1 lakh (₹1.5
    lakh now) exits in one order, and its re-price 2% through the market passes a 1% price
    band. Before, the exit was refused (``max_quantity``) exactly because the position was
    large."""
    limits = RiskLimits(
        max_quantity=60, max_order_value=Decimal(100_000), price_band_percent=Decimal(1)
    )
    async with (
        running_sim(rate_limits=False, seed=94) as (_, address),
        open_desk(address, store_url, tmp_path, config=EXITS, limits=limits) as desk,
    ):
        view = BrokerView(address)
        await _hold(desk, view, 50)
        await _hold(desk, view, 50)
        events = desk.events()
        await view.faults(partial_fill=0.5)
        handle = await desk.exit_position(INFY, product=Product.MIS)
        assert handle is not None
        assert handle.order.quantity == 100
        await view.control("prices", {"NSE:INFY": 1440})
        await view.faults(partial_fill=0)
        seen = await _exit_events(events, ExitRepriced)
        await handle.wait()
        assert handle.status is OrderStatus.FILLED
        assert isinstance(seen[-1], ExitRepriced)
        assert seen[-1].price == Decimal("1411.20")
        assert desk.position(INFY, Product.MIS).quantity == 0
        with pytest.raises(RiskDenied):  # a signal of the same size is still refused
            await desk.submit(
                Signal(
                    instrument=INFY,
                    side=Side.SELL,
                    quantity=100,
                    order_type=OrderType.MARKET,
                    product=Product.MIS,
                )
            )


async def test_an_exit_that_still_does_not_fill_ends_in_a_critical_alert(
    tmp_path: Path, store_url: str
) -> None:
    """A book that fills a tenth of what is left per pass: two re-prices later the exit still
    holds most of the position, so the desk records ExitUnfilled and raises a CRITICAL alert."""
    notifier = ListNotifier()
    async with (
        running_sim(rate_limits=False, seed=96) as (_, address),
        open_desk(address, store_url, tmp_path, config=EXITS, notifier=notifier) as desk,
    ):
        view = BrokerView(address)
        await _hold(desk, view, 100)
        events = desk.events()
        await view.faults(partial_fill=0.1)
        handle = await desk.exit_position(INFY, product=Product.MIS)
        assert handle is not None
        await view.control("prices", {"NSE:INFY": 1440})
        seen = await _exit_events(events, ExitUnfilled)
        assert [type(e) for e in seen] == [ExitStarted, ExitRepriced, ExitRepriced, ExitUnfilled]
        unfilled = seen[-1]
        assert isinstance(unfilled, ExitUnfilled)
        assert unfilled.reprices == 2
        assert unfilled.remaining == 100 - handle.filled_quantity
        assert unfilled.remaining > 0
        critical = [a for a in notifier.about(handle.order_id) if a.title == "Exit not filled"]
        assert [a.severity for a in critical] == [Severity.CRITICAL]
        assert "still open" in critical[0].body
        assert handle.status is not OrderStatus.FILLED
        # The price stood still at 1,440: the second re-price found the order at its price and
        # sent no modification (one spent for nothing before), and said so.
        first, second = (e for e in seen if isinstance(e, ExitRepriced))
        assert isinstance(first, ExitRepriced)
        assert isinstance(second, ExitRepriced)
        assert first.price == second.price
        assert handle.order.modifications == 1
        repriced = [a.body for a in notifier.about(handle.order_id) if a.title == "Exit re-priced"]
        assert "left at (the last price has not moved)" in repriced[-1]


async def test_per_call_policy_overrides_the_config(tmp_path: Path, store_url: str) -> None:
    """``policy=`` on the call wins over ``[exit]``: no re-price at all, straight to the alert."""
    async with (
        running_sim(rate_limits=False, seed=97) as (_, address),
        open_desk(address, store_url, tmp_path, config=EXITS) as desk,
    ):
        view = BrokerView(address)
        await _hold(desk, view, 10)
        events = desk.events()
        await view.faults(partial_fill=0.5)
        handle = await desk.exit_position(
            INFY,
            product=Product.MIS,
            policy=ExitPolicy(reprice_after=0.1, max_reprices=0, band_percent=Decimal(1)),
        )
        assert handle is not None
        await view.control("prices", {"NSE:INFY": 1440})
        seen = await _exit_events(events, ExitUnfilled)
        assert [type(e) for e in seen] == [ExitStarted, ExitUnfilled]
        assert isinstance(seen[0], ExitStarted)
        assert seen[0].band_percent == Decimal(1)


async def test_nothing_to_exit_is_none(tmp_path: Path, store_url: str) -> None:
    """No position: no order and no escalation."""
    async with (
        running_sim(rate_limits=False, seed=98) as (_, address),
        open_desk(address, store_url, tmp_path, config=EXITS) as desk,
    ):
        assert await desk.exit_position(INFY, product=Product.MIS) is None
        assert desk.orders() == []


async def test_a_cancelled_exit_ends_the_escalation_with_a_warning(
    tmp_path: Path, store_url: str
) -> None:
    """A person cancels the resting exit: the escalation stops, records how it ended, and warns
    (the position may still be open) without the CRITICAL alert of an exit left unfilled."""
    notifier = ListNotifier()
    slow = replace(
        EXITS, exit=ExitPolicy(reprice_after=30.0, max_reprices=2, band_percent=Decimal(2))
    )
    async with (
        running_sim(rate_limits=False, seed=99) as (_, address),
        open_desk(address, store_url, tmp_path, config=slow, notifier=notifier) as desk,
    ):
        view = BrokerView(address)
        await _hold(desk, view, 10)
        events = desk.events()
        await view.faults(partial_fill=0.5)
        handle = await desk.exit_position(INFY, product=Product.MIS)
        assert handle is not None
        await view.control("prices", {"NSE:INFY": 1440})
        await handle.wait(lambda h: h.filled_quantity == 5 and h.order.is_working, timeout=10)
        await desk.cancel(handle.order_id)
        seen = await _exit_events(events, ExitUnfilled)
        assert [type(e) for e in seen] == [ExitStarted, ExitUnfilled]
        unfilled = seen[-1]
        assert isinstance(unfilled, ExitUnfilled)
        assert unfilled.detail.startswith("ended CANCELLED")
        assert unfilled.remaining == 5
        assert "Exit cancelled" in notifier.titles(Severity.WARNING)
        assert "Exit not filled" not in notifier.titles()


async def test_the_apis_overrides_reach_the_escalation(tmp_path: Path, store_url: str) -> None:
    """Through the API's desk (EngineDesk): each override given wins, each left out is the
    config's, and the exit order comes back."""
    async with (
        running_sim(rate_limits=False, seed=100) as (_, address),
        open_desk(address, store_url, tmp_path, config=EXITS) as desk,
    ):
        view = BrokerView(address)
        await _hold(desk, view, 10)
        events = desk.events()
        placed = await EngineDesk(desk).exit_position(
            INFY, product=Product.MIS, strategy="manual", max_reprices=0, band_percent=None
        )
        order = placed.order
        assert order is not None
        assert placed.cancelled == ()
        assert (order.signal.side, order.signal.quantity) == (Side.SELL, 10)
        (started,) = await _exit_events(events, ExitStarted)
        assert isinstance(started, ExitStarted)
        assert (started.reprice_after, started.max_reprices, started.band_percent) == (
            Decimal("0.2"),
            0,
            Decimal(2),
        )


async def test_a_restart_resumes_the_escalation_where_it_stopped(
    tmp_path: Path, store_url: str
) -> None:
    """The desk stops after the exit's first re-price; the next desk on the same log resumes
    it under the policy it started with: one more re-price (attempt 2, not 1 again), then the
    CRITICAL alert of an exit still not filled, raised by the desk that resumed it."""
    policy = ExitPolicy(reprice_after=1.0, max_reprices=2, band_percent=Decimal(2))
    notifier = ListNotifier()
    async with running_sim(rate_limits=False, seed=101) as (_, address):
        view = BrokerView(address)
        async with open_desk(address, store_url, tmp_path, config=EXITS) as first:
            await _hold(first, view, 100)
            events = first.events()
            await view.faults(partial_fill=0.1)
            handle = await first.exit_position(INFY, product=Product.MIS, policy=policy)
            assert handle is not None
            await view.control("prices", {"NSE:INFY": 1440})
            before = await _exit_events(events, ExitRepriced)
        async with open_desk(
            address, store_url, tmp_path, config=EXITS, notifier=notifier
        ) as second:
            resumed = await _exit_events(second.events(), ExitUnfilled)
            exit_order = second.handle(handle.order_id)
        log = [e for e in _exit_log(store_url) if getattr(e, "order_id", None) == handle.order_id]
    assert [type(e) for e in before] == [ExitStarted, ExitRepriced]
    assert [type(e) for e in log] == [ExitStarted, ExitRepriced, ExitRepriced, ExitUnfilled]
    assert [e.attempt for e in log if isinstance(e, ExitRepriced)] == [1, 2]
    unfilled = resumed[-1]
    assert isinstance(unfilled, ExitUnfilled)
    assert unfilled.reprices == 2
    assert unfilled.remaining == 100 - exit_order.filled_quantity > 0
    critical = [a for a in notifier.about(handle.order_id) if a.title == "Exit not filled"]
    assert [a.severity for a in critical] == [Severity.CRITICAL]


def _exit_log(store_url: str) -> list[Event]:
    """The exit events in the store's log, in order."""
    store = SqlEventStore(store_url)
    try:
        return [
            event
            for row in store.read()
            if isinstance(event := row.event(), ExitStarted | ExitRepriced | ExitUnfilled)
        ]
    finally:
        store.close()
