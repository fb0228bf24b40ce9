"""Trading days over the API: the list of days, a past day read from its close, today live,
holdings, and orders of earlier days found by id."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from orderdesk.domain import InstrumentKey
from orderdesk.domain.day import Holding
from orderdesk.domain.events import OperatorCommandHandled
from tests.api.conftest import Api
from tests.api.test_routes import submit

THURSDAY = date(2026, 12, 3)
FRIDAY = date(2026, 12, 4)
INFY = InstrumentKey.parse("NSE:INFY")
HELD = Holding(
    instrument=INFY,
    quantity=10,
    t1_quantity=5,
    average_price=Decimal("1450.5"),
    close_price=Decimal("1500"),
)


async def get(api: Api, path: str) -> tuple[int, Any]:
    async with api.client.get(path) as response:
        return response.status, await response.json()


async def a_closed_thursday(api: Api) -> str:
    """Thursday: a buy filled at 1500 marked at 1510 (P&L 100), a resting sell, then the close;
    Friday opens with a holding. Returns Thursday's filled order id."""
    api.desk.open_day(THURSDAY)
    _, filled = await submit(api, signal_id="thu-1")
    order_id: str = filled["order"]["order_id"]
    api.desk.fill(order_id, Decimal("1500"))
    api.desk.tick(INFY, Decimal("1510"))
    await submit(api, signal_id="thu-2", side="SELL", price="1600")
    api.desk.close_day()
    api.desk.next_day(FRIDAY, holdings=[HELD])
    return order_id


async def test_days_list_newest_first_with_today_live(api: Api) -> None:
    """The list has Friday (live, from the desk now) above Thursday (from its close)."""
    await a_closed_thursday(api)
    _, placed = await submit(api, signal_id="fri-1", price="1490")
    api.desk.fill(placed["order"]["order_id"], Decimal("1490"))
    api.desk.tick(INFY, Decimal("1495"))

    status, days = await get(api, "/api/days")

    assert status == 200
    assert [d["day"] for d in days] == ["2026-12-04", "2026-12-03"]
    friday, thursday = days
    assert friday["live"] is True
    assert friday["closed_at"] is None
    assert Decimal(friday["pnl"]) == Decimal("50")  # 10 x (1495 - 1490)
    assert (friday["orders"], friday["fills"]) == (1, 1)
    assert thursday["live"] is False
    assert thursday["closed_at"] is not None
    assert Decimal(thursday["pnl"]) == Decimal("100")
    assert Decimal(thursday["realised"]) == Decimal("0")
    assert (thursday["orders"], thursday["fills"], thursday["lapsed"]) == (2, 1, 0)
    assert set(friday) == {
        "day",
        "live",
        "opened_at",
        "closed_at",
        "pnl",
        "realised",
        "orders",
        "fills",
        "lapsed",
        "carried_positions",
        "holdings",
        "estimated",
        "close_waits",
        "missed",
        "missed_move",
    }


async def test_a_range_of_days_is_those_days_only(api: Api) -> None:
    """since and until pick the days between them (both included, either open); a range that
    ends before it starts, or a malformed day, is a 422 naming the parameter."""
    await a_closed_thursday(api)
    ranges = {
        "?since=2026-12-04": ["2026-12-04"],
        "?until=2026-12-03": ["2026-12-03"],
        "?since=2026-12-03&until=2026-12-04": ["2026-12-04", "2026-12-03"],
        "?since=2026-12-01&until=2026-12-02": [],
        "": ["2026-12-04", "2026-12-03"],
    }
    for query, wanted in ranges.items():
        status, days = await get(api, f"/api/days{query}")
        assert (status, [d["day"] for d in days]) == (200, wanted), query
    status, body = await get(api, "/api/days?since=2026-12-04&until=2026-12-03")
    assert (status, body["fields"][0]["field"]) == (422, "until")
    assert body["fields"][0]["reason"] == "2026-12-03 is before since (2026-12-04)"
    status, body = await get(api, "/api/days?since=last-monday")
    assert (status, body["fields"][0]["field"]) == (422, "since")


