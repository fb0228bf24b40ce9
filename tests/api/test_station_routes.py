"""The routes behind the dashboard's trading station: funds, trades, the P&L curve, one order's
timeline, the health detail and the audit check; the stream's history and words."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from orderdesk.api import create_app, serve_api
from orderdesk.api.event_words import describe, finding
from orderdesk.api.order_rate import OrderRate
from orderdesk.domain import InstrumentKey
from orderdesk.domain.events import (
    KillSwitchChanged,
    OperatorCommandHandled,
    OrderAccepted,
    OrderCancelRequested,
)
from orderdesk.ports.notifier import Alert, Severity
from tests.api.conftest import AUTH, TOKEN, Api
from tests.api.fakes import FakeDesk
from tests.api.test_events import messages, next_of
from tests.api.test_routes import LIMIT_BUY, submit
from tests.support import eventually

INFY = InstrumentKey.parse("NSE:INFY")


async def _get(api: Api, path: str) -> Any:
    async with api.client.get(path) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_funds_are_the_brokers_margins(api: Api) -> None:
    funds = await _get(api, "/api/funds")
    assert funds["equity"]["net"] == "100000"
    assert funds["commodity"] is None


async def test_the_trade_book_names_each_trades_order(api: Api) -> None:
    _, body = await submit(api)
    order_id = body["order"]["order_id"]
    assert await _get(api, "/api/trades") == []
    api.desk.fill(order_id, Decimal("1500"))
    [trade] = await _get(api, "/api/trades")
    assert (trade["order_id"], trade["quantity"], trade["price"]) == (order_id, 10, "1500")
    assert (trade["strategy"], trade["side"], trade["instrument"]) == ("manual", "BUY", "NSE:INFY")


async def test_an_orders_timeline_is_its_events_in_words(api: Api) -> None:
    _, body = await submit(api)
    order_id = body["order"]["order_id"]
    api.desk.fill(order_id, Decimal("1500"))
    timeline = await _get(api, f"/api/orders/{order_id}/events")
    types = [e["type"] for e in timeline]
    assert types[:3] == ["OrderCreated", "OrderSubmitting", "OrderAccepted"]
    assert types[-1] == "OrderFillRecorded"
    assert timeline[0]["text"] == "Signal from manual: BUY 10 NSE:INFY LIMIT @ 1500.05 CNC"
    assert timeline[-1]["text"].startswith("Filled 10 @ 1500, trade T")
    async with api.client.get("/api/orders/nosuchorder/events") as response:
        assert response.status == 404


async def test_the_pnl_curve_follows_fills_and_ticks(api: Api) -> None:
    _, body = await submit(api)
    api.desk.fill(body["order"]["order_id"], Decimal("1500"))
    api.desk.tick(INFY, Decimal("1510"))

    async def marked() -> Any:
        series = await _get(api, "/api/pnl")
        points = series["points"]
        return points and Decimal(points[-1]["total"]) == 100 and points[-1]

    point = await eventually(marked, what="a point at 10 x (1510 - 1500)")
    assert {name: Decimal(pnl) for name, pnl in point["strategies"].items()} == {"manual": 100}


@contextlib.asynccontextmanager
async def _served(desk: FakeDesk, pnl_folder: Path) -> AsyncIterator[aiohttp.ClientSession]:
    """The app over ``desk`` keeping its P&L curve in ``pnl_folder``, as the daemon does."""
    app = create_app(desk, token=TOKEN, stream_interval=0.05, pnl_folder=pnl_folder)
    server = await serve_api(app, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession(base_url=server.url, headers=AUTH) as client:
            yield client
    finally:
        await server.stop()


async def _curve_at(client: aiohttp.ClientSession, total: int) -> list[dict[str, Any]]:
    async def reached() -> Any:
        async with client.get("/api/pnl") as response:
            points = (await response.json())["points"]
        return points and Decimal(points[-1]["total"]) == total and points

    result: list[dict[str, Any]] = await eventually(reached, what=f"a point at {total}")
    return result


async def test_the_api_stamps_and_counts_on_the_desks_clock(tmp_path: Path) -> None:
    """A desk following the simulator's clock (``clock = "simulator"``) is days away from
    the machine's: the health panel's time, the order rate's windows and the P&L curve's
    points are the desk's, or the rate counts none of its requests and the countdowns lie."""
    desk = FakeDesk()
    desk.offset = timedelta(days=-3, hours=-5)
    async with _served(desk, tmp_path) as client:
        async with client.get("/api/health/detail") as response:
            detail = await response.json()
        assert abs(datetime.fromisoformat(detail["now"]) - desk.now()) < timedelta(minutes=1)
        async with client.post("/api/signals", json=LIMIT_BUY) as response:
            order_id = (await response.json())["order"]["order_id"]

        async def counted() -> Any:
            async with client.get("/api/health/detail") as response:
                rate = (await response.json())["order_rate"]
            return rate["minute"] == 1 and rate

        rate = await eventually(counted, what="the placement in this minute's count")
        assert (rate["second"] <= 1, rate["day"]) == (True, 1)
        desk.fill(order_id, Decimal("1500"))
        desk.tick(INFY, Decimal("1510"))
        (*_, point) = await _curve_at(client, 100)
    assert abs(datetime.fromisoformat(point["at"]) - desk.now()) < timedelta(minutes=1)


