"""KiteBroker: built from config through the entry point, secrets from the store, live events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from orderdesk.brokers import BrokerContext, load_broker_factory
from orderdesk.brokers.kite import KiteBroker, create_broker
from orderdesk.brokers.kite.config import load_config
from orderdesk.brokers.kite.http import NoLimits
from orderdesk.brokers.kite.ratelimit import KiteRateLimiter
from orderdesk.domain.calendar import IST
from orderdesk.domain.reports import Fill, OrderStatusReport
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import Exchange
from orderdesk.errors import ConfigError
from orderdesk.ports.broker import Broker, BrokerEvent, ConnectionState, ConnectionStateChanged
from tests.kite.test_rest_instruments import HEADER, INFY_ROW
from tests.support import WallClock, eventually

from .conftest import ACCESS_TOKEN, API_KEY, FakeKite, Reply


class MemorySecrets:
    """A SecretStore in a dict."""

    def __init__(self, **values: str) -> None:
        self.values = {name.replace("__", "."): value for name, value in values.items()}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


def _context(tmp_path: Path, **secrets: str) -> BrokerContext:
    return BrokerContext(secrets=MemorySecrets(**secrets), data_dir=tmp_path)


def _order(status: str, filled: int, order_id: str = "250101000000001") -> dict[str, Any]:
    return {
        "order_id": order_id,
        "status": status,
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "order_type": "LIMIT",
        "product": "CNC",
        "variety": "regular",
        "validity": "DAY",
        "quantity": 2,
        "filled_quantity": filled,
        "pending_quantity": 2 - filled,
        "price": 1500.5,
        "average_price": 1500.5 if filled else 0,
        "order_timestamp": "2026-01-05 09:20:00",
        "tag": "od0123456789abcdefgh",
    }


def _trade(trade_id: str) -> dict[str, Any]:
    return {
        "trade_id": trade_id,
        "order_id": "250101000000001",
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "product": "CNC",
        "quantity": 1,
        "average_price": 1500.5,
        "fill_timestamp": "2026-01-05 09:20:01",
        "order_timestamp": "09:20:01",
    }


def _ok(data: Any) -> Reply:
    return Reply.json({"status": "success", "data": data})


def test_entry_point_builds_a_kite_broker(tmp_path: Path) -> None:
    """The ``kite`` entry point validates options and returns a Broker with the shared limiter."""
    factory = load_broker_factory("kite")
    broker = factory({"api_key": API_KEY}, _context(tmp_path))
    assert isinstance(broker, KiteBroker)
    assert isinstance(broker, Broker)
    assert isinstance(broker._limiter, KiteRateLimiter)
    assert ACCESS_TOKEN not in repr(broker)
    unlimited = create_broker(
        {"api_key": API_KEY, "rate_limits_enabled": False}, _context(tmp_path)
    )
    assert isinstance(unlimited._limiter, NoLimits)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"api_key": API_KEY, "timeout_seconds": 0}, "kite.timeout_seconds"),
        ({"api_key": API_KEY, "timeout_seconds": "soon"}, "kite.timeout_seconds"),
        ({"api_key": API_KEY, "market_protection": 0}, "kite.market_protection"),
        ({"api_key": API_KEY, "root": "api.kite.trade"}, "kite.root"),
        ({"api_key": API_KEY, "orders_per_minute": 0}, "kite.orders_per_minute"),
        ({"api_key": API_KEY, "stream": "carrier-pigeon"}, "kite.stream"),
        ({"api_key": API_KEY, "colour": "blue"}, "kite.colour"),
        ({}, "kite.api_key"),
    ],
)
def test_bad_options_name_the_key(options: dict[str, Any], key: str) -> None:
    """A bad [kite] value raises ConfigError whose message names ``kite.<key>``."""
    with pytest.raises(ConfigError) as exc_info:
        load_config(options)
    assert key in str(exc_info.value)


def test_secrets_in_options_are_refused_without_echo() -> None:
    """An access token pasted into the config is refused and never repeated in the error."""
    with pytest.raises(ConfigError) as exc_info:
        load_config({"api_key": API_KEY, "access_token": ACCESS_TOKEN})
    assert "kite.access_token" in str(exc_info.value)
    assert ACCESS_TOKEN not in str(exc_info.value)


def test_defaults_follow_kite_api() -> None:
    """Defaults: Kite's root and ticker, 7 s timeout, automatic protection, §9 limits."""
    config = load_config({"api_key": API_KEY})
    assert (config.root, config.ws_url) == ("https://api.kite.trade", "wss://ws.kite.trade")
    assert config.timeout_seconds == 7
    assert config.market_protection == -1
    limits = config.rate_limits()
    assert (limits.quote_per_second, limits.historical_per_second) == (1, 3)
    assert (limits.order_per_second, limits.other_per_second) == (10, 10)
    assert (limits.orders_per_minute, limits.orders_per_day) == (400, 5000)
    assert limits.modifications_per_order == 25


