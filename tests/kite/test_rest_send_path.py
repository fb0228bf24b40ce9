"""The REST send path: headers, typed errors, 429 re-queueing, read retries, unknown outcomes."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.errors import (
    DataException,
    InputException,
    KiteTimeout,
    KiteTransportError,
    MalformedResponse,
    MarginException,
    NetworkException,
    OrderException,
    TokenException,
    TooManyRequests,
)
from orderdesk.brokers.kite.http import ClientState
from orderdesk.brokers.kite.ratelimit import EndpointClass
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import Exchange, InstrumentKey, OrderType, Product, Side, Variety
from orderdesk.errors import (
    BrokerAuthError,
    BrokerRateLimited,
    BrokerUnavailable,
    QuotaExhausted,
    UnknownOutcome,
)
from orderdesk.ports.broker import OrderChanges, PlaceOrder

from .conftest import ACCESS_TOKEN, API_KEY, FakeKite, Reply, kite_config

CLIENT_ID = "od0123456789abcdefgh"
INFY = InstrumentKey(Exchange.NSE, "INFY")
PLACED = Reply.json({"status": "success", "data": {"order_id": "250101000000001"}})
BOOK = Reply.json({"status": "success", "data": []})
HTML_502 = Reply(
    status=502, body=b"<html><body>Bad Gateway</body></html>", content_type="text/html"
)
GARBAGE = Reply(body=b'{"status": "success", "data": {"order_id": ')


def _market_buy() -> PlaceOrder:
    signal = Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.MARKET,
        product=Product.MIS,
    )
    return PlaceOrder(CLIENT_ID, signal)


class RecordingLimiter:
    """A permissive limiter that remembers what it was asked."""

    def __init__(self) -> None:
        self.acquired: list[tuple[EndpointClass, str | None, str | None]] = []
        self.backoffs: list[tuple[EndpointClass, float]] = []

    @contextlib.asynccontextmanager
    async def slot(
        self, kind: EndpointClass, *, modifies: str | None = None, cancels: str | None = None
    ) -> AsyncIterator[None]:
        self.acquired.append((kind, modifies, cancels))
        yield

    def backoff(self, kind: EndpointClass, seconds: float) -> None:
        self.backoffs.append((kind, seconds))


@pytest.fixture
def limiter() -> RecordingLimiter:
    return RecordingLimiter()


@pytest.fixture
def reply_timeout() -> float:
    """Seconds the client waits for a reply: long enough that a loaded CI machine answering a
    loopback request is never taken for a hang (0.5 s once was); the read-timeout test sets
    its own, shorter one, as it waits out four of them."""
    return 2.0


@pytest.fixture
async def kite(
    fake_kite: FakeKite, limiter: RecordingLimiter, no_backoff: None, reply_timeout: float
) -> AsyncIterator[KiteRestClient]:
    """A client with a recording limiter and short timeouts."""
    config = kite_config(fake_kite.root, timeout_seconds=reply_timeout, rate_limit_requeues=3)
    async with KiteRestClient(config, access_token=ACCESS_TOKEN, limiter=limiter) as client:
        yield client


async def test_requests_carry_kite_headers_and_form(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """A placement sends Kite's version and token headers and a form with the tag."""
    fake_kite.on("POST", "/orders/regular", PLACED)
    assert await kite.place_order(_market_buy()) == "250101000000001"
    seen = fake_kite.seen[0]
    assert seen.headers["X-Kite-Version"] == "3"
    assert seen.headers["Authorization"] == f"token {API_KEY}:{ACCESS_TOKEN}"
    assert seen.form["tag"] == CLIENT_ID
    assert seen.form["market_protection"] == "-1"