def _check_and_cut_short(folder: Path, name: str) -> None:
    """The folder holds the day's file alone, readable by its owner only; a line is then left
    half-written, as by a daemon killed mid-line."""
    (kept,) = folder.glob("pnl-*.jsonl")
    assert kept.name == name
    assert kept.stat().st_mode & 0o777 == 0o600
    with kept.open("a", encoding="utf-8") as file:
        file.write('{"at":"2026-')


async def test_the_pnl_curve_outlives_a_restart(desk: FakeDesk, tmp_path: Path) -> None:
    """Each kept point is appended to the day's file (the owner's alone): a desk started
    again on the same folder draws the day's curve from before, skipping a line a crash cut
    short, and goes on from there."""
    desk.open_day(date(2026, 12, 4))
    async with _served(desk, tmp_path) as client:
        async with client.post("/api/signals", json=LIMIT_BUY) as response:
            order_id = (await response.json())["order"]["order_id"]
        desk.fill(order_id, Decimal("1500"))
        desk.tick(INFY, Decimal("1510"))
        before = await _curve_at(client, 100)
    _check_and_cut_short(tmp_path, "pnl-2026-12-04.jsonl")
    desk.tick(INFY, Decimal("1520"))
    async with _served(desk, tmp_path) as client:
        after = await _curve_at(client, 200)
    assert after[: len(before)] == before
    assert len(after) == len(before) + 1


async def test_health_detail_counts_order_requests_and_keeps_the_last_audit(api: Api) -> None:
    detail = await _get(api, "/api/health/detail")
    assert detail["audit"] is None
    assert detail["reconciliation"] is None
    assert detail["broker_connection"] == "CONNECTED"
    assert detail["session"]["state"] == "valid"
    _, body = await submit(api)
    async with api.client.delete(f"/api/orders/{body['order']['order_id']}") as response:
        assert response.status == 200

    async def counted() -> Any:
        rate = (await _get(api, "/api/health/detail"))["order_rate"]
        return rate["minute"] == 2 and rate

    rate = await eventually(counted, what="one placement and one cancel counted")
    assert rate["day"] == 1  # Kite's daily cap counts placements only
    assert (rate["second_limit"], rate["minute_limit"], rate["day_limit"]) == (10, 400, 5000)

    async with api.client.post("/api/audit/verify") as response:
        audit = await response.json()
    assert audit["ok"] is True
    assert audit["rows"] == len(api.desk.log)
    async with api.client.post("/api/reconcile") as response:
        assert response.status == 200
    detail = await _get(api, "/api/health/detail")
    assert detail["audit"]["rows"] == audit["rows"]
    assert detail["reconciliation"]["mismatches"] == 0


async def test_a_snapshot_carries_the_logs_latest_events_newest_first(api: Api) -> None:
    _, body = await submit(api)
    async with api.client.get("/api/events") as response:
        snapshot = await next_of(messages(response), "snapshot")
    history = snapshot["events"]
    assert history[0]["order_id"] == body["order"]["order_id"]
    assert history[-1]["type"] == "OrderCreated"
    assert all(event["text"] for event in history)


async def test_a_reconciliation_alert_names_its_finding_in_words(api: Api) -> None:
    async with api.client.get("/api/events") as response:
        stream = messages(response)
        await next_of(stream, "snapshot")
        await api.alerts.notify(
            Alert(
                severity=Severity.WARNING,
                title="Reconciliation: external_order",
                body="od1: found",
                key="k",
            )
        )
        alert = await next_of(stream, "alert")
    assert alert["title"] == f"Reconciliation: {finding('external_order')}"


def test_an_event_without_words_falls_back_to_its_name() -> None:
    class NewKind(OrderCancelRequested):
        pass

    from datetime import UTC, datetime

    event = NewKind(at=datetime.now(UTC), order_id="od1")
    assert describe(event) == "NewKind"