async def test_a_past_day_reads_back_from_its_close(api: Api) -> None:
    """GET /api/days/{day} for a closed day gives its closing positions, its orders newest
    first, and the order still working at the close."""
    await a_closed_thursday(api)

    status, day = await get(api, "/api/days/2026-12-03")

    assert status == 200
    assert day["live"] is False
    assert Decimal(day["pnl"]) == Decimal("100")
    [position] = day["positions"]
    assert position["instrument"] == "NSE:INFY"
    assert (position["quantity"], position["buy_quantity"]) == (10, 10)
    assert position["last_price"] == "1510.00"
    assert [o["side"] for o in day["orders"]] == ["SELL", "BUY"]
    assert day["still_open"] == [day["orders"][0]["order_id"]]
    assert day["lapsed"] == []


async def test_today_in_full_is_live(api: Api) -> None:
    """GET /api/days/{today} shows the desk's positions now and the holdings it opened with."""
    await a_closed_thursday(api)
    _, placed = await submit(api, signal_id="fri-1", price="1490")

    status, day = await get(api, "/api/days/2026-12-04")

    assert status == 200
    assert day["live"] is True
    assert day["positions"] == []
    assert [o["order_id"] for o in day["orders"]] == [placed["order"]["order_id"]]
    assert day["still_open"] == [placed["order"]["order_id"]]
    assert Decimal(day["pnl"]) == Decimal("0")
    assert [h["instrument"] for h in day["holdings"]] == ["NSE:INFY"]


async def test_a_live_day_whose_close_waits_for_the_broker_says_so(api: Api) -> None:
    """A close the desk missed waits for the login: the list and the day say that, which
    `orderdesk days` could not tell from a day with no price yet (both "live, estimated")."""
    await a_closed_thursday(api)
    api.desk.waiting_close = True

    _, (friday, thursday) = await get(api, "/api/days")
    _, detail = await get(api, "/api/days/2026-12-04")

    assert (friday["live"], friday["close_waits"]) == (True, True)
    assert detail["close_waits"] is True
    assert thursday["close_waits"] is False  # closed: nothing waits


async def test_a_day_not_in_the_log_is_404_and_a_bad_date_422(api: Api) -> None:
    """A well-formed day the log does not hold is a 404; a malformed one is a 422 naming it."""
    await a_closed_thursday(api)
    status, missing = await get(api, "/api/days/2026-12-01")
    assert (status, missing["error"]) == (404, "not_found")
    assert "2026-12-01" in missing["message"]
    for bad in ("2026-13-01", "1764806400", "yesterday"):
        status, body = await get(api, f"/api/days/{bad}")
        assert (status, body["error"]) == (422, "invalid_request"), bad
        assert body["fields"][0]["field"] == "day"


async def test_holdings_are_those_the_day_opened_with(api: Api) -> None:
    """GET /api/holdings answers today's opening holdings, settled and T1 apart."""
    assert (await get(api, "/api/holdings")) == (200, [])
    await a_closed_thursday(api)

    status, holdings = await get(api, "/api/holdings")

    assert status == 200
    assert holdings == [
        {
            "instrument": "NSE:INFY",
            "quantity": 10,
            "t1_quantity": 5,
            "average_price": "1450.50",
            "close_price": "1500.00",
            "sold_today": 0,
        }
    ]


async def test_an_earlier_days_order_is_found_by_id(api: Api) -> None:
    """GET /api/orders/{id} finds Thursday's order on Friday, though today's list omits it."""
    order_id = await a_closed_thursday(api)

    status, order = await get(api, f"/api/orders/{order_id}")
    _, today = await get(api, "/api/orders")

    assert (status, order["status"]) == (200, "FILLED")
    assert today == []


