"""KiteLogin, the login capability: its session routes go down the REST client's one send path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from orderdesk.brokers.kite.auth import CallbackServer, KiteLogin
from orderdesk.brokers.kite.client import KiteRestClient, checksum
from orderdesk.brokers.kite.config import KiteConfig
from orderdesk.brokers.kite.errors import KiteTransportError, TokenException
from orderdesk.errors import BrokerAuthError, BrokerTransportError
from orderdesk.ports.login import LoginFlow, LoginSession
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

from .conftest import ACCESS_TOKEN, API_KEY, FakeKite, Reply, kite_config

API_SECRET = "login-flow-api-secret-73"
FRESH_TOKEN = "fresh-access-token-3141"
SESSION = {
    "user_id": "AB1234",
    "user_name": "Asha Bhat",
    "api_key": API_KEY,
    "access_token": FRESH_TOKEN,
    "public_token": "public-token-2718",
    "login_time": "2026-01-05 09:15:00",
}
ISSUED = Reply.json({"status": "success", "data": SESSION})
REFUSED = Reply.error(403, "TokenException", "Token is invalid or has expired.")


def test_kite_login_offers_the_login_capability() -> None:
    """KiteLogin satisfies the LoginFlow protocol, and its redirect catcher is the loopback one."""
    flow = KiteLogin(KiteConfig(api_key=API_KEY))

    assert isinstance(flow, LoginFlow)
    assert isinstance(flow.redirect_catcher(0), CallbackServer)
    assert flow.request_token("http://127.0.0.1/?status=success&request_token=rt7") == "rt7"


@pytest.mark.parametrize(
    ("options", "page"),
    [
        ({}, "https://kite.zerodha.com/connect/login"),
        ({"root": "http://127.0.0.1:8765"}, "http://127.0.0.1:8765/connect/login"),
        (
            {"root": "http://127.0.0.1:8765", "login_root": "http://127.0.0.1:9/"},
            "http://127.0.0.1:9/connect/login",
        ),
    ],
)
def test_login_url_follows_the_configured_roots(options: dict[str, str], page: str) -> None:
    """Kite's API logs in on Kite's host, another root (the simulator) serves the page itself,
    and ``login_root`` overrides both."""
    flow = KiteLogin(KiteConfig.model_validate({"api_key": API_KEY, **options}))

    assert flow.login_url() == f"{page}?api_key={API_KEY}&v=3"


async def test_exchange_goes_through_the_shared_send_path(fake_kite: FakeKite) -> None:
    """POST /session/token carries the send path's headers (no Authorization) and the checksum,
    and Kite's reply becomes a LoginSession with UTC times and hidden credentials."""
    fake_kite.on("POST", "/session/token", ISSUED)

    session = await KiteLogin(kite_config(fake_kite.root)).open_session("rt-1", API_SECRET)

    (seen,) = fake_kite.seen
    assert seen.headers["X-Kite-Version"] == "3"
    assert seen.headers["User-Agent"] == "orderdesk"
    assert "Authorization" not in seen.headers
    assert seen.form == {
        "api_key": API_KEY,
        "request_token": "rt-1",
        "checksum": checksum(API_KEY, "rt-1", API_SECRET),
    }
    assert session == LoginSession(
        user_id="AB1234",
        user_name="Asha Bhat",
        started=datetime(2026, 1, 5, 3, 45, tzinfo=UTC),
        expires_at=datetime(2026, 1, 6, 0, 30, tzinfo=UTC),
        credentials=FRESH_TOKEN,
    )
    assert FRESH_TOKEN not in repr(session)


