"""The broker session over the API: its state, the login handed to a running desk, the token
kept out of every answer and log, and signals refused (503) while there is no session."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import structlog

from orderdesk.logging import configure_logging, forget_secrets
from tests.api.conftest import Api
from tests.api.test_routes import LIMIT_BUY

TOKEN = "kitetoken0a1b2c3d4e5f6a7b8c9d0e1f"


@pytest.fixture
def log_sink(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Every logger at DEBUG into a buffer, through orderdesk's redacting set-up; restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    factory = logging.getLogRecordFactory()
    buffer = io.StringIO()
    configure_logging("DEBUG", json=True, stream=buffer)
    caplog.set_level(logging.DEBUG)
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.setLogRecordFactory(factory)
    structlog.reset_defaults()
    forget_secrets()


async def post_session(api: Api, body: Any) -> tuple[int, str]:
    async with api.client.post("/api/session", json=body) as response:
        return response.status, await response.text()


async def test_session_shows_state_expiry_and_trading_day(api: Api) -> None:
    """GET /api/session answers the session's state and the desk's trading day, no token."""
    api.desk.open_day(date(2026, 12, 4))
    async with api.client.get("/api/session") as response:
        body = await response.json()
    assert response.status == 200
    assert body["state"] == "valid"
    assert body["usable"] is True
    assert body["trading_day"] == "2026-12-04"
    assert set(body) == {"state", "usable", "expires_at", "since", "reason", "trading_day"}


async def test_posting_a_token_renews_the_session(api: Api) -> None:
    """POST /api/session hands the token to the desk and answers the renewed session."""
    api.desk.lose_session()

    status, text = await post_session(api, {"access_token": TOKEN})

    assert status == 200, text
    assert api.desk.renewals == 1
    async with api.client.get("/api/session") as response:
        body = await response.json()
    assert body["state"] == "valid"
    assert body["expires_at"] is not None


async def test_the_token_is_never_echoed_in_answers_or_logs(
    api: Api, log_sink: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    """Accepted, malformed and refused posts answer without the token, and no log shows it."""
    answers = [
        await post_session(api, {"access_token": TOKEN}),
        await post_session(api, {"access_token": TOKEN, "user": TOKEN}),
        await post_session(api, {"access_token": TOKEN + " "}),
        await post_session(api, {"access_token": [TOKEN]}),
    ]
    async with api.client.post(
        "/api/session",
        data='{"access_token": "' + TOKEN,
        headers={"Content-Type": "application/json"},
    ) as response:
        answers.append((response.status, await response.text()))
    api.desk.has_sessions = False
    answers.append(await post_session(api, {"access_token": TOKEN}))

    assert [status for status, _ in answers] == [200, 422, 422, 422, 400, 409]
    for _, text in answers:
        assert TOKEN not in text
    assert "renewing the broker session with ***" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in log_sink.getvalue()


async def test_extra_fields_are_refused(api: Api) -> None:
    """The session body is strict: an unknown field is a 422 naming it."""
    status, text = await post_session(api, {"access_token": TOKEN, "api_key": "x"})
    assert status == 422
    assert '"field":"api_key"' in text.replace(" ", "")
    assert api.desk.renewals == 0


async def test_a_broker_without_sessions_is_a_conflict(api: Api) -> None:
    """Handing a token to a desk on the paper broker answers 409 saying why."""
    api.desk.has_sessions = False
    async with api.client.post("/api/session", json={"access_token": TOKEN}) as response:
        body = await response.json()
    assert response.status == 409
    assert body["error"] == "conflict"
    assert "no session" in body["message"]


async def test_submit_without_a_session_is_503_session_expired(api: Api) -> None:
    """A signal while the session is gone answers 503 session_expired, saying to log in and
    resend; after the renewal the same signal is placed."""
    api.desk.lose_session()
    signal = {**LIMIT_BUY, "signal_id": "morning-1"}

    async with api.client.post("/api/signals", json=signal) as response:
        refused = await response.json()
    assert response.status == 503
    assert refused["error"] == "session_expired"
    assert "log in" in refused["message"]
    assert "same signal" in refused["message"]
    assert api.desk.orders() == []

    await post_session(api, {"access_token": TOKEN})
    async with api.client.post("/api/signals", json=signal) as response:
        assert response.status == 201


async def test_submit_before_the_day_opens_is_503_day_not_open(api: Api) -> None:
    """A signal while today's trading day could not be opened answers 503 day_not_open."""
    api.desk.day_open = False
    async with api.client.post("/api/signals", json=LIMIT_BUY) as response:
        body = await response.json()
    assert response.status == 503
    assert body["error"] == "day_not_open"


async def test_health_is_degraded_without_a_session(api: Api) -> None:
    """Health carries the session's state and the trading day, and degrades when the session
    is not usable even with the stream up."""
    async with api.client.get("/api/health") as response:
        healthy = await response.json()
    assert (healthy["status"], healthy["session"], healthy["trading_day"]) == ("ok", "valid", None)
    api.desk.lose_session()
    async with api.client.get("/api/health") as response:
        degraded = await response.json()
    assert (degraded["status"], degraded["session"]) == ("degraded", "expired")
