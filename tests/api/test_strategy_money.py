"""``GET /api/strategies`` shows money to the paisa, as the days do: a strategy's totals and
its positions' P&L read ``-0.12``, never ``-0.1250`` beside a bare ``0``."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.domain import InstrumentKey
from tests.api.conftest import Api
from tests.api.test_routes import submit

INFY = InstrumentKey.parse("NSE:INFY")


async def test_a_strategys_money_is_shown_to_the_paisa(api: Api) -> None:
    """A fill at a price of four places, marked at a round one: 10 x (1500 - 1500.0125) is
    -0.125, shown -0.12 (half to even) in the totals and the position, realised 0.00."""
    _, placed = await submit(api, signal_id="paisa-1", quantity=10, strategy="swing")
    api.desk.fill(placed["order"]["order_id"], Decimal("1500.0125"))
    api.desk.tick(INFY, Decimal("1500"))
    async with api.client.get("/api/strategies") as response:
        (swing,) = await response.json()

    totals = swing["realised"], swing["unrealised"], swing["pnl"]
    assert totals == ("0.00", "-0.12", "-0.12")
    (position,) = swing["positions"]
    assert (position["realised"], position["unrealised"], position["pnl"]) == totals
    assert position["average_price"] == "1500.0125"  # a price, not money: kept as it is