async def test_limiter_is_asked_per_endpoint_class(
    fake_kite: FakeKite, kite: KiteRestClient, limiter: RecordingLimiter
) -> None:
    """Writes take ORDER slots (naming the order for modify/cancel); reads take their class."""
    fake_kite.on("POST", "/orders/regular", PLACED)
    fake_kite.on("PUT", "/orders/regular/250101000000001", PLACED)
    fake_kite.on("DELETE", "/orders/regular/250101000000001", PLACED)
    fake_kite.on("GET", "/orders", BOOK)
    fake_kite.on("GET", "/quote/ltp", Reply.json({"status": "success", "data": {}}))
    order_id = await kite.place_order(_market_buy())
    await kite.modify_order(order_id, Variety.REGULAR, OrderChanges(quantity=2))
    await kite.cancel_order(order_id, Variety.REGULAR)
    await kite.orders()
    await kite.ltp([INFY])
    assert limiter.acquired == [
        (EndpointClass.ORDER, None, None),
        (EndpointClass.ORDER, order_id, None),
        (EndpointClass.ORDER, None, order_id),
        (EndpointClass.OTHER, None, None),
        (EndpointClass.QUOTE, None, None),
    ]


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [
        (403, "TokenException", TokenException),
        (400, "InputException", InputException),
        (400, "OrderException", OrderException),
        (400, "MarginException", MarginException),
    ],
)
async def test_broker_refusals_are_typed_and_sent_once(
    fake_kite: FakeKite, kite: KiteRestClient, status: int, error_type: str, expected: type
) -> None:
    """A 4xx envelope raises its typed error with Kite's message and is never re-sent."""
    fake_kite.on("POST", "/orders/regular", Reply.error(status, error_type, "Kite refused"))
    with pytest.raises(expected) as exc_info:
        await kite.place_order(_market_buy())
    error = exc_info.value
    assert error.http_status == status
    assert error.message == "Kite refused"
    assert fake_kite.count("POST", "/orders/regular") == 1


