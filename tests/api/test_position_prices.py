"""A position's prices read at one scale in the API's answers, as the CLI and the dashboard
show them: every decimal they have, at least 2 and at most 4 (Kite's finest tick, 0.0025).

An operator saw one position's price as ``25250`` and another's as ``25250.00`` (an average
``1500.0000`` beside a last price ``1510.5``): the broker's numbers kept their own scale, while
the P&L beside them is to the paisa. Two places for every price would have rounded a currency
future's ``88.1125``, its tick 0.0025."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from orderdesk.domain import InstrumentKey
from orderdesk.domain.day import Holding
from tests.api.conftest import Api
from tests.api.test_routes import submit

INFY = InstrumentKey.parse("NSE:INFY")
USDINR = InstrumentKey.parse("CDS:USDINR26DECFUT")
THURSDAY = date(2026, 12, 3)
FRIDAY = date(2026, 12, 4)
HELD = Holding(
    instrument=INFY,
    quantity=10,
    t1_quantity=0,
    average_price=Decimal("1450.5"),
    close_price=Decimal("1500"),
)


async def get(api: Api, path: str) -> Any:
    async with api.client.get(path) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def bought(api: Api, price: str, last: str, **fields: Any) -> None:
    """A buy filled at ``price`` (as the broker's number, its own scale), marked at ``last``."""
    _, placed = await submit(api, price=price, **fields)
    api.desk.fill(placed["order"]["order_id"], Decimal(price))
    instrument = InstrumentKey.parse(fields.get("instrument", "NSE:INFY"))
    api.desk.tick(instrument, Decimal(last))


def prices(lines: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {line["instrument"]: (line["average_price"], line["last_price"]) for line in lines}


async def a_day_of_an_equity_and_a_currency_future(api: Api) -> None:
    """INFY bought at 1500, last 1510.5; USDINR bought at 88.1125, last 88.1150."""
    api.desk.open_day(THURSDAY)
    await bought(api, "1500", "1510.5", signal_id="infy")
    await bought(
        api,
        "88.1125",
        "88.1150",
        signal_id="usdinr",
        instrument=str(USDINR),
        product="NRML",
        quantity=1,
    )


EXPECTED = {
    "NSE:INFY": ("1500.00", "1510.50"),
    "CDS:USDINR26DECFUT": ("88.1125", "88.115"),
}
"""Two places at least, the currency future's four kept (its trailing zero is no tick's)."""


async def test_positions_read_their_prices_at_one_scale_keeping_a_currency_futures_tick(
    api: Api,
) -> None:
    await a_day_of_an_equity_and_a_currency_future(api)

    assert prices(await get(api, "/api/positions")) == EXPECTED
    (book,) = await get(api, "/api/strategies")
    assert prices(book["positions"]) == EXPECTED
    today = await get(api, f"/api/days/{THURSDAY}")
    assert prices(today["positions"]) == EXPECTED


async def test_a_closed_days_positions_and_the_holdings_read_so_too(api: Api) -> None:
    await a_day_of_an_equity_and_a_currency_future(api)
    api.desk.close_day()
    api.desk.next_day(FRIDAY, holdings=[HELD])

    closed = await get(api, f"/api/days/{THURSDAY}")
    assert prices(closed["positions"]) == EXPECTED
    ((holding,), friday) = await get(api, "/api/holdings"), await get(api, f"/api/days/{FRIDAY}")
    assert (holding["average_price"], holding["close_price"]) == ("1450.50", "1500.00")
    assert friday["holdings"] == [holding]


async def test_the_figures_are_rounded_only_as_shown(api: Api) -> None:
    """The desk's own position keeps the numbers it computes with."""
    await a_day_of_an_equity_and_a_currency_future(api)
    await get(api, "/api/positions")

    (line,) = [p for p in api.desk.day_positions() if p.instrument == INFY]
    assert str(line.average_price) == "1500.0000"
    assert str(line.last_price) == "1510.5"