async def test_a_refused_exchange_is_the_same_error_as_on_any_route(
    fake_kite: FakeKite, no_backoff: None
) -> None:
    """A TokenException from /session/token is the very class a refused /orders raises."""
    fake_kite.on("POST", "/session/token", REFUSED)
    fake_kite.on("GET", "/orders", REFUSED)
    config = kite_config(fake_kite.root)

    with pytest.raises(BrokerAuthError) as login_error:
        await KiteLogin(config).open_session("rt-stale", API_SECRET)
    async with KiteRestClient(config, access_token=ACCESS_TOKEN) as rest:
        with pytest.raises(BrokerAuthError) as orders_error:
            await rest.orders()

    assert type(login_error.value) is TokenException
    assert type(orders_error.value) is TokenException
    assert login_error.value.http_status == 403
    assert API_SECRET not in str(login_error.value)


async def test_a_rate_limited_exchange_is_requeued_like_any_route(fake_kite: FakeKite) -> None:
    """A 429 on /session/token (Kite did nothing) is backed off and re-sent by the shared path."""
    throttled = Reply.error(429, "NetworkException", "Too many requests")
    fake_kite.on("POST", "/session/token", throttled, ISSUED)

    session = await KiteLogin(kite_config(fake_kite.root)).open_session("rt-2", API_SECRET)

    assert session.credentials == FRESH_TOKEN
    assert fake_kite.count("POST", "/session/token") == 2


async def test_end_session_sends_the_token_it_ends(fake_kite: FakeKite) -> None:
    """Logout is DELETE /session/token naming the api_key and the token, authorised by it."""
    fake_kite.on("DELETE", "/session/token", Reply.json({"status": "success", "data": True}))

    await KiteLogin(kite_config(fake_kite.root)).end_session("old-token-2024")

    (seen,) = fake_kite.seen
    assert dict(seen.query) == {"api_key": API_KEY, "access_token": "old-token-2024"}
    assert seen.headers["Authorization"] == f"token {API_KEY}:old-token-2024"


async def test_ending_an_ended_session_is_an_auth_error(fake_kite: FakeKite) -> None:
    """A logout Kite refuses because the session is already over is a BrokerAuthError."""
    fake_kite.on("DELETE", "/session/token", REFUSED)

    with pytest.raises(BrokerAuthError) as exc_info:
        await KiteLogin(kite_config(fake_kite.root)).end_session("gone-token-5150")

    assert isinstance(exc_info.value, TokenException)


async def test_an_unreachable_logout_hides_the_url(unused_tcp_port: int) -> None:
    """Logout with Kite unreachable is a transport error whose text and chain omit the token."""
    config = KiteConfig(api_key=API_KEY, root=f"http://127.0.0.1:{unused_tcp_port}")

    with pytest.raises(BrokerTransportError) as exc_info:
        await KiteLogin(config).end_session("logout-token-8086")

    error = exc_info.value
    assert isinstance(error, KiteTransportError)
    assert error.maybe_sent is False
    assert "logout-token-8086" not in str(error)
    assert error.__cause__ is None


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    """The simulator on 127.0.0.1, port 0, with its own api_secret and no rate limits."""
    config = SimConfig(
        port=0,
        api_key=API_KEY,
        api_secret=API_SECRET,
        price_tick_interval=None,
        rate_limits=False,
    )
    async with SimServer(config) as server:
        yield server


async def test_the_flow_opens_and_ends_a_session_on_the_simulator(sim: SimServer) -> None:
    """Login URL → redirect → open_session gives a token the sim accepts until end_session."""
    flow = KiteLogin(KiteConfig(api_key=API_KEY, root=sim.rest_root))
    async with aiohttp.ClientSession() as http:
        async with http.get(flow.login_url(), allow_redirects=False) as reply:
            token = flow.request_token(reply.headers["Location"])

        session = await flow.open_session(token, API_SECRET)
        async with KiteRestClient(flow.config, access_token=session.credentials) as rest:
            profile = await rest.profile()
        await flow.end_session(session.credentials)
        async with KiteRestClient(flow.config, access_token=session.credentials) as rest:
            with pytest.raises(TokenException) as exc_info:
                await rest.profile()

    assert profile.user_id == session.user_id == sim.config.user_id
    assert session.expires_at == flow.session_expiry(session.started)
    assert exc_info.value.http_status == 403