async def test_token_error_on_a_read_is_not_retried(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """An expired session on a read raises BrokerAuthError after exactly one request."""
    fake_kite.on("GET", "/orders", Reply.error(403, "TokenException", "Token expired"))
    with pytest.raises(BrokerAuthError) as exc_info:
        await kite.orders()
    assert isinstance(exc_info.value, TokenException)
    assert fake_kite.count("GET", "/orders") == 1


async def test_429_backs_off_and_requeues_a_placement(
    fake_kite: FakeKite, kite: KiteRestClient, limiter: RecordingLimiter
) -> None:
    """A 429 proves nothing was placed: the order is re-sent after a backoff and lands once."""
    throttled = Reply.error(429, "NetworkException", "Too many requests")
    fake_kite.on("POST", "/orders/regular", throttled, PLACED)
    assert await kite.place_order(_market_buy()) == "250101000000001"
    assert fake_kite.count("POST", "/orders/regular") == 2
    assert [kind for kind, _ in limiter.backoffs] == [EndpointClass.ORDER]
    assert len(limiter.acquired) == 2


async def test_a_placement_is_requeued_once_then_handed_to_the_desk(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """A placement is re-queued once (Kite's window is a second), not the configured 8 times
    (121 s): the desk sends it again itself, answering the signal meanwhile."""
    throttled = Reply.error(429, "NetworkException", "Too many requests")
    fake_kite.on("POST", "/orders/regular", throttled, throttled, PLACED)
    with pytest.raises(BrokerRateLimited):
        await kite.place_order(_market_buy())
    assert fake_kite.count("POST", "/orders/regular") == 2


async def test_endless_429_gives_up_as_rate_limited(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """After the configured re-queues the caller sees BrokerRateLimited, not an unknown outcome."""
    fake_kite.on("POST", "/orders/regular", Reply.error(429, "NetworkException", "Too many"))
    with pytest.raises(BrokerRateLimited) as exc_info:
        await kite.place_order(_market_buy())
    assert isinstance(exc_info.value, TooManyRequests)
    assert fake_kite.count("POST", "/orders/regular") == 2  # one re-queue for a placement


async def test_429_holds_double_from_the_configured_backoff(
    fake_kite: FakeKite, limiter: RecordingLimiter
) -> None:
    """Outside stamina's test mode each 429 holds the endpoint class for
    rate_limit_backoff_seconds, doubling per further 429; the last one is not held (a read of
    the order book: an order write is re-queued once, the desk answering it itself)."""
    config = kite_config(
        fake_kite.root, rate_limit_backoff_seconds=0.01, rate_limit_requeues=3, read_attempts=1
    )
    fake_kite.on("GET", "/orders", Reply.error(429, "NetworkException", "Too many"))
    async with KiteRestClient(config, access_token=ACCESS_TOKEN, limiter=limiter) as client:
        with pytest.raises(TooManyRequests) as exc_info:
            await client.orders()
    assert exc_info.value.http_status == 429
    kinds = {kind for kind, _ in limiter.backoffs}
    assert [hold for _, hold in limiter.backoffs] == [0.01, 0.02, 0.04]
    assert len(kinds) == 1
    assert fake_kite.count("GET", "/orders") == 4


@pytest.mark.parametrize("write", ["modify", "cancel"])
async def test_a_modify_or_cancel_is_requeued_once_then_handed_to_the_desk(
    fake_kite: FakeKite, kite: KiteRestClient, write: str
) -> None:
    """In a 429 storm a modify or cancel held for every re-queue (121 s) outwaited its sender's
    60 s: it is re-queued once, then the desk answers 'try again'."""
    throttled = Reply.error(429, "NetworkException", "Too many requests")
    method = "PUT" if write == "modify" else "DELETE"
    fake_kite.on(method, "/orders/regular/1", throttled)
    command = (
        kite.modify_order("1", Variety.REGULAR, OrderChanges(quantity=2))
        if write == "modify"
        else kite.cancel_order("1", Variety.REGULAR)
    )
    with pytest.raises(BrokerRateLimited):
        await command
    assert fake_kite.count(method, "/orders/regular/1") == 2


class SpentDayLimiter(RecordingLimiter):
    """A limiter whose daily placement quota is spent, as KiteRateLimiter says it."""

    @contextlib.asynccontextmanager
    async def slot(
        self, kind: EndpointClass, *, modifies: str | None = None, cancels: str | None = None
    ) -> AsyncIterator[None]:
        self.acquired.append((kind, modifies, cancels))
        raise QuotaExhausted("the daily quota of 5000 order placements is spent", http_status=429)
        yield  # pragma: no cover - never granted


async def test_a_spent_daily_quota_is_not_requeued(fake_kite: FakeKite, no_backoff: None) -> None:
    """A spent daily quota refills only tomorrow: the placement fails at once, unsent, with
    no hold and no second try."""
    limiter = SpentDayLimiter()
    config = kite_config(fake_kite.root, rate_limit_requeues=3)
    async with KiteRestClient(config, access_token=ACCESS_TOKEN, limiter=limiter) as client:
        with pytest.raises(QuotaExhausted) as exc_info:
            await client.place_order(_market_buy())
    assert isinstance(exc_info.value, BrokerRateLimited)
    assert len(limiter.acquired) == 1
    assert limiter.backoffs == []
    assert fake_kite.count("POST", "/orders/regular") == 0


@pytest.mark.parametrize(
    "failure",
    [
        Reply.error(500, "GeneralException", "boom"),
        Reply.error(502, "DataException", "bad gateway"),
        Reply.error(503, "NetworkException", "OMS down"),
        HTML_502,
    ],
)
async def test_server_errors_on_reads_are_retried(
    fake_kite: FakeKite, kite: KiteRestClient, failure: Reply
) -> None:
    """A read that meets a 5xx is retried and succeeds once Kite recovers."""
    fake_kite.on("GET", "/orders", failure, failure, BOOK)
    assert await kite.orders() == []
    assert fake_kite.count("GET", "/orders") == 3


async def test_persistent_5xx_on_a_read_gives_up(fake_kite: FakeKite, kite: KiteRestClient) -> None:
    """A read retries read_attempts times and then raises BrokerUnavailable."""
    fake_kite.on("GET", "/orders", Reply.error(503, "NetworkException", "OMS down"))
    with pytest.raises(BrokerUnavailable) as exc_info:
        await kite.orders()
    assert isinstance(exc_info.value, NetworkException)
    assert fake_kite.count("GET", "/orders") == 4


async def test_html_502_page_is_a_data_exception(fake_kite: FakeKite, kite: KiteRestClient) -> None:
    """A gateway's HTML page becomes DataException (BrokerUnavailable) naming the status."""
    fake_kite.on("GET", "/user/profile", HTML_502)
    with pytest.raises(DataException) as exc_info:
        await kite.profile()
    assert exc_info.value.http_status == 502
    assert "text/html" in exc_info.value.message


@pytest.mark.parametrize(
    "failure",
    [
        Reply.error(500, "GeneralException", "boom"),
        Reply.error(502, "DataException", "bad gateway"),
        Reply.error(503, "NetworkException", "OMS down"),
        HTML_502,
        GARBAGE,
        Reply.json({"status": "success"}),
        Reply(action="drop"),
        Reply(action="hang"),
    ],
    ids=["500", "502", "503", "html-502", "garbage-200", "no-data", "dropped", "timeout"],
)
async def test_placement_with_unknown_outcome_is_never_resent(
    fake_kite: FakeKite, kite: KiteRestClient, failure: Reply
) -> None:
    """When Kite may have placed the order, UnknownOutcome carries the tag; nothing is re-sent."""
    fake_kite.on("POST", "/orders/regular", failure, PLACED)
    with pytest.raises(UnknownOutcome) as exc_info:
        await kite.place_order(_market_buy())
    assert exc_info.value.tag == CLIENT_ID
    assert CLIENT_ID in str(exc_info.value)
    assert fake_kite.count("POST", "/orders/regular") == 1


@pytest.mark.parametrize("reply_timeout", [0.5])
async def test_timeout_on_a_read_is_a_typed_timeout(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """A read that never answers ends in KiteTimeout after its retries, each bounded."""
    fake_kite.on("GET", "/orders", Reply(action="hang"))
    with pytest.raises(KiteTimeout) as exc_info:
        await kite.orders()
    assert "0.5s" in exc_info.value.message
    assert fake_kite.count("GET", "/orders") == 4


async def test_garbage_json_on_a_read_names_the_endpoint(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """Unparseable JSON is a malformed-response error naming the endpoint, never a ValueError."""
    fake_kite.on("GET", "/orders", GARBAGE)
    with pytest.raises(MalformedResponse) as exc_info:
        await kite.orders()
    assert exc_info.value.endpoint == "orders"
    assert exc_info.value.field == "body"


async def test_missing_data_names_the_field(fake_kite: FakeKite, kite: KiteRestClient) -> None:
    """A success envelope without ``data`` is malformed, naming ``data``."""
    fake_kite.on("GET", "/user/profile", Reply.json({"status": "success"}))
    with pytest.raises(MalformedResponse) as exc_info:
        await kite.profile()
    assert exc_info.value.field == "data"
    assert "profile" in str(exc_info.value)


async def test_row_without_a_required_field_names_its_path(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """An order row missing filled_quantity is reported as data[0].filled_quantity."""
    row: dict[str, Any] = {
        "order_id": "1",
        "status": "OPEN",
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "order_type": "LIMIT",
        "product": "CNC",
        "quantity": 1,
        "pending_quantity": 1,
    }
    fake_kite.on("GET", "/orders", Reply.json({"status": "success", "data": [row]}))
    with pytest.raises(MalformedResponse) as exc_info:
        await kite.orders()
    assert exc_info.value.field == "data[0].filled_quantity"


async def test_refused_connection_is_not_an_unknown_outcome(no_backoff: None) -> None:
    """A placement that could not even connect provably did not happen."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = kite_config(f"http://127.0.0.1:{port}")
    async with KiteRestClient(config, access_token=ACCESS_TOKEN) as kite:
        with pytest.raises(KiteTransportError) as exc_info:
            await kite.place_order(_market_buy())
    assert not isinstance(exc_info.value, UnknownOutcome)
    assert exc_info.value.maybe_sent is False


async def test_lifecycle_is_explicit(fake_kite: FakeKite) -> None:
    """A client works only while open, closes its connections with itself, and is not reused."""
    config = kite_config(fake_kite.root)
    fake_kite.on("GET", "/orders", BOOK)
    client = KiteRestClient(config, access_token=ACCESS_TOKEN)
    with pytest.raises(RuntimeError) as before:
        await client.orders()
    assert "new" in str(before.value)
    async with client:
        assert client.state is ClientState.OPEN
        assert await client.orders() == []
        wire = client._wire
        assert wire is not None
        assert wire.connections_opened == 1
    assert client.state is ClientState.CLOSED
    assert wire.connections_opened == 0
    with pytest.raises(RuntimeError) as reopened:
        await client.open()
    assert "closed" in str(reopened.value)
    with pytest.raises(RuntimeError):
        await client.orders()


async def test_secrets_stay_out_of_reprs_and_errors(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """Neither the client's repr nor a failed logout's error text or cause shows the token."""
    assert ACCESS_TOKEN not in repr(kite)
    fake_kite.on("DELETE", "/session/token", Reply(action="drop"))
    with pytest.raises(KiteTransportError) as exc_info:
        await kite.invalidate_access_token()
    error = exc_info.value
    assert ACCESS_TOKEN not in str(error)
    assert error.__cause__ is None
    assert fake_kite.seen[-1].query[-1] == ("access_token", ACCESS_TOKEN)


async def test_decimal_prices_are_sent_exactly(fake_kite: FakeKite, kite: KiteRestClient) -> None:
    """A modification sends the Decimal price as written, with no float rounding."""
    fake_kite.on("PUT", "/orders/co/9", PLACED)
    changes = OrderChanges(trigger_price=Decimal("1234.05"))
    await kite.modify_order("9", Variety.CO, changes, parent_order_id="8")
    assert fake_kite.seen[-1].form == {"trigger_price": "1234.05", "parent_order_id": "8"}
