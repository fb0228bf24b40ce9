"""Kite login: URL, checksum, expiry, redirect parsing, callback server, and the token exchange."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st
from kiteconnect import KiteConnect

from orderdesk.brokers.kite.auth import (
    CallbackServer,
    LoginFailed,
    Session,
    exchange_request_token,
    invalidate,
    login_url,
    parse_redirect_url,
    session_expiry,
)
from orderdesk.brokers.kite.client import checksum
from orderdesk.brokers.kite.errors import (
    GeneralRejection,
    KiteTransportError,
    MalformedResponse,
    TokenException,
)
from orderdesk.domain.calendar import IST
from orderdesk.errors import BrokerAuthError, BrokerUnavailable
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

API_KEY = "sim_api_key"
API_SECRET = "auth-test-api-secret-41"


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    """The simulator on 127.0.0.1, port 0, with its own api_secret and no rate limits."""
    config = SimConfig(
        port=0, api_key=API_KEY, api_secret=API_SECRET, price_tick_interval=None, rate_limits=False
    )
    async with SimServer(config) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session for the test."""
    async with aiohttp.ClientSession() as session:
        yield session


async def request_token_from(sim: SimServer, http: aiohttp.ClientSession) -> str:
    """Log in at the sim without following its redirect, and read the token from Location."""
    async with http.get(
        sim.rest_root + "/connect/login",
        params={"api_key": API_KEY, "v": "3"},
        allow_redirects=False,
    ) as reply:
        assert reply.status == 302
        return parse_redirect_url(reply.headers["Location"])


async def profile_status(sim: SimServer, http: aiohttp.ClientSession, session: Session) -> int:
    headers = {"Authorization": f"token {API_KEY}:{session.access_token.reveal()}"}
    async with http.get(sim.rest_root + "/user/profile", headers=headers) as reply:
        return reply.status


def test_login_url_matches_the_official_client() -> None:
    """The login URL is Kite's: api_key first, then v=3, the same as pykiteconnect builds."""
    url = login_url("abc123")

    assert url == "https://kite.zerodha.com/connect/login?api_key=abc123&v=3"
    assert url == KiteConnect("abc123").login_url()


def test_login_url_carries_redirect_params_and_another_root() -> None:
    """redirect_params are URL-encoded as one value; the root can point at the simulator."""
    url = login_url("k", root="http://127.0.0.1:9/", redirect_params={"state": "a b&c"})

    assert url == (
        "http://127.0.0.1:9/connect/login?api_key=k&v=3&redirect_params=state%3Da%2Bb%2526c"
    )


def test_checksum_is_sha256_of_the_concatenation() -> None:
    """The checksum is hex SHA-256 of api_key + request_token + api_secret."""
    expected = hashlib.sha256(b"keytokensecret").hexdigest()

    assert checksum("key", "token", "secret") == expected


@pytest.mark.parametrize(
    ("login", "expiry"),
    [
        # A trading-day login expires at 06:00 IST the next morning (00:30 UTC).
        (datetime(2026, 1, 5, 10, 0, tzinfo=IST), datetime(2026, 1, 6, 0, 30, tzinfo=UTC)),
        # Before 06:00 IST, the same morning.
        (datetime(2026, 1, 5, 5, 59, tzinfo=IST), datetime(2026, 1, 5, 0, 30, tzinfo=UTC)),
        # Exactly 06:00 is not "after": the next morning.
        (datetime(2026, 1, 5, 6, 0, tzinfo=IST), datetime(2026, 1, 6, 0, 30, tzinfo=UTC)),
        # A naive time is Kite's IST.
        (datetime(2026, 1, 5, 23, 59), datetime(2026, 1, 6, 0, 30, tzinfo=UTC)),
        # 20:00 UTC is 01:30 IST the next day: still before that day's 06:00.
        (datetime(2026, 1, 5, 20, 0, tzinfo=UTC), datetime(2026, 1, 6, 0, 30, tzinfo=UTC)),
    ],
)
def test_token_expiry_is_the_next_six_am_ist(login: datetime, expiry: datetime) -> None:
    """Kite tokens die at the first 06:00 IST after login; the result is UTC-aware."""
    result = session_expiry(login)

    assert result == expiry
    assert result.tzinfo is UTC


