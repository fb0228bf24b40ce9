"""A trade's value over the API is quantity × price × the contract's multiplier, as Kite's
``buy_value`` counts it: an MCX or currency lot is many quoted units, an equity share is one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orderdesk.client import DeskClient
from tests.api.conftest import TOKEN, Api
from tests.api.test_routes import submit


async def traded(api: Api, instrument: str, side: str, quantity: int, price: str) -> str:
    """A limit order for ``instrument`` placed through the API and filled whole at ``price``."""
    product = "CNC" if instrument.startswith("NSE:") else "NRML"
    _, body = await submit(
        api,
        instrument=instrument,
        side=side,
        quantity=quantity,
        price=price,
        product=product,
        signal_id=f"{instrument}-{side}".replace(":", "-"),
    )
    order_id: str = body["order"]["order_id"]
    api.desk.fill(order_id, Decimal(price))
    return order_id


@pytest.mark.parametrize(
    ("instrument", "side", "quantity", "price", "value"),
    [
        ("MCX:CRUDEOIL26DECFUT", "BUY", 2, "5613", "1122600"),  # 100 barrels a lot
        ("MCX:GOLDM26DECFUT", "SELL", 1, "121000", "1210000"),  # 10 × 10 g a lot
        ("CDS:USDINR26DECFUT", "BUY", 3, "83.2525", "249757.50"),  # 1,000 dollars a lot
        ("NSE:INFY", "BUY", 10, "1500.05", "15000.50"),  # a share is a share
    ],
)
async def test_a_trades_value_counts_the_contract_multiplier(
    api: Api, instrument: str, side: str, quantity: int, price: str, value: str
) -> None:
    """Each trade row carries its value, to the paisa, with the lot's multiplier in it."""
    order_id = await traded(api, instrument, side, quantity, price)
    async with api.client.get("/api/trades") as response:
        assert response.status == 200
        trades: list[dict[str, Any]] = await response.json()
    [trade] = trades
    assert (trade["order_id"], trade["quantity"], Decimal(trade["price"])) == (
        order_id,
        quantity,
        Decimal(price),
    )
    assert Decimal(trade["value"]) == Decimal(value)


async def test_the_client_reads_a_trades_value(api: Api) -> None:
    """The Python client's TradeOut has the same value the route answers."""
    await traded(api, "MCX:CRUDEOIL26DECFUT", "BUY", 2, "5613")
    async with DeskClient(api.server.url, TOKEN) as desk:
        [trade] = await desk.trades()
    assert trade.value == Decimal("1122600")