async def test_start_without_a_token_waits_for_a_session(
    fake_kite: FakeKite, tmp_path: Path, no_backoff: None
) -> None:
    """With no stored token the broker starts without a session and says so on its stream; a
    renewed token is used by REST at once, starts the stream, and is kept for the next start."""
    fake_kite.on("GET", "/orders", _ok([]))
    fake_kite.on("GET", "/trades", _ok([]))
    fake_kite.on("GET", "/user/profile", _ok({"user_id": "AB1234"}))  # the token's check
    context = _context(tmp_path)
    options = {
        "api_key": API_KEY,
        "root": fake_kite.root,
        "stream": "poll",
        "poll_interval_seconds": 0.01,
        "rate_limits_enabled": False,
    }
    events: list[BrokerEvent] = []
    async with create_broker(options, context) as broker:
        collector = asyncio.create_task(_collect(broker, events))
        assert not broker.has_session()
        await eventually(lambda: events, what="the no-session notice")
        first = events[0]
        assert isinstance(first, ConnectionStateChanged)
        assert first.state is ConnectionState.STOPPED
        assert first.token_refused
        assert "kite.access_token" in first.detail
        assert fake_kite.count("GET", "/orders") == 0
        await broker.renew_session("fresh-token")
        assert broker.has_session()
        await eventually(lambda: fake_kite.count("GET", "/orders") > 0, what="a poll")
        polled = next(s for s in fake_kite.seen if s.path == "/orders")
        assert polled.headers["Authorization"] == f"token {API_KEY}:fresh-token"
        assert context.secrets.get("kite.access_token") == "fresh-token"
    await collector


async def _collect(broker: KiteBroker, events: list[BrokerEvent]) -> None:
    async for event in broker.events():
        events.append(event)


@pytest.fixture
async def polling_broker(
    fake_kite: FakeKite, tmp_path: Path, no_backoff: None
) -> AsyncIterator[KiteBroker]:
    options = {
        "api_key": API_KEY,
        "root": fake_kite.root,
        "stream": "poll",
        "poll_interval_seconds": 0.01,
        "rate_limits_enabled": False,
    }
    broker = create_broker(options, _context(tmp_path, kite__access_token=ACCESS_TOKEN))
    async with broker:
        yield broker


async def test_polling_stream_emits_reports_and_fills_once(
    fake_kite: FakeKite, polling_broker: KiteBroker
) -> None:
    """Polling emits each new order state once and each trade once, as the book moves on."""
    fake_kite.on("GET", "/orders", _ok([_order("OPEN", 1)]))
    fake_kite.on("GET", "/trades", _ok([_trade("T1")]))
    fake_kite.on("GET", "/orders/250101000000001/trades", _ok([_trade("T1")]))
    events: list[BrokerEvent] = []
    collector = asyncio.create_task(_collect(polling_broker, events))

    def seen(kind: type, **expected: Any) -> list[Any]:
        return [
            e
            for e in events
            if isinstance(e, kind) and all(getattr(e, k) == v for k, v in expected.items())
        ]

    await eventually(lambda: seen(Fill, trade_id="T1"), what="the first fill")
    first = events[0]
    assert isinstance(first, ConnectionStateChanged)
    assert first.state is ConnectionState.CONNECTED
    assert len(seen(OrderStatusReport, status=BrokerStatus.OPEN, filled_quantity=1)) == 1
    fake_kite.on("GET", "/orders", _ok([_order("COMPLETE", 2)]))
    fake_kite.on("GET", "/trades", _ok([_trade("T1"), _trade("T2")]))
    fake_kite.on("GET", "/orders/250101000000001/trades", _ok([_trade("T1"), _trade("T2")]))
    await eventually(
        lambda: seen(Fill, trade_id="T2") and seen(OrderStatusReport, status=BrokerStatus.COMPLETE),
        what="the completion and the second fill",
    )
    # Several more polls see nothing new, so nothing more is emitted.
    polls = fake_kite.count("GET", "/orders")
    await eventually(lambda: fake_kite.count("GET", "/orders") >= polls + 3, what="more polls")
    assert [e.trade_id for e in seen(Fill)] == ["T1", "T2"]
    assert [e.status for e in seen(OrderStatusReport)] == [
        BrokerStatus.OPEN,
        BrokerStatus.COMPLETE,
    ]
    collector.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await collector