async def test_a_sale_out_of_holdings_reads_as_stock_sold(api: Api) -> None:
    """Friday sells 10 of the 15 held (closed at 1500) at 1610, then 1700: the position is the
    broker's short, marked as from holdings, +1,100 for the desk and the strategy; the holding
    says what was sold; an exit has nothing to buy back and says why."""
    await a_closed_thursday(api)
    _, placed = await submit(
        api, signal_id="fri-sell", side="SELL", quantity=10, price="1610", strategy="swing"
    )
    api.desk.fill(placed["order"]["order_id"], Decimal("1610"))
    api.desk.tick(INFY, Decimal("1700"))

    _, (position,) = await get(api, "/api/positions")
    _, (holding,) = await get(api, "/api/holdings")
    _, strategies = await get(api, "/api/strategies")
    body = {"instrument": "NSE:INFY", "product": "CNC"}
    async with api.client.post("/api/positions/exit", json=body) as response:
        exit_ = await response.json()

    assert (position["quantity"], position["from_holdings"]) == (-10, 10)
    pnl = Decimal(position["realised"]), Decimal(position["unrealised"]), Decimal(position["pnl"])
    assert pnl == (1100, 0, 1100)
    assert holding["sold_today"] == 10
    assert [(s["strategy"], Decimal(s["pnl"])) for s in strategies] == [("swing", 1100)]
    assert "10 sold out of holdings" in exit_["detail"]
    api.desk.close_day()  # the next morning, Friday reads from its close as it was
    api.desk.next_day(date(2026, 12, 7))
    _, friday = await get(api, "/api/days/2026-12-04")
    (closed,) = friday["positions"]
    assert (closed["quantity"], closed["from_holdings"], Decimal(closed["pnl"])) == (-10, 10, 1100)


async def test_authorising_holdings_answers_the_page_and_is_logged(api: Api) -> None:
    """POST /api/holdings/authorise hands the desk the holdings (a quantity left out: all of
    it), answers the page to open, and logs who asked; a broker without it is a 501."""
    api.desk.open_day(FRIDAY, holdings=[HELD])
    body = {"holdings": [{"instrument": "NSE:INFY", "quantity": 4}, {"instrument": "NSE:TCS"}]}
    async with api.client.post("/api/holdings/authorise", json=body) as response:
        made = (response.status, await response.json())
    async with api.client.post("/api/holdings/authorise", json={"holdings": [{}]}) as response:
        malformed = response.status
    async with api.client.post(
        "/api/holdings/authorise", json={"holdings": [{"instrument": "INFY"}]}
    ) as response:
        unparsed = response.status
    api.desk.authorises = False
    async with api.client.post("/api/holdings/authorise", json={}) as response:
        paper = (response.status, (await response.json())["error"])

    assert made == (200, {"request_id": "req1", "url": "https://kite.example/authorise/req1"})
    tcs = InstrumentKey.parse("NSE:TCS")
    assert api.desk.authorisations == [{INFY: 4, tcs: None}]
    (logged,) = [e for e in api.desk.log if isinstance(e, OperatorCommandHandled)]
    assert (logged.operator, logged.command) == ("api", "authorise_holdings")
    assert logged.params == "NSE:INFY=4, NSE:TCS=all"
    assert (malformed, unparsed) == (422, 400)
    assert paper == (501, "not_offered")


async def test_a_past_day_the_desk_never_closed_lists_its_orders_without_pnl(api: Api) -> None:
    """A desk stopped before Thursday's close: the list reads Thursday's orders back from the
    log (counted, no P&L), beside Friday live."""
    api.desk.open_day(THURSDAY)
    _, filled = await submit(api, signal_id="thu-unclosed")
    api.desk.fill(filled["order"]["order_id"], Decimal("1500"))
    await submit(api, signal_id="thu-resting", side="SELL", price="1600")
    api.desk.next_day(FRIDAY)

    status, days = await get(api, "/api/days")

    assert status == 200
    friday, thursday = days
    assert (friday["day"], friday["live"], friday["orders"]) == ("2026-12-04", True, 0)
    assert (thursday["day"], thursday["closed_at"], thursday["pnl"]) == ("2026-12-03", None, None)
    assert (thursday["orders"], thursday["fills"]) == (2, 1)


async def test_an_order_working_at_the_close_that_lapsed_at_the_next_opening_counts_lapsed(
    api: Api,
) -> None:
    """Thursday's close had the resting sell still working; Friday's opening found it gone and
    lapsed it. Thursday reads 1 lapsed (it read 0: the close's own list could not hold it)."""
    await a_closed_thursday(api)
    _, thursday = await get(api, "/api/days/2026-12-03")
    [resting] = thursday["still_open"]
    order = api.desk.order(resting)
    for event in order.lapse(THURSDAY, "gone from the broker's books", api.desk.now()):
        order.apply(event)

    _, day = await get(api, "/api/days/2026-12-03")
    _, days = await get(api, "/api/days")

    assert day["lapsed"] == [resting]
    assert day["still_open"] == [resting]  # as the close found it
    assert [d["lapsed"] for d in days if d["day"] == "2026-12-03"] == [1]
