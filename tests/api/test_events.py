"""The SSE stream: a snapshot first, then events, order states, alerts and status samples."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import aiohttp

from orderdesk.api.events import summarise
from orderdesk.domain import InstrumentKey, KillSwitchChanged
from orderdesk.ports.notifier import Alert, Severity
from tests.api.conftest import Api
from tests.api.test_routes import LIMIT_BUY
from tests.support import eventually


async def messages(response: aiohttp.ClientResponse) -> AsyncIterator[tuple[str, Any]]:
    """Parse server-sent events off the response body."""
    kind, data = "message", []
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            yield kind, json.loads("\n".join(data))
            kind, data = "message", []


async def next_of(stream: AsyncIterator[tuple[str, Any]], kind: str, **match: Any) -> Any:
    """The next message of ``kind`` whose fields include ``match`` (skipping others)."""
    async for got, data in stream:
        if got == kind and all(data.get(k) == v for k, v in match.items()):
            return data
    raise AssertionError(f"stream ended before a {kind} message matching {match}")


async def test_stream_carries_an_order_from_submit_to_fill(api: Api) -> None:
    """After the snapshot, a submitted order streams as events and order states up to FILLED."""
    async with api.client.get("/api/events") as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        stream = messages(response)
        kind, snapshot = await anext(stream)
        assert kind == "snapshot"
        assert snapshot["orders"] == []
        assert snapshot["kill_switch"] == {"engaged": False, "reason": ""}
        async with api.client.post("/api/signals", json=LIMIT_BUY) as submitted:
            order_id = (await submitted.json())["order"]["order_id"]
        created = await next_of(stream, "event", type="OrderCreated")
        assert created["order_id"] == order_id
        assert created["payload"]["signal"]["quantity"] == 10
        await next_of(stream, "order", order_id=order_id, status="OPEN")
        api.desk.fill(order_id, Decimal("1500"))
        filled = await next_of(stream, "order", order_id=order_id, status="FILLED")
        assert filled["filled_quantity"] == 10
        api.desk.tick(InstrumentKey.parse("NSE:INFY"), Decimal("1501"))
        while True:
            status = await next_of(stream, "status")
            if status["positions"] and status["positions"][0]["last_price"] == "1501.00":
                break
        assert Decimal(status["positions"][0]["pnl"]) == Decimal(10)


async def test_stream_relays_alerts(api: Api) -> None:
    """An alert raised through the feed reaches connected dashboards."""
    async with api.client.get("/api/events") as response:
        stream = messages(response)
        await next_of(stream, "snapshot")
        await api.alerts.notify(
            Alert(severity=Severity.CRITICAL, title="Broker down", body="socket lost", key="b")
        )
        alert = await next_of(stream, "alert")
    assert (alert["severity"], alert["title"]) == ("critical", "Broker down")


async def test_subscriptions_end_when_the_client_leaves(api: Api) -> None:
    """Closing the stream unsubscribes from the desk, so nothing piles up for dead clients."""
    baseline = len(api.desk._queues)
    async with api.client.get("/api/events") as response:
        await next_of(messages(response), "snapshot")
        assert len(api.desk._queues) == baseline + 1
    await eventually(lambda: len(api.desk._queues) == baseline, what="the unsubscribe")


async def test_stream_needs_the_token(api: Api) -> None:
    """The event stream is data, so it is refused without the token."""
    async with api.anonymous.get("/api/events") as response:
        assert response.status == 401


def test_summary_names_the_fields_people_scan_for() -> None:
    """An event's one-line summary has its type and its telling fields."""
    event = KillSwitchChanged(at=datetime.now(UTC), engaged=True, reason="manual")
    assert summarise(event) == "KillSwitchChanged reason=manual engaged=True"


async def test_a_new_trading_day_sends_a_fresh_snapshot(api: Api) -> None:
    """A page left open overnight: when the next trading day opens, the stream follows its
    DayOpened event with a new snapshot holding today's orders only."""
    api.desk.open_day(date(2026, 12, 7))
    async with api.client.get("/api/events") as response:
        stream = messages(response)
        await next_of(stream, "snapshot")
        async with api.client.post("/api/signals", json=LIMIT_BUY) as submitted:
            order_id = (await submitted.json())["order"]["order_id"]
        await next_of(stream, "order", order_id=order_id, status="OPEN")
        api.desk.open_day(date(2026, 12, 8))
        opened = await next_of(stream, "event", type="DayOpened")
        assert opened["payload"]["day"] == "2026-12-08"
        kind, fresh = await anext(stream)
    assert kind == "snapshot"
    assert fresh["orders"] == []