@given(st.datetimes(max_value=datetime(9998, 12, 31), timezones=st.just(UTC)))
def test_token_expiry_is_within_a_day_and_at_six_ist(login: datetime) -> None:
    """For any login the expiry is later, at most 24 h later, and at 06:00:00 IST."""
    expiry = session_expiry(login)

    assert login < expiry <= login + timedelta(days=1)
    local = expiry.astimezone(IST)
    assert (local.hour, local.minute, local.second, local.microsecond) == (6, 0, 0, 0)


def test_parse_redirect_url_takes_the_token() -> None:
    """A pasted successful redirect yields its request_token."""
    url = "http://127.0.0.1:5000/callback?action=login&type=login&status=success&request_token=rt9"

    assert parse_redirect_url(url) == "rt9"


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://127.0.0.1:5000/?status=cancelled&request_token=x", "status='cancelled'"),
        ("http://127.0.0.1:5000/?action=login&request_token=x", "status='missing'"),
        ("http://127.0.0.1:5000/?status=success", "no request_token"),
        ("rt9", "paste the whole address"),
    ],
)
def test_parse_redirect_url_explains_failures(url: str, needle: str) -> None:
    """A failed login, a missing token or a non-URL gives a LoginFailed that says what's wrong."""
    with pytest.raises(LoginFailed) as exc_info:
        parse_redirect_url(url)

    assert needle in str(exc_info.value)
    assert isinstance(exc_info.value, BrokerAuthError)


async def test_exchange_against_the_simulator(sim: SimServer, http: aiohttp.ClientSession) -> None:
    """A request token from the sim's login becomes a Session whose token the sim accepts."""
    token = await request_token_from(sim, http)

    session = await exchange_request_token(sim.rest_root, API_KEY, token, API_SECRET)

    assert session.user_id == sim.config.user_id
    assert session.api_key == API_KEY
    assert session.login_time.tzinfo is not None
    assert session.expires_at == session_expiry(session.login_time)
    assert session.access_token.reveal() not in repr(session)
    assert "***" in repr(session)
    assert await profile_status(sim, http, session) == 200