def test_the_order_rate_forgets_after_a_minute_and_restarts_each_day() -> None:
    from datetime import UTC, date, datetime, timedelta

    rate = OrderRate()
    start = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)
    day = date(2026, 12, 4)
    for n in range(3):
        rate.observe(
            OrderAccepted(at=start + timedelta(seconds=n), order_id=f"od{n}", broker_order_id="1"),
            day,
        )
    use = rate.use(start + timedelta(seconds=2, milliseconds=500), day)
    assert (use.second, use.minute, use.day) == (1, 3, 3)
    use = rate.use(start + timedelta(seconds=61, milliseconds=500), day)
    assert (use.second, use.minute, use.day) == (0, 1, 3)
    assert rate.use(start + timedelta(hours=23), date(2026, 12, 5)).day == 0
    rate.observe(
        OrderAccepted(at=start + timedelta(days=1), order_id="od", broker_order_id="2"),
        date(2026, 12, 5),
    )
    assert rate.use(start + timedelta(days=1), date(2026, 12, 5)).day == 1


def test_an_operators_command_reads_as_who_did_what() -> None:
    from datetime import UTC, datetime

    event = OperatorCommandHandled(
        at=datetime.now(UTC),
        operator="telegram:42",
        command="kill",
        params="confirm",
        outcome="kill switch engaged",
    )
    assert describe(event) == "telegram:42: /kill confirm: kill switch engaged"


def test_the_kill_switchs_cancel_reads_as_keeping_protective_stops() -> None:
    """Engaged with cancel_open, the event's words say the protective stops stay working (the
    cancel takes only what could add risk); engaged without it, nothing about cancelling."""
    from datetime import UTC, datetime

    at = datetime.now(UTC)
    with_cancel = KillSwitchChanged(at=at, engaged=True, reason="drill", cancel_open=True)
    without = KillSwitchChanged(at=at, engaged=True, reason="drill")

    assert describe(with_cancel) == (
        "Kill switch engaged, cancelling the open orders that could add risk "
        "(exits and protective stops stay): drill"
    )
    assert describe(without) == "Kill switch engaged: drill"


async def test_approval_decisions_are_in_the_log(api: Api) -> None:
    approvals = []
    for n in (1, 2):
        status, body = await submit(api, strategy="careful", quantity=n)
        assert status == 202
        approvals.append(body["pending"]["approval_id"])
    async with api.client.post(f"/api/approvals/{approvals[0]}/approve") as response:
        assert response.status == 200
        order_id = (await response.json())["order_id"]
    async with api.client.post(
        f"/api/approvals/{approvals[1]}/reject", json={"reason": "too big"}
    ) as response:
        assert response.status == 200
    recorded = [
        (e.command, e.params, e.outcome)
        for e in api.desk.log
        if isinstance(e, OperatorCommandHandled)
    ]
    assert recorded == [
        ("approve", approvals[0], f"placed {order_id}"),
        ("reject", approvals[1], "rejected careful: BUY 2 NSE:INFY (too big)"),
    ]


async def test_across_a_trading_day_the_curve_trades_and_order_count_start_again(
    api: Api,
) -> None:
    """Thursday's P&L curve, trades and order count stay Thursday's; Friday starts afresh;
    Thursday's order keeps its timeline."""
    from datetime import date

    thursday, friday = date(2026, 12, 3), date(2026, 12, 4)
    api.desk.open_day(thursday)
    _, body = await submit(api)
    thursdays = body["order"]["order_id"]
    api.desk.fill(thursdays, Decimal("1500"))
    api.desk.tick(INFY, Decimal("1510"))

    async def curve(day: date, total: int) -> Any:
        series = await _get(api, "/api/pnl")
        points = series["points"]
        ok = series["day"] == day.isoformat() and points and Decimal(points[-1]["total"]) == total
        return ok and series

    await eventually(lambda: curve(thursday, 100), what="Thursday's curve at 100")

    async def rate() -> Any:
        return (await _get(api, "/api/health/detail"))["order_rate"]

    async def seen(minute: int) -> Any:
        return (await rate())["minute"] == minute

    await eventually(lambda: seen(1), what="Thursday's one placement")
    assert (await rate())["day"] == 1

    api.desk.close_day()
    api.desk.next_day(friday)
    assert (await rate())["day"] == 0
    friday_curve = await eventually(lambda: curve(friday, 0), what="Friday's own curve")
    assert len(friday_curve["points"]) == 1
    assert await _get(api, "/api/trades") == []
    for quantity in (1, 2):
        await submit(api, quantity=quantity)
    await eventually(lambda: seen(3), what="Friday's two placements counted")
    assert (await rate())["day"] == 2
    timeline = await _get(api, f"/api/orders/{thursdays}/events")
    assert timeline[-1]["type"] == "OrderFillRecorded"