async def test_ticker_stream_gap_fills_and_maps_updates(
    fake_kite: FakeKite, tmp_path: Path, no_backoff: None
) -> None:
    """On connect the book and the trades are read over REST; a pushed order update is mapped
    and forwarded as it is: the pump reads nothing over REST for it (the engine reads trades)."""
    fake_kite.on("GET", "/orders", _ok([_order("OPEN", 0)]))
    fake_kite.on("GET", "/trades", _ok([_trade("T1")]))
    fake_kite.ws_frames = [json.dumps({"type": "order", "data": _order("UPDATE", 1)})]
    options = {
        "api_key": API_KEY,
        "root": fake_kite.root,
        "ws_url": fake_kite.root.replace("http://", "ws://") + "/ws",
        "rate_limits_enabled": False,
    }
    broker = create_broker(options, _context(tmp_path, kite__access_token=ACCESS_TOKEN))
    events: list[BrokerEvent] = []
    async with broker:
        collector = asyncio.create_task(_collect(broker, events))

        def gap_filled_and_pushed() -> bool:
            pushed = any(
                isinstance(e, OrderStatusReport) and e.broker_status_text == "UPDATE"
                for e in events
            )
            return pushed and any(isinstance(e, Fill) for e in events)

        await eventually(gap_filled_and_pushed, what="the gap-fill's trade and the pushed update")
    await collector
    states = [e.state for e in events if isinstance(e, ConnectionStateChanged)]
    assert ConnectionState.CONNECTED in states
    updates = [e for e in events if isinstance(e, OrderStatusReport)]
    pushed = [u for u in updates if u.broker_status_text == "UPDATE"]
    assert len(pushed) == 1
    # A partial fill in a postback-style UPDATE means the order is open at the exchange.
    assert pushed[0].status is BrokerStatus.OPEN
    # The book's unfilled row is emitted only if it was read before the push was handled.
    assert [u.filled_quantity for u in updates] in ([0, 1], [1])
    assert [e.trade_id for e in events if isinstance(e, Fill)] == ["T1"]
    assert fake_kite.count("GET", "/orders/250101000000001/trades") == 0


