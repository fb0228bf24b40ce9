"""A lot of an MCX or currency contract is many units of its quoted price: the desk counts the
contract's multiplier from the first fill, as the broker's positions do (KITE_API.md §5.1)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from orderdesk.domain import OrderType, Product, Side, Signal
from orderdesk.domain.values import Exchange
from tests.scenarios.harness import BrokerView, open_desk, running_sim
from tests.support import eventually


async def test_a_commodity_lot_counts_its_multiplier(tmp_path: Path, store_url: str) -> None:
    """Two lots of MCX crude (100 barrels each) bought and marked 7 rupees higher make 1,400,
    the broker's P&L for them, not 14."""
    async with (
        running_sim(seed=82) as (_, address),
        open_desk(address, store_url, tmp_path) as desk,
    ):
        view = BrokerView(address)
        infos = await desk.broker.instruments(Exchange.MCX)
        crude = min(
            (i.instrument for i in infos if i.instrument.tradingsymbol.startswith("CRUDEOIL")),
            key=str,
        )
        handle = await desk.submit(
            Signal(
                instrument=crude,
                side=Side.BUY,
                quantity=2,
                order_type=OrderType.MARKET,
                product=Product.NRML,
                signal_id="crude",
            )
        )
        await handle.wait()
        position = desk.position(crude, Product.NRML)
        assert (position.quantity, position.multiplier) == (2, Decimal(100))
        await eventually(lambda: crude in desk.prices.subscribed, what="crude subscribed")
        marked = position.average_price + 7
        await view.control("prices", {str(crude): float(marked)})
        await eventually(lambda: position.last_price == marked, what="crude marked")

        assert position.unrealised() == 2 * 7 * 100
        (theirs,) = [
            row
            for row in (await view.books()).positions
            if row["tradingsymbol"] == crude.tradingsymbol
        ]
        assert (theirs["multiplier"], Decimal(str(theirs["pnl"]))) == (100, position.pnl())
