"""A price written with an exponent (``"1.4e3"``) is taken as the plain number it is: the
order the API echoes, the signal the desk records and every later view say ``1400``, not
``1.4E+3``; a price written plainly keeps its digits as they were sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.api.schemas import ModifyIn, SignalIn
from orderdesk.engine import OrderDesk
from tests.api.conftest import AUTH, TOKEN, Api
from tests.engine.fakes import MemoryStore
from tests.engine.trigger_broker import TriggerBroker

SIGNAL: dict[str, Any] = {
    "instrument": "NSE:INFY",
    "side": "BUY",
    "quantity": 10,
    "order_type": "LIMIT",
    "product": "CNC",
}
FAST_PATH = {"Content-Type": "application/json"}
FASTAPI_ROUTE = {"Content-Type": "application/json; charset=utf-8"}


async def submitted(api: Api, headers: dict[str, str], **fields: Any) -> tuple[int, Any]:
    async with api.client.post(
        "/api/signals", json={**SIGNAL, **fields}, headers=headers
    ) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("headers", [FAST_PATH, FASTAPI_ROUTE], ids=["fast-path", "route"])
async def test_an_exponent_price_is_echoed_and_kept_plain(
    api: Api, headers: dict[str, str]
) -> None:
    """``"1.4e3"`` comes back as ``"1400"`` from the signal path and from FastAPI's route alike,
    the desk is handed 1400, and the order read back later says 1400."""
    status, reply = await submitted(api, headers, price="1.4e3")
    assert status == 201, reply
    assert reply["order"]["price"] == "1400"
    assert str(api.desk.submitted[-1].price) == "1400"
    async with api.client.get(f"/api/orders/{reply['order']['order_id']}") as response:
        assert (await response.json())["price"] == "1400"


@pytest.mark.parametrize("headers", [FAST_PATH, FASTAPI_ROUTE], ids=["fast-path", "route"])
@pytest.mark.parametrize("name", ["square_off", "external"])
async def test_a_signal_may_not_take_the_name_of_the_desks_own_orders(
    api: Api, headers: dict[str, str], name: str
) -> None:
    """A strategy called ``square_off`` or ``external`` would have its orders read as the
    desk's own square-off or as adopted ones (and credited so in the strategies' books): the
    signal is refused before anything is placed."""
    placed = len(api.desk.submitted)
    status, reply = await submitted(api, headers, price="1400", strategy=name)
    assert status == 422, reply
    assert "the name of the desk's own orders" in str(reply)
    assert len(api.desk.submitted) == placed


async def test_a_stop_and_market_protection_are_plain_too(api: Api) -> None:
    """Every money field of a signal is made plain: a trigger of ``"1.39E+3"`` is 1390, a
    market protection of ``"1e1"`` is 10."""
    status, reply = await submitted(
        api, FAST_PATH, order_type="SL", price="1.4e3", trigger_price="1.39E+3"
    )
    assert status == 201, reply
    assert (reply["order"]["price"], reply["order"]["trigger_price"]) == ("1400", "1390")
    status, reply = await submitted(
        api, FAST_PATH, order_type="MARKET", market_protection="1e1", signal_id="mp"
    )
    assert status == 201, reply
    assert str(api.desk.submitted[-1].market_protection) == "10"


async def test_a_signal_waiting_for_approval_shows_the_plain_price(api: Api) -> None:
    """The pending signal the approval queue answers with (202) carries 1400."""
    status, reply = await submitted(api, FAST_PATH, price="1.4e3", strategy="careful")
    assert status == 202, reply
    assert reply["pending"]["signal"]["price"] == "1400"


async def test_a_modify_with_an_exponent_price_is_plain(api: Api) -> None:
    """New terms of ``"1.5e3"`` make the order's price 1500."""
    _, reply = await submitted(api, FAST_PATH, price="1400")
    order_id = reply["order"]["order_id"]
    async with api.client.patch(f"/api/orders/{order_id}", json={"price": "1.5e3"}) as response:
        assert response.status == 200, await response.text()
        assert (await response.json())["price"] == "1500"


@pytest.mark.parametrize(
    ("sent", "shown"),
    [("1500.50", "1500.50"), ("1400", "1400"), (1500.05, "1500.05"), (1.4e3, "1400.0")],
)
async def test_a_plain_price_keeps_its_digits(api: Api, sent: object, shown: str) -> None:
    """Only an exponent is taken away: a trailing zero sent stays, and a JSON number reads as
    FastAPI's parse has always read it (1.4e3 is the float 1400.0)."""
    status, reply = await submitted(api, FAST_PATH, price=sent)
    assert status == 201, reply
    assert reply["order"]["price"] == shown


def test_the_request_models_make_prices_plain_where_they_are_built() -> None:
    """The CLI builds the same request models from ``--price 1.4e3``, so what it sends, and
    prints with ``--json``, is plain before the desk sees it."""
    signal = SignalIn.model_validate({**SIGNAL, "price": Decimal("1.4e3")})
    assert signal.model_dump(mode="json")["price"] == "1400"
    assert str(signal.to_signal().price) == "1400"
    assert ModifyIn(price=Decimal("2E+2")).model_dump(mode="json")["price"] == "200"


@pytest.fixture
async def engine_api() -> AsyncIterator[tuple[MemoryStore, aiohttp.ClientSession]]:
    """The app over a real desk (paper fills, INFY at 1500) and the store it records in."""
    store = MemoryStore()
    async with OrderDesk(TriggerBroker(), store) as desk:
        server = await serve_api(create_app(EngineDesk(desk), token=TOKEN), "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession(base_url=server.url, headers=AUTH) as client:
                yield store, client
        finally:
            await server.stop()


async def test_the_recorded_signal_and_a_gtt_are_plain_on_a_real_desk(
    engine_api: tuple[MemoryStore, aiohttp.ClientSession],
) -> None:
    """Through the engine, the signal's event is stored with 1400 (what a replay and every
    view read), and a GTT sent with exponents lists its trigger and leg plainly."""
    store, client = engine_api
    async with client.post("/api/signals", json={**SIGNAL, "price": "1.4e3"}) as response:
        assert response.status == 201, await response.text()
    [created] = [row for row in store.rows if row.type == "OrderCreated"]
    assert created.payload["signal"]["price"] == "1400"
    gtt = {
        "instrument": "NSE:INFY",
        "trigger_values": ["1.4e3"],
        "last_price": "1.5E+3",
        "orders": [{"side": "SELL", "quantity": 10, "price": "1.39e3"}],
    }
    async with client.post("/api/gtt", json=gtt) as response:
        reply = await response.json()
        assert response.status == 201, reply
    assert [leg["price"] for leg in reply["orders"]] == ["1390"]
    assert "1400" in reply["condition"]
    assert "E+" not in str(reply)
