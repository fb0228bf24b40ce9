"""A past day's charges when the broker's calculator refuses one of its orders (Kite may no
longer know a contract that has expired since): the day's other orders are still charged, and
the refused one is named with the broker's reason. `orderdesk charges --day` of every past day
that traded a since-expired weekly failed whole with the broker's refusal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from orderdesk.client import DeskClient
from orderdesk.domain.reports import Charges, OrderStatusReport
from orderdesk.errors import BrokerRejected, InputRejected
from tests.api.conftest import TOKEN, Api
from tests.api.fakes import FakeDesk
from tests.api.test_routes import submit

MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
WEEKLY = "NFO:NIFTY26D0825000CE"
EXPIRED = "The instrument you are placing an order for has either expired or does not exist."


def refuse_in_the_call(desk: FakeDesk, instrument: str, error: BrokerRejected) -> None:
    """The calculator refuses any call with an order on ``instrument`` in it, as Kite refuses
    a whole request for one bad entry."""
    charge = desk.order_charges

    async def order_charges(reports: Sequence[OrderStatusReport]) -> list[Charges]:
        if any(str(report.instrument) == instrument for report in reports):
            raise error
        return await charge(reports)

    desk.order_charges = order_charges  # type: ignore[method-assign]


async def filled(api: Api, signal_id: str, price: str, **signal: Any) -> str:
    status, body = await submit(api, signal_id=signal_id, price=price, **signal)
    assert status == 201, body
    order_id: str = body["order"]["order_id"]
    api.desk.fill(order_id, Decimal(price))
    return order_id


async def monday_with_a_weekly(api: Api) -> dict[str, str]:
    """Monday: an INFY buy, the weekly option bought, an INFY sale; Tuesday is open."""
    api.desk.open_day(MONDAY)
    orders = {
        "infy": await filled(api, "infy-buy", "1500"),
        "weekly": await filled(
            api, "weekly", "120", instrument=WEEKLY, product="NRML", quantity=75
        ),
        "sale": await filled(api, "infy-sale", "1510", side="SELL"),
    }
    api.desk.close_day()
    api.desk.next_day(TUESDAY)
    return orders


async def charges_of(api: Api, day: date) -> tuple[int, Any]:
    async with api.client.get(f"/api/charges?day={day.isoformat()}") as response:
        return response.status, await response.json()


async def test_a_refused_order_is_named_and_the_others_still_charged(api: Api) -> None:
    orders = await monday_with_a_weekly(api)
    refuse_in_the_call(
        api.desk, WEEKLY, InputRejected(EXPIRED, http_status=400, error_type="InputException")
    )
    status, monday = await charges_of(api, MONDAY)
    assert status == 200, monday
    assert [o["order_id"] for o in monday["orders"]] == [orders["sale"], orders["infy"]]
    # 20 brokerage an order and 0.1% of its turnover, by the fake's calculator.
    assert Decimal(monday["charges"]["total"]) == Decimal("35") + Decimal("35.1")
    [uncharged] = monday["uncharged"]
    assert (uncharged["order_id"], uncharged["instrument"], uncharged["reason"]) == (
        orders["weekly"],
        WEEKLY,
        EXPIRED,
    )
    assert (uncharged["quantity"], Decimal(uncharged["average_price"])) == (75, 120)
    # Its charges are unknown: a P&L after charges would be too high, so none is given.
    assert monday["pnl"] is not None
    assert monday["net"] is None


async def test_a_day_the_calculator_takes_whole_is_one_call_and_has_its_net(api: Api) -> None:
    """The fallback costs nothing on a day with no refusal: the day's orders in one call."""
    await monday_with_a_weekly(api)
    status, monday = await charges_of(api, MONDAY)
    assert status == 200, monday
    assert (len(monday["orders"]), monday["uncharged"]) == (3, [])
    assert len(api.desk.charged) == 1
    assert Decimal(monday["net"]) == Decimal(monday["pnl"]) - Decimal(monday["charges"]["total"])


async def test_a_refusal_of_the_call_itself_still_fails_it(api: Api) -> None:
    """A refusal that is not about an order (the app's permission, the account) is no reason to
    ask again order by order: the request fails with the broker's words, as before."""
    await monday_with_a_weekly(api)
    permission = BrokerRejected(
        "Insufficient permission for that call.", http_status=403, error_type="PermissionException"
    )
    refuse_in_the_call(api.desk, WEEKLY, permission)
    status, body = await charges_of(api, MONDAY)
    assert status == 422, body
    assert (body["error"], body["message"]) == (
        "broker_rejected",
        "Insufficient permission for that call.",
    )
    assert len(api.desk.charged) == 0


async def test_the_client_reads_the_uncharged_orders(api: Api) -> None:
    orders = await monday_with_a_weekly(api)
    refuse_in_the_call(
        api.desk, WEEKLY, InputRejected(EXPIRED, http_status=400, error_type="InputException")
    )
    async with DeskClient(api.server.url, token=TOKEN) as desk:
        monday = await desk.charges(MONDAY)
    assert [o.order_id for o in monday.uncharged] == [orders["weekly"]]
    assert monday.uncharged[0].reason == EXPIRED
    assert monday.net is None