@pytest.mark.parametrize(
    ("pushed", "booked"),
    [(("COMPLETE", 2), ("OPEN", 1)), (("CANCELLED", 0), ("OPEN", 0))],
    ids=["less-filled", "open-after-final"],
)
async def test_a_gap_fill_snapshot_older_than_a_pushed_update_is_not_emitted(
    fake_kite: FakeKite,
    tmp_path: Path,
    no_backoff: None,
    pushed: tuple[str, int],
    booked: tuple[str, int],
) -> None:
    """A book read that trails an update the socket already delivered emits nothing."""
    fake_kite.on("GET", "/orders", Reply(body=_ok([_order(*booked)]).body, action="hang"))
    fake_kite.on("GET", "/trades", _ok([_trade("T1"), _trade("T2")][: pushed[1]]))
    fake_kite.on(
        "GET", "/orders/250101000000001/trades", _ok([_trade("T1"), _trade("T2")][: pushed[1]])
    )
    fake_kite.ws_frames = [json.dumps({"type": "order", "data": _order(*pushed)})]
    options = {
        "api_key": API_KEY,
        "root": fake_kite.root,
        "ws_url": fake_kite.root.replace("http://", "ws://") + "/ws",
        "rate_limits_enabled": False,
    }
    broker = create_broker(options, _context(tmp_path, kite__access_token=ACCESS_TOKEN))
    events: list[BrokerEvent] = []
    async with broker:
        collector = asyncio.create_task(_collect(broker, events))

        def reports() -> list[tuple[str, int]]:
            return [
                (e.broker_status_text, e.filled_quantity)
                for e in events
                if isinstance(e, OrderStatusReport)
            ]

        await eventually(lambda: reports() == [pushed], what="the pushed update")
        fake_kite.release.set()  # now the gap-fill's older snapshot of the book arrives
        # The gap-fill reads the trades only after it has handled every row of the book.
        await eventually(lambda: fake_kite.count("GET", "/trades"), what="the gap-fill's end")
    await collector
    assert reports() == [pushed]
    assert [e.trade_id for e in events if isinstance(e, Fill)] == ["T1", "T2"][: pushed[1]]


async def test_the_ticker_is_reachable_only_when_it_streams(polling_broker: KiteBroker) -> None:
    """broker.ticker refuses clearly in poll mode instead of handing out None."""
    with pytest.raises(RuntimeError) as exc_info:
        _ = polling_broker.ticker
    assert "poll" in str(exc_info.value)


async def test_the_instrument_dump_turns_with_the_desks_clock(
    fake_kite: FakeKite, tmp_path: Path
) -> None:
    """A desk on the simulator's clock (``clock = "simulator"``) is days from the machine's:
    the adapter reads a new day's dump when the desk's clock passes 08:30 IST, and not before."""
    dump = Reply(body=(HEADER + INFY_ROW).encode(), content_type="text/csv")
    fake_kite.on("GET", "/instruments/NSE", dump)
    clock = WallClock(datetime(2026, 12, 7, 9, 0, tzinfo=IST))
    context = BrokerContext(
        secrets=MemorySecrets(kite__access_token=ACCESS_TOKEN), data_dir=tmp_path, clock=clock
    )
    options = {"api_key": API_KEY, "root": fake_kite.root, "rate_limits_enabled": False}
    async with create_broker(options | {"stream": "poll"}, context) as broker:
        await broker.instruments(Exchange.NSE)
        clock.set(date(2026, 12, 8), 8, 29)  # still Monday's dump
        await broker.instruments(Exchange.NSE)
        assert fake_kite.count("GET", "/instruments/NSE") == 1
        clock.set(date(2026, 12, 8), 9, 0)
        await broker.instruments(Exchange.NSE)
        assert fake_kite.count("GET", "/instruments/NSE") == 2


async def test_polling_that_fails_is_down_until_it_reads_again(
    fake_kite: FakeKite, polling_broker: KiteBroker
) -> None:
    """A poll whose reads fail (Kite answering 503) says the stream is down, once, and back up
    once a read succeeds: it said CONNECTED throughout an outage, with the desk's prices and
    P&L frozen and nothing telling so."""
    fake_kite.on("GET", "/orders", _ok([]))
    fake_kite.on("GET", "/trades", _ok([]))
    events: list[BrokerEvent] = []
    collector = asyncio.create_task(_collect(polling_broker, events))

    def states() -> list[ConnectionState]:
        return [e.state for e in events if isinstance(e, ConnectionStateChanged)]

    await eventually(lambda: states() == [ConnectionState.CONNECTED], what="polling")
    down = Reply.json({"status": "error", "error_type": "NetworkException"}, status=503)
    fake_kite.on("GET", "/orders", down)
    polls = fake_kite.count("GET", "/orders")
    await eventually(lambda: fake_kite.count("GET", "/orders") >= polls + 3, what="failed polls")
    assert states() == [ConnectionState.CONNECTED, ConnectionState.DISCONNECTED]
    fake_kite.on("GET", "/orders", _ok([]))
    await eventually(lambda: len(states()) == 3, what="polling again")
    assert states()[-1] is ConnectionState.CONNECTED
    collector.cancel()