async def test_wrong_secret_is_a_token_exception(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    """A checksum made with the wrong api_secret fails as TokenException, a BrokerAuthError."""
    token = await request_token_from(sim, http)

    with pytest.raises(TokenException) as exc_info:
        await exchange_request_token(sim.rest_root, API_KEY, token, "wrong-secret-123")

    assert isinstance(exc_info.value, BrokerAuthError)
    assert exc_info.value.http_status == 403
    assert "wrong-secret-123" not in str(exc_info.value)


async def test_request_token_is_single_use(sim: SimServer, http: aiohttp.ClientSession) -> None:
    """Exchanging the same request token twice fails the second time with TokenException."""
    token = await request_token_from(sim, http)
    await exchange_request_token(sim.rest_root, API_KEY, token, API_SECRET)

    with pytest.raises(TokenException) as exc_info:
        await exchange_request_token(sim.rest_root, API_KEY, token, API_SECRET)

    assert exc_info.value.error_type == "TokenException"


async def test_invalidate_logs_the_session_out(sim: SimServer, http: aiohttp.ClientSession) -> None:
    """After invalidate the sim refuses the token with 403."""
    token = await request_token_from(sim, http)
    session = await exchange_request_token(sim.rest_root, API_KEY, token, API_SECRET)

    assert await invalidate(sim.rest_root, API_KEY, session.access_token) is True

    assert await profile_status(sim, http, session) == 403


async def serve(status: int, text: str, content_type: str = "application/json") -> TestServer:
    """A tiny fake Kite answering /session/token with one canned reply."""

    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, text=text, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/session/token", answer)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    return server


NO_TOKEN = '{"status": "success", "data": {"user_id": "AB1"}}'
ODD_ERROR = '{"status": "error", "message": "bad", "error_type": "Odd"}'


@pytest.mark.parametrize(
    ("status", "text", "content_type", "error"),
    [
        (502, "<html>bad gateway</html>", "text/html", BrokerUnavailable),
        (200, NO_TOKEN, "application/json", MalformedResponse),
        (200, "{not json", "application/json", MalformedResponse),
        (200, '{"status": "success"}', "application/json", MalformedResponse),
        (400, ODD_ERROR, "application/json", GeneralRejection),
    ],
)
async def test_unusable_replies_become_typed_errors(
    http: aiohttp.ClientSession, status: int, text: str, content_type: str, error: type[Exception]
) -> None:
    """An HTML gateway page, a reply without access_token or data, bad JSON: each a typed error."""
    server = await serve(status, text, content_type)
    try:
        with pytest.raises(error) as exc_info:
            await exchange_request_token(str(server.make_url("")), API_KEY, "rt", API_SECRET)
    finally:
        await server.close()

    assert API_SECRET not in str(exc_info.value)


async def test_transport_failure_does_not_quote_the_logout_url(unused_tcp_port: int) -> None:
    """A refused connection on logout is a transport error whose text and chain omit the token."""
    with pytest.raises(KiteTransportError) as exc_info:
        await invalidate(f"http://127.0.0.1:{unused_tcp_port}", API_KEY, "logout-token-777777")

    error = exc_info.value
    assert error.maybe_sent is False
    assert "logout-token-777777" not in str(error)
    assert error.__cause__ is None
    assert error.__suppress_context__ is True


async def test_callback_server_captures_the_token(http: aiohttp.ClientSession) -> None:
    """The redirect's request_token resolves wait(), and the browser gets a close-this-tab page."""
    async with CallbackServer(port=0) as callback:
        assert callback.port != 0
        url = callback.url + "callback?action=login&type=login&status=success&request_token=abc"
        async with http.get(url) as reply:
            page = await reply.text()
            status = reply.status

        token = await callback.wait()

    assert token == "abc"
    assert status == 200
    assert "close this tab" in page
    assert "the terminal says whether it worked" in page  # the exchange comes after the page
    assert "Logged in" not in page
    assert "abc" not in page


async def test_callback_server_ignores_unrelated_requests(http: aiohttp.ClientSession) -> None:
    """A favicon request is a 404 and leaves the login pending; the next redirect resolves it."""
    async with CallbackServer(port=0) as callback:
        async with http.get(callback.url + "favicon.ico") as reply:
            assert reply.status == 404
        async with http.get(callback.url + "?status=success&request_token=late") as reply:
            assert reply.status == 200
        async with http.get(callback.url + "?status=success&request_token=again") as reply:
            assert "already" in await reply.text()

        assert await callback.wait() == "late"


async def test_callback_server_reports_a_failed_login(http: aiohttp.ClientSession) -> None:
    """A redirect with status other than success fails wait() with LoginFailed."""
    async with CallbackServer(port=0) as callback:
        async with http.get(callback.url + "?status=error&action=login") as reply:
            assert reply.status == 400

        with pytest.raises(LoginFailed) as exc_info:
            await callback.wait()

    assert "status='error'" in str(exc_info.value)


async def test_callback_server_port_in_use_is_an_os_error() -> None:
    """Starting on a port that is taken raises OSError and leaves nothing running."""
    async with CallbackServer(port=0) as first:
        second = CallbackServer(port=first.port)
        with pytest.raises(OSError, match="in use") as exc_info:
            await second.start()

    assert exc_info.value.errno is not None


async def test_login_through_the_simulator_redirect(http: aiohttp.ClientSession) -> None:
    """Sim login redirects the browser to the callback server, and its token logs us in."""
    async with CallbackServer(port=0) as callback:
        config = SimConfig(
            port=0,
            api_key=API_KEY,
            api_secret=API_SECRET,
            price_tick_interval=None,
            rate_limits=False,
            redirect_url=callback.url + "kite/callback",
        )
        async with SimServer(config) as sim:
            # The "browser": follow the sim's 302 to our callback server.
            async with http.get(login_url(API_KEY, root=sim.rest_root)) as reply:
                landed_on, page = str(reply.url), await reply.text()
            token = await callback.wait()
            session = await exchange_request_token(sim.rest_root, API_KEY, token, API_SECRET)
            assert await profile_status(sim, http, session) == 200

    assert landed_on.startswith(callback.url + "kite/callback?")
    assert "close this tab" in page
