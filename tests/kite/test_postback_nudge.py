"""A verified postback is a nudge, not news: Kite's checksum signs the order id and timestamp
only, so the adapter reads the order's history over REST and emits what Kite says there, never
the body's status or filled quantity. A burst for one order costs one read in flight and one
after it; a read that fails is logged and dropped."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from orderdesk.brokers.kite import KiteBroker, create_broker
from orderdesk.brokers.kite.postback import postback_checksum
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.domain.status import BrokerStatus
from orderdesk.ports.broker import BrokerEvent
from tests.support import eventually

from .conftest import ACCESS_TOKEN, API_KEY, FakeKite, Reply
from .test_broker import _collect, _context, _ok, _order

SECRET = "api-secret-that-must-not-leak"
ORDER_ID = "250101000000001"
HISTORY = f"/orders/{ORDER_ID}"


def _postback(status: str, filled: int, *, checksum: str | None = None) -> bytes:
    """A postback body for ORDER_ID, signed as Kite signs it unless ``checksum`` is given."""
    body = _order(status, filled) | {"unfilled_quantity": 2 - filled, "app_id": 1}
    body["checksum"] = checksum or postback_checksum(ORDER_ID, body["order_timestamp"], SECRET)
    return json.dumps(body).encode()


@pytest.fixture
async def broker(
    fake_kite: FakeKite, tmp_path: Path, no_backoff: None
) -> AsyncIterator[KiteBroker]:
    """A started broker whose stream stays quiet (one poll of an empty book at start)."""
    fake_kite.on("GET", "/orders", _ok([]))
    fake_kite.on("GET", "/trades", _ok([]))
    options = {
        "api_key": API_KEY,
        "root": fake_kite.root,
        "stream": "poll",
        "poll_interval_seconds": 300,
        "rate_limits_enabled": False,
    }
    context = _context(tmp_path, kite__access_token=ACCESS_TOKEN, kite__api_secret=SECRET)
    built = create_broker(options, context)
    async with built:
        built.nudge_spacing = 0.0
        yield built


@pytest.fixture
async def events(broker: KiteBroker) -> AsyncIterator[list[BrokerEvent]]:
    seen: list[BrokerEvent] = []
    collector = asyncio.create_task(_collect(broker, seen))
    yield seen
    collector.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await collector


def _reports(events: list[BrokerEvent]) -> list[OrderStatusReport]:
    return [e for e in events if isinstance(e, OrderStatusReport)]


async def test_a_replayed_postback_with_a_forged_status_emits_what_kite_says(
    fake_kite: FakeKite, broker: KiteBroker, events: list[BrokerEvent]
) -> None:
    """A valid checksum on a CANCELLED body while Kite holds the order OPEN: the order's history
    is read, and OPEN is what the stream says; CANCELLED never reaches it."""
    fake_kite.on("GET", HISTORY, _ok([_order("OPEN", 0)]))
    receive = broker.webhooks()["kite"]

    assert await receive(_postback("CANCELLED", 0)) == (200, "ok")

    [report] = await eventually(lambda: _reports(events), what="the order read from Kite")
    assert (report.broker_order_id, report.status) == (ORDER_ID, BrokerStatus.OPEN)
    assert fake_kite.count("GET", HISTORY) == 1


async def test_a_genuine_postback_brings_the_fill_kite_shows(
    fake_kite: FakeKite, broker: KiteBroker, events: list[BrokerEvent]
) -> None:
    """After a real fill the read shows it: COMPLETE, 2 filled, as Kite's history's last row."""
    fake_kite.on("GET", HISTORY, _ok([_order("OPEN", 0), _order("COMPLETE", 2)]))

    assert await broker.webhooks()["kite"](_postback("COMPLETE", 2)) == (200, "ok")

    [report] = await eventually(lambda: _reports(events), what="the fill read from Kite")
    assert (report.status, report.filled_quantity) == (BrokerStatus.COMPLETE, 2)


async def test_a_wrong_checksum_reads_nothing(fake_kite: FakeKite, broker: KiteBroker) -> None:
    fake_kite.on("GET", HISTORY, _ok([_order("OPEN", 0)]))

    status, _ = await broker.webhooks()["kite"](_postback("CANCELLED", 0, checksum="0" * 64))

    assert status == 401
    assert fake_kite.count("GET", HISTORY) == 0


async def test_a_burst_for_one_order_costs_one_read_more_not_one_each(
    fake_kite: FakeKite, broker: KiteBroker, events: list[BrokerEvent]
) -> None:
    """Five postbacks while the first read is in flight: one more read follows it (the first
    may have left before their change), and it brings the latest state."""
    first = Reply(body=_ok([_order("OPEN", 0)]).body, action="hang")
    fake_kite.on("GET", HISTORY, first, _ok([_order("OPEN", 1)]))
    receive = broker.webhooks()["kite"]

    assert await receive(_postback("UPDATE", 0)) == (200, "ok")
    await eventually(lambda: fake_kite.count("GET", HISTORY) == 1, what="the first read")
    for status in ("UPDATE", "OPEN", "CANCELLED", "REJECTED", "COMPLETE"):
        # Distinct bodies, so that none is refused as a duplicate before it nudges.
        assert await receive(_postback(status, 1)) == (200, "ok")
    assert fake_kite.count("GET", HISTORY) == 1
    fake_kite.release.set()

    await eventually(lambda: not broker._nudged, what="the reads to end")
    assert fake_kite.count("GET", HISTORY) == 2
    assert [(r.status, r.filled_quantity) for r in _reports(events)] == [
        (BrokerStatus.OPEN, 0),
        (BrokerStatus.OPEN, 1),
    ]


async def test_a_failed_read_is_logged_and_dropped(
    fake_kite: FakeKite, broker: KiteBroker, events: list[BrokerEvent]
) -> None:
    """Kite's 503 on the read: logged without a secret, nothing emitted, and the next postback
    for the order reads again."""
    fake_kite.on("GET", HISTORY, Reply.error(503, "NetworkException", "Kite is down"))
    receive = broker.webhooks()["kite"]

    with structlog.testing.capture_logs() as logs:
        assert await receive(_postback("CANCELLED", 0)) == (200, "ok")
        await eventually(lambda: not broker._nudged, what="the read to fail")

    [failed] = [entry for entry in logs if entry["event"] == "kite.postback_read_failed"]
    assert failed["order_id"] == ORDER_ID
    assert "NetworkException" in failed["error"]
    assert SECRET not in repr(logs)
    assert ACCESS_TOKEN not in repr(logs)
    assert not _reports(events)

    fake_kite.on("GET", HISTORY, _ok([_order("OPEN", 0)]))
    reads = fake_kite.count("GET", HISTORY)
    assert await receive(_postback("COMPLETE", 2)) == (200, "ok")
    [report] = await eventually(lambda: _reports(events), what="the next read")
    assert report.status is BrokerStatus.OPEN
    assert fake_kite.count("GET", HISTORY) == reads + 1
