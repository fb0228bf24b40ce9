"""``DeskClient`` against the served API: the session, the days, and the API's error word kept
so a caller can tell a signal to resend after the login from one that was refused."""

from __future__ import annotations

import asyncio
import socket
from datetime import date
from decimal import Decimal

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from orderdesk.api.schemas import SignalIn
from orderdesk.client import DeskClient, DeskClientError, DeskUnavailable
from orderdesk.domain import InstrumentKey, OrderType, Side
from orderdesk.domain.day import Holding
from tests.api.conftest import TOKEN, Api

FRIDAY = date(2026, 12, 4)
SIGNAL = SignalIn(
    instrument="NSE:INFY",
    side=Side.BUY,
    quantity=5,
    order_type=OrderType.LIMIT,
    product="CNC",
    price=Decimal("1500"),
    signal_id="client-1",
)


async def test_session_expired_keeps_the_apis_error_word(api: Api) -> None:
    """A submit without a session raises DeskClientError with error ``session_expired``, and
    the same signal goes through after renew_session."""
    api.desk.lose_session()
    async with DeskClient(api.server.url, TOKEN) as client:
        with pytest.raises(DeskClientError) as caught:
            await client.submit(SIGNAL)
        renewed = await client.renew_session("kitetoken0a1b2c3d4e5f6a7b8c9d0e1f")
        placed = await client.submit(SIGNAL)
    error = caught.value
    assert (error.status, error.error, error.retry_after_login) == (503, "session_expired", True)
    assert "log in" in str(error)
    assert renewed.usable is True
    assert placed.order is not None


async def test_a_refusal_is_not_retry_after_login(api: Api) -> None:
    """A risk denial keeps its own word and is not a retry-after-login."""
    async with DeskClient(api.server.url, TOKEN) as client:
        with pytest.raises(DeskClientError) as caught:
            await client.submit(SIGNAL.model_copy(update={"quantity": 50_000}))
    assert (caught.value.error, caught.value.retry_after_login) == ("risk_denied", False)


async def test_days_day_and_holdings(api: Api) -> None:
    """days(), day() and holdings() read the desk's trading days back as models."""
    held = Holding(
        instrument=InstrumentKey.parse("NSE:TCS"),
        quantity=3,
        t1_quantity=0,
        average_price=Decimal("4000"),
    )
    api.desk.open_day(FRIDAY, holdings=[held])
    async with DeskClient(api.server.url, TOKEN) as client:
        await client.submit(SIGNAL)
        session = await client.session()
        days = await client.days()
        friday = await client.day(FRIDAY)
        holdings = await client.holdings()
        with pytest.raises(DeskClientError) as missing:
            await client.day(date(2026, 12, 3))
    assert session.trading_day == FRIDAY
    assert [(d.day, d.live, d.orders, d.holdings) for d in days] == [(FRIDAY, True, 1, 1)]
    assert [o.instrument for o in friday.orders] == ["NSE:INFY"]
    assert [h.instrument for h in holdings] == ["NSE:TCS"]
    assert (missing.value.status, missing.value.error) == (404, "not_found")


async def test_calls_share_one_kept_alive_connection_and_a_stopped_desk_is_unavailable(
    api: Api,
) -> None:
    """Requests go over one kept-alive connection (the server sees one peer for all of them);
    once nothing listens, a call raises DeskUnavailable naming the desk, not a socket error."""
    async with DeskClient(api.server.url, TOKEN) as client:
        for n in range(5):
            await client.submit(SIGNAL.model_copy(update={"signal_id": f"kept-{n}"}))
            await client.orders(strategy="default", signal_id=f"kept-{n}")
        assert client._wire is not None
        assert client._wire.connections_opened == 1
    with socket.socket() as probe:  # a loopback port nothing listens on any more
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with DeskClient(f"http://127.0.0.1:{port}", TOKEN) as gone:
        with pytest.raises(DeskUnavailable) as caught:
            await gone.health()
    assert f"127.0.0.1:{port}" in str(caught.value)


