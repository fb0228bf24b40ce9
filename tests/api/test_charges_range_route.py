"""A range of days' charges in one request (`GET /api/charges?since=…&until=…`): each day as
`?day=` answers it, and the range's sums by kind, its P&L and its P&L after charges. A month's
charges for the accounts took a request a day, summed by hand (`since` was "not a parameter of
this route")."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.api.desk import DayRecord
from orderdesk.domain import InstrumentKey
from orderdesk.errors import InputRejected
from tests.api.conftest import Api
from tests.api.test_charges_expired_route import EXPIRED, refuse_in_the_call
from tests.api.test_routes import submit

MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
WEDNESDAY = date(2026, 12, 9)
INFY = InstrumentKey.parse("NSE:INFY")
KINDS = (
    "brokerage",
    "transaction_tax",
    "exchange_turnover_charge",
    "sebi_turnover_charge",
    "stamp_duty",
    "gst",
    "total",
)


async def get(api: Api, path: str) -> tuple[int, Any]:
    async with api.client.get(path) as response:
        return response.status, await response.json()


async def filled(api: Api, signal_id: str, price: str, side: str = "BUY") -> None:
    status, body = await submit(api, signal_id=signal_id, side=side, price=price)
    assert status == 201, body
    api.desk.fill(body["order"]["order_id"], Decimal(price))


async def three_days(api: Api) -> None:
    """Monday: a buy marked up at the close; Tuesday: a round trip, its close an estimate (a
    square-off inferred late); Wednesday (open): a sale marked live."""
    desk = api.desk
    desk.open_day(MONDAY)
    await filled(api, "mon", "1490")
    desk.tick(INFY, Decimal("1500"))
    desk.close_day()
    desk.next_day(TUESDAY)
    await filled(api, "tue-buy", "1500")
    await filled(api, "tue-sell", "1520", side="SELL")
    close = desk.close_day()
    estimated = tuple(dataclasses.replace(p, estimated=True) for p in close.positions)
    desk.records[-1] = DayRecord(
        desk.records[-1].opened, dataclasses.replace(close, positions=estimated)
    )
    desk.next_day(WEDNESDAY)
    await filled(api, "wed", "1510", side="SELL")
    desk.tick(INFY, Decimal("1505"))


async def day_answers(api: Api, *days: date) -> list[Any]:
    answers = []
    for day in days:
        status, body = await get(api, f"/api/charges?day={day.isoformat()}")
        assert status == 200, body
        answers.append(body)
    return answers


async def test_a_range_is_each_days_answer_and_their_sums(api: Api) -> None:
    await three_days(api)
    status, ranged = await get(api, "/api/charges?since=2026-12-01&until=2026-12-31")
    assert status == 200, ranged
    each = await day_answers(api, WEDNESDAY, TUESDAY, MONDAY)
    assert (ranged["since"], ranged["until"]) == ("2026-12-01", "2026-12-31")
    assert ranged["days"] == each  # newest first, each as `?day=` answers it
    for kind in KINDS:
        assert Decimal(ranged["charges"][kind]) == sum(
            (Decimal(day["charges"][kind]) for day in each), Decimal(0)
        ), kind
    # 20 an order and 0.1% of its turnover, by the fake's calculator: four orders of 10 shares;
    # and Wednesday's sale of Monday's stock, from holdings: the DP charge, 13.50 + GST.
    turnover = 10 * (1490 + 1500 + 1520 + 1510)
    dp = Decimal("15.93")
    assert Decimal(ranged["charges"]["total"]) == 4 * 20 + Decimal(turnover) / 1000 + dp
    pnl = sum((Decimal(day["pnl"]) for day in each), Decimal(0))
    assert pnl != 0
    assert Decimal(ranged["pnl"]) == pnl
    assert Decimal(ranged["net"]) == pnl - Decimal(ranged["charges"]["total"])


async def test_an_estimated_day_is_said_on_its_line_and_on_the_range(api: Api) -> None:
    await three_days(api)
    _, ranged = await get(api, "/api/charges?since=2026-12-07&until=2026-12-09")
    assert [(day["day"], day["estimated"]) for day in ranged["days"]] == [
        ("2026-12-09", False),
        ("2026-12-08", True),
        ("2026-12-07", False),
    ]
    assert ranged["estimated"] is True
    _, exact = await get(api, "/api/charges?since=2026-12-09")
    assert ([day["day"] for day in exact["days"]], exact["estimated"]) == (["2026-12-09"], False)


async def test_either_end_may_be_left_open(api: Api) -> None:
    await three_days(api)
    _, early = await get(api, "/api/charges?until=2026-12-08")
    assert ([day["day"] for day in early["days"]], early["since"]) == (
        ["2026-12-08", "2026-12-07"],
        None,
    )
    _, later = await get(api, "/api/charges?since=2026-12-08")
    assert [day["day"] for day in later["days"]] == ["2026-12-09", "2026-12-08"]
    _, none = await get(api, "/api/charges?since=2026-12-10")
    assert none["days"] == []
    assert Decimal(none["charges"]["total"]) == Decimal(none["net"]) == 0


async def test_a_day_with_an_uncharged_order_leaves_the_ranges_net_unknown(api: Api) -> None:
    await three_days(api)
    refuse_in_the_call(
        api.desk, "NSE:INFY", InputRejected(EXPIRED, http_status=400, error_type="InputException")
    )
    _, ranged = await get(api, "/api/charges?since=2026-12-07")
    assert all(day["uncharged"] for day in ranged["days"])
    # The calculator priced no order; the DP charge of Wednesday's sale from holdings is the
    # desk's own figure.
    assert Decimal(ranged["charges"]["total"]) == Decimal("15.93")
    assert ranged["net"] is None
    assert ranged["pnl"] is not None


async def test_the_days_answer_is_unchanged(api: Api) -> None:
    await three_days(api)
    _, today = await get(api, "/api/charges")
    assert today["day"] == "2026-12-09"
    assert {"day", "orders", "charges", "pnl", "net", "uncharged", "estimated"} <= set(today)
    assert not {"since", "until", "days"} & set(today)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("day=2026-12-08&since=2026-12-01", "day"),
        ("day=2026-12-08&until=2026-12-31", "day"),
        ("since=2026-12-09&until=2026-12-08", "until"),
        ("since=20261201", "since"),
        ("until=2026-13-01", "until"),
    ],
)
async def test_a_range_it_cannot_answer_is_refused_as_trades_refuses_it(
    api: Api, query: str, field: str
) -> None:
    await three_days(api)
    status, body = await get(api, f"/api/charges?{query}")
    assert status == 422, body
    assert body["error"] == "invalid_request"
    assert [f["field"] for f in body["fields"]] == [field]
    # The same words as the trade book's range, parameter by parameter.
    _, trades = await get(api, f"/api/trades?{query}")
    assert body["fields"] == trades["fields"]
