"""Issue 6: a basket, a target-position order and a sliced order, each ending with the broker
holding exactly the intended orders (rate limits on, as against Kite)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.reports import InstrumentInfo
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk
from orderdesk.engine.config import Slicing
from tests.scenarios.harness import SCENARIO_CONFIG, BrokerView, compare, open_desk, running_sim

INFY = InstrumentKey.parse("NSE:INFY")
RICH = Decimal("100000000")
"""Opening cash for F&O legs (a NIFTY lot blocks lakhs of margin)."""


def nifty(desk: OrderDesk, kind: str, strike: int | None = None) -> InstrumentInfo:
    """The nearest-expiry NIFTY contract of ``kind`` (``FUT``, ``CE``, ``PE``) in the master."""
    rows = [
        info
        for info in desk.instruments.values()
        if info.name == "NIFTY"
        and info.instrument_type == kind
        and (strike is None or info.strike == strike)
    ]
    return min(rows, key=lambda info: info.expiry)


def leg(instrument: InstrumentKey, side: Side, quantity: int, signal_id: str) -> Signal:
    return Signal(
        instrument=instrument,
        side=side,
        quantity=quantity,
        order_type=OrderType.MARKET,
        product=Product.NRML,
        strategy="composite",
        signal_id=signal_id,
    )


async def test_basket_places_hedge_first_and_nothing_else(tmp_path: Path, store_url: str) -> None:
    """A short call hedged by a long call: two broker orders, the hedge placed first."""
    async with (
        running_sim(seed=71, opening_cash=RICH) as (_, address),
        open_desk(address, store_url, tmp_path) as desk,
    ):
        short = nifty(desk, "CE", 25000).instrument
        hedge = nifty(desk, "CE", 25500).instrument
        handles = await desk.submit_basket(
            [leg(short, Side.SELL, 130, "short-call"), leg(hedge, Side.BUY, 130, "hedge-call")]
        )
        for handle in handles:
            await handle.wait()
        assert [h.status for h in handles] == [OrderStatus.FILLED, OrderStatus.FILLED]
        assert [h.order.signal.side for h in handles] == [Side.BUY, Side.SELL]
        await desk.reconcile()
        books = await BrokerView(address).books()
        assert [row["tag"] for row in books.orders] == [h.order_id for h in handles]
        assert [row["transaction_type"] for row in books.orders] == ["BUY", "SELL"]
        differences = compare(desk, books)
        assert not differences, str(differences)


async def test_target_position_retires_the_previous_order_and_trades_the_difference(
    tmp_path: Path, store_url: str
) -> None:
    """Target 10 with a resting limit, retarget 4 at market, retarget 4 again: the broker holds
    the cancelled limit and one market buy of 4, and the net position is 4."""
    async with (
        running_sim(seed=72) as (_, address),
        open_desk(address, store_url, tmp_path) as desk,
    ):
        far = await desk.target_position(
            INFY, 10, product=Product.MIS, order_type=OrderType.LIMIT, price=Decimal("1400")
        )
        assert far is not None
        market = await desk.target_position(INFY, 4, product=Product.MIS)
        assert market is not None
        await market.wait()
        assert far.status is OrderStatus.CANCELLED
        assert market.status is OrderStatus.FILLED
        assert market.order.signal.side is Side.BUY
        assert market.order.signal.quantity == 4
        assert await desk.target_position(INFY, 4, product=Product.MIS) is None
        await desk.reconcile()
        books = await BrokerView(address).books()
        rows = [(r["tag"], r["transaction_type"], r["quantity"], r["status"]) for r in books.orders]
        assert rows == [
            (far.order_id, "BUY", 10, "CANCELLED"),
            (market.order_id, "BUY", 4, "COMPLETE"),
        ]
        differences = compare(desk, books)
        assert not differences, str(differences)
        assert desk.position(INFY, Product.MIS).quantity == 4


async def test_order_above_the_freeze_quantity_becomes_whole_lot_slices(
    tmp_path: Path, store_url: str
) -> None:
    """With the desk slicing (``slicing = "desk"``; Kite's autoslice is tests/scenarios/
    test_autoslice.py), 4,095 NIFTY futures (freeze 1,800, lot 65) are three broker orders
    of whole lots: 1,755, 1,755, 585."""
    async with (
        running_sim(seed=73, opening_cash=RICH) as (_, address),
        open_desk(
            address, store_url, tmp_path, config=replace(SCENARIO_CONFIG, slicing=Slicing.DESK)
        ) as desk,
    ):
        future = nifty(desk, "FUT")
        assert desk.instruments[future.instrument].freeze_quantity == 1800
        handle = await desk.submit(leg(future.instrument, Side.BUY, 4095, "big"))
        await handle.wait()
        assert handle.status is OrderStatus.FILLED
        assert handle.filled_quantity == 4095
        again = await desk.submit(leg(future.instrument, Side.BUY, 4095, "big"))
        assert again.order_id == handle.order_id
        await desk.reconcile()
        books = await BrokerView(address).books()
        children = [child.order_id for child in handle.children]
        assert [(r["tag"], r["quantity"]) for r in books.orders] == list(
            zip(children, [1755, 1755, 585], strict=True)
        )
        differences = compare(desk, books)
        assert not differences, str(differences)
        assert desk.position(future.instrument, Product.NRML).quantity == 4095
