"""The trade book over the API: today's trades, one trading day's, a range of days, and the
requests it refuses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.client import DeskClient
from tests.api.conftest import TOKEN, Api
from tests.api.test_routes import submit

WEDNESDAY = date(2026, 12, 2)
THURSDAY = date(2026, 12, 3)
FRIDAY = date(2026, 12, 4)


async def get(api: Api, path: str) -> tuple[int, Any]:
    async with api.client.get(path) as response:
        return response.status, await response.json()


async def filled(api: Api, signal_id: str, price: str, side: str = "BUY") -> str:
    _, body = await submit(api, signal_id=signal_id, side=side, price=price)
    order_id: str = body["order"]["order_id"]
    api.desk.fill(order_id, Decimal(price))
    return order_id


async def three_days(api: Api) -> dict[date, str]:
    """A filled order on Wednesday, Thursday and Friday (open): each day's order id."""
    orders: dict[date, str] = {}
    api.desk.open_day(WEDNESDAY)
    orders[WEDNESDAY] = await filled(api, "wed", "1490")
    api.desk.close_day()
    api.desk.next_day(THURSDAY)
    orders[THURSDAY] = await filled(api, "thu", "1510", side="SELL")
    api.desk.close_day()
    api.desk.next_day(FRIDAY)
    orders[FRIDAY] = await filled(api, "fri", "1500")
    return orders


def days_and_orders(trades: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(t["day"], t["order_id"]) for t in trades]


async def test_todays_trades_name_their_day(api: Api) -> None:
    orders = await three_days(api)
    status, trades = await get(api, "/api/trades")
    assert status == 200
    assert days_and_orders(trades) == [("2026-12-04", orders[FRIDAY])]
    [trade] = trades
    assert (trade["side"], trade["quantity"], Decimal(trade["price"])) == ("BUY", 10, 1500)
    assert trade["exchange_order_id"] is None  # the fake broker gives none


async def test_one_earlier_days_trades(api: Api) -> None:
    orders = await three_days(api)
    status, trades = await get(api, "/api/trades?day=2026-12-03")
    assert status == 200
    assert days_and_orders(trades) == [("2026-12-03", orders[THURSDAY])]
    assert trades[0]["side"] == "SELL"


async def test_a_range_of_days_newest_first(api: Api) -> None:
    orders = await three_days(api)
    _, every = await get(api, "/api/trades?since=2026-12-01")
    assert days_and_orders(every) == [
        ("2026-12-04", orders[FRIDAY]),
        ("2026-12-03", orders[THURSDAY]),
        ("2026-12-02", orders[WEDNESDAY]),
    ]
    _, middle = await get(api, "/api/trades?since=2026-12-03&until=2026-12-03")
    assert days_and_orders(middle) == [("2026-12-03", orders[THURSDAY])]
    _, early = await get(api, "/api/trades?until=2026-12-03")
    assert days_and_orders(early) == [
        ("2026-12-03", orders[THURSDAY]),
        ("2026-12-02", orders[WEDNESDAY]),
    ]
    _, none = await get(api, "/api/trades?since=2026-12-05")
    assert none == []


async def test_a_day_the_log_does_not_hold_is_not_found(api: Api) -> None:
    await three_days(api)
    status, body = await get(api, "/api/trades?day=2026-12-01")
    assert status == 404
    assert "2026-12-01" in body["message"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("day=2026-12-03&since=2026-12-01", "day"),
        ("day=2026-12-03&until=2026-12-04", "day"),
        ("since=2026-12-04&until=2026-12-03", "until"),
        ("day=20261203", "day"),
        ("since=2026-13-01", "since"),
        ("from=2026-12-01", "from"),
    ],
)
async def test_a_request_it_cannot_answer_names_the_parameter(
    api: Api, query: str, field: str
) -> None:
    await three_days(api)
    status, body = await get(api, f"/api/trades?{query}")
    assert status == 422, body
    assert body["error"] == "invalid_request"
    assert [f["field"] for f in body["fields"]] == [field]


async def test_the_client_reads_trades_and_funds(api: Api) -> None:
    orders = await three_days(api)
    async with DeskClient(api.server.url, TOKEN) as desk:
        assert [t.order_id for t in await desk.trades()] == [orders[FRIDAY]]
        thursday = await desk.trades(day=THURSDAY)
        assert [(t.day, t.order_id) for t in thursday] == [(THURSDAY, orders[THURSDAY])]
        ranged = await desk.trades(since=WEDNESDAY, until=THURSDAY)
        assert [t.day for t in ranged] == [THURSDAY, WEDNESDAY]
        funds = await desk.funds()
        assert funds.equity is not None
        assert funds.equity.net == Decimal("100000")


async def test_a_days_charges_order_by_order_and_the_pnl_after_them(api: Api) -> None:
    """Thursday's executed sell is charged as the calculator says (20 + 0.1% of 15,100), the
    day with the DP charge of a sale from holdings (13.50 + GST: the stock was bought on an
    earlier day), and its P&L at the close comes out net of both; an order that did not trade
    is not charged."""
    orders = await three_days(api)
    status, thursday = await get(api, "/api/charges?day=2026-12-03")
    assert status == 200, thursday
    [charged] = thursday["orders"]
    assert (charged["order_id"], charged["side"], charged["quantity"]) == (
        orders[THURSDAY],
        "SELL",
        10,
    )
    assert Decimal(charged["total"]) == Decimal("35.1")  # 20 + 15,100 / 1,000
    [held] = thursday["held_sales"]
    assert (held["instrument"], held["quantity"], Decimal(held["total"])) == (
        "NSE:INFY",
        10,
        Decimal("15.93"),
    )
    assert Decimal(thursday["charges"]["total"]) == Decimal("51.03")
    assert thursday["pnl"] is not None
    assert Decimal(thursday["net"]) == Decimal(thursday["pnl"]) - Decimal("51.03")

    await submit(api, signal_id="fri-resting", price="1400")  # rests: nothing to charge
    status, today = await get(api, "/api/charges")
    assert status == 200, today
    assert today["day"] == "2026-12-04"
    assert [o["order_id"] for o in today["orders"]] == [orders[FRIDAY]]
    [asked] = api.desk.charged[-1:]
    assert [(r.filled_quantity, r.average_price) for r in asked] == [(10, Decimal("1500"))]


async def test_charges_of_a_day_not_in_the_log_or_at_a_broker_without_a_calculator(
    api: Api,
) -> None:
    await three_days(api)
    status, body = await get(api, "/api/charges?day=2026-12-01")
    assert status == 404, body
    api.desk.charges_offered = False
    status, body = await get(api, "/api/charges")
    assert status == 501, body
    assert body["error"] == "not_offered"


async def test_a_day_without_trades_costs_nothing(api: Api) -> None:
    api.desk.open_day(WEDNESDAY)
    await submit(api, signal_id="resting", price="1400")
    status, body = await get(api, "/api/charges")
    assert status == 200, body
    assert (body["orders"], Decimal(body["charges"]["total"])) == ([], 0)
    assert api.desk.charged == [[]]  # the resting order is not asked about


async def test_the_client_reads_a_days_charges(api: Api) -> None:
    orders = await three_days(api)
    async with DeskClient(api.server.url, TOKEN) as desk:
        thursday = await desk.charges(THURSDAY)
        assert [o.order_id for o in thursday.orders] == [orders[THURSDAY]]
        today = await desk.charges()
        assert (today.day, today.charges.brokerage) == (FRIDAY, 20)
