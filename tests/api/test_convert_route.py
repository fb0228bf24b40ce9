"""``POST /api/positions/convert``: the request reaches the desk as a conversion, the desk's
refusals come back naming the field, and a bad request is refused before the desk is asked."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderdesk.domain import InstrumentKey, Product, Side
from orderdesk.domain.conversion import PositionConversion
from tests.api.conftest import Api
from tests.api.test_routes import submit


async def test_a_conversion_reaches_the_desk_and_is_told_back(api: Api) -> None:
    body = {
        "instrument": "NFO:NIFTY26DECFUT",
        "from_product": "NRML",
        "to_product": "MIS",
        "quantity": 65,
        "overnight": True,
    }
    async with api.client.post("/api/positions/convert", json=body) as response:
        assert response.status == 200, await response.text()
        reply = await response.json()
    assert (
        reply["detail"]
        == "converted NFO:NIFTY26DECFUT: 65 of the carried long NRML position to MIS"
    )
    assert api.desk.conversions == [
        PositionConversion(
            instrument=InstrumentKey.parse("NFO:NIFTY26DECFUT"),
            side=Side.BUY,
            quantity=65,
            old_product=Product.NRML,
            new_product=Product.MIS,
            overnight=True,
        )
    ]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"from_product": "MIS", "to_product": "NRML", "quantity": 1}, 400, "to_product: NRML"),
        ({"from_product": "MIS", "to_product": "CNC"}, 400, "no MIS position in NSE:INFY"),
        ({"from_product": "MIS", "to_product": "CO", "quantity": 1}, 422, "to_product"),
        ({"from_product": "MIS", "to_product": "CNC", "quantity": 0}, 422, "quantity"),
        ({"from_product": "MIS", "to_product": "CNC", "quantity": "5"}, 422, "quantity"),
        ({"from_product": "MIS", "to_product": "CNC", "side": "BUY"}, 422, "side"),
    ],
)
async def test_refusals_name_the_field_and_convert_nothing(
    api: Api, body: dict[str, object], status: int, words: str
) -> None:
    async with api.client.post(
        "/api/positions/convert", json={"instrument": "NSE:INFY", **body}
    ) as response:
        assert response.status == status
        assert words in await response.text()
    assert api.desk.conversions == []


async def test_the_answer_shows_the_positions_as_the_live_list_does(api: Api) -> None:
    """A conversion's answer shows the positions as ``GET /api/positions`` does: a contract that
    expired with the closed day reads settled, its whole P&L realised."""
    future = "NFO:NIFTY26DECFUT"
    _, placed = await submit(
        api, instrument=future, quantity=65, price="24000", product="NRML", signal_id="fut-1"
    )
    api.desk.fill(placed["order"]["order_id"], Decimal("24000"))
    api.desk.tick(InstrumentKey.parse(future), Decimal("24010"))
    api.desk.settled.add(InstrumentKey.parse(future))
    body = {"instrument": future, "from_product": "NRML", "to_product": "MIS", "quantity": 65}
    async with api.client.post("/api/positions/convert", json=body) as response:
        assert response.status == 200, await response.text()
        (line,) = (await response.json())["positions"]
    async with api.client.get("/api/positions") as response:
        assert await response.json() == [line]
    figures = (Decimal(line["realised"]), Decimal(line["unrealised"]), Decimal(line["pnl"]))
    assert figures == (650, 0, 650)  # 65 x (24010 - 24000), realised with the settlement
