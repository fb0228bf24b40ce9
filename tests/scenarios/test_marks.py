"""Positions marked to market from the Kite ticker, with no help from the strategy."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from orderdesk.domain import OrderType, Product, Side, Signal
from orderdesk.domain.values import InstrumentKey
from tests.scenarios.harness import BrokerView, open_desk, running_sim
from tests.support import eventually

INFY = InstrumentKey.parse("NSE:INFY")


async def test_position_follows_the_ticker(tmp_path: Path, store_url: str) -> None:
    """A filled buy's instrument is subscribed by the desk, and each price the simulator sets
    reaches the position's last price and unrealised P&L."""
    async with (
        running_sim(seed=81) as (_, address),
        open_desk(address, store_url, tmp_path) as desk,
    ):
        view = BrokerView(address)
        handle = await desk.submit(
            Signal(
                instrument=INFY,
                side=Side.BUY,
                quantity=10,
                order_type=OrderType.MARKET,
                product=Product.MIS,
                signal_id="marked",
            )
        )
        await handle.wait()
        position = desk.position(INFY, Product.MIS)
        assert position.quantity == 10
        await eventually(lambda: INFY in desk.prices.subscribed, what="INFY subscribed")
        cost = position.average_price
        for price in (cost + 5, cost - 3):
            await view.control("prices", {"NSE:INFY": float(price)})
            await eventually(
                lambda p=price: position.last_price == p,
                what=f"position marked at {price}",
            )
            assert position.unrealised() == (price - cost) * 10
        assert desk.day_pnl() == Decimal(-30)