async def test_a_desk_gone_after_the_request_arrived_is_not_read_as_nobody_answered() -> None:
    """A desk killed once the signal reached it (the connection closes with no reply) may
    have placed it: the error says so and how to find out without a second order, where one
    that was never reached (connection refused) says nobody answered."""
    arrived = asyncio.Event()

    async def takes_then_dies(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        arrived.set()
        writer.close()

    server = await asyncio.start_server(takes_then_dies, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, DeskClient(f"http://127.0.0.1:{port}", TOKEN) as client:
        with pytest.raises(DeskUnavailable) as cut:
            await client.submit(SIGNAL)
        with pytest.raises(DeskUnavailable) as cancel:
            await client.cancel("od-1")
    assert cancel.value.may_have_arrived
    assert "look before asking again" in str(cancel.value)
    assert "signal id" not in str(cancel.value)  # a cancel has none
    assert arrived.is_set()
    assert cut.value.may_have_arrived
    assert "no order desk answered" not in str(cut.value)
    assert "may have carried it out" in str(cut.value)
    assert "same signal id" in str(cut.value)
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with DeskClient(f"http://127.0.0.1:{port}", TOKEN) as gone:
        with pytest.raises(DeskUnavailable) as refused:
            await gone.submit(SIGNAL)
    assert not refused.value.may_have_arrived
    assert "no order desk answered" in str(refused.value)


async def test_a_wait_follows_the_stream_and_a_closed_client_refuses_calls(api: Api) -> None:
    """``wait`` opens the event stream at its first use (the client's requests need none) and
    sees the fill; once the client is closed, a call says so instead of opening a new one."""
    async with DeskClient(api.server.url, TOKEN) as client:
        placed = await client.submit(SIGNAL)
        assert placed.order is not None
        order_id = placed.order.order_id
        api.desk.fill(order_id, Decimal("1500"))
        filled = await client.wait(order_id, timeout=10)
    assert filled.status == "FILLED"
    with pytest.raises(RuntimeError, match="async with"):
        await client.health()
    with pytest.raises(RuntimeError, match="async with"):
        await client.wait(order_id, timeout=1)


async def test_a_redirect_is_a_clear_error_not_a_parse_error(api: Api) -> None:
    """``cancel("")`` names ``/api/orders/``, which the API answers with a redirect: the client
    raises DeskClientError naming the route, not pydantic's "Invalid JSON" of an empty body."""
    async with DeskClient(api.server.url, TOKEN) as client:
        with pytest.raises(DeskClientError) as caught:
            await client.cancel("")
        with pytest.raises(DeskClientError) as listed:
            await client.get_json("/api/orders/")
    assert caught.value.status == 307
    assert (
        caught.value.reason == "DELETE /api/orders/ is not a route of the desk's API (it redirects)"
    )
    assert listed.value.status == 307


async def test_get_json_sends_its_params_as_the_query(api: Api) -> None:
    """``get_json``'s params reach the route as its query (a ``?`` in the path would be
    escaped into the path and match no route)."""
    async with DeskClient(api.server.url, TOKEN) as client:
        assert await client.get_json("/api/gtt", {"strategy": "swing", "active": "true"}) == {
            "data": []
        }
        with pytest.raises(DeskClientError) as caught:
            await client.get_json("/api/gtt?active=true")
    assert caught.value.status == 404


async def test_an_empty_reply_is_a_clear_error_not_a_parse_error() -> None:
    """A 200 without a body (no desk answers so, but a proxy in between may) is a
    DeskClientError naming the request, not pydantic's "Invalid JSON: EOF"."""

    async def empty(request: web.Request) -> web.Response:
        return web.Response(status=200)

    app = web.Application()
    app.router.add_delete("/api/orders/{order_id}", empty)
    async with (
        TestServer(app, host="127.0.0.1", port=0) as server,
        DeskClient(str(server.make_url("")), TOKEN) as client,
    ):
        with pytest.raises(DeskClientError) as caught:
            await client.cancel("o-1")
    assert caught.value.status == 200
    assert caught.value.reason == (
        "the desk answered DELETE /api/orders/o-1 with an empty reply (200)"
    )
