"""POST /api/session with a token the broker refuses: 400 saying so, the session the desk has
left as it was, and the token in no answer or log line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog

from orderdesk.api.desk import SessionStatus
from orderdesk.brokers.kite.errors import TokenException
from orderdesk.logging import configure_logging, forget_secrets
from tests.api.conftest import Api
from tests.api.fakes import FakeDesk

WRONG = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
"""The token the broker refuses; any other is taken."""


class CheckingDesk(FakeDesk):
    """A desk whose broker refuses ``WRONG`` before switching to it, as the Kite adapter does."""

    async def renew_session(self, access_token: str) -> SessionStatus:
        if access_token == WRONG:
            # A careless adapter might quote it; the API must not depend on one that does not.
            raise TokenException(
                f"Incorrect `api_key` or `access_token` {access_token}.", http_status=403
            )
        return await super().renew_session(access_token)


@pytest.fixture
def desk() -> FakeDesk:
    """The checking desk behind the app (replaces the API fixtures' plain fake)."""
    return CheckingDesk()


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


@pytest.mark.parametrize(
    ("expired", "kept"),
    [(False, "the desk keeps its working session"), (True, "the desk still has no usable session")],
    ids=["working-session", "morning"],
)
async def test_a_refused_token_is_a_400_that_leaves_the_session(
    api: Api,
    log_sink: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    expired: bool,
    kept: str,
) -> None:
    """The broker's refusal answers 400 ``refused`` naming it and saying what the desk keeps;
    the session's state is unchanged, nothing was renewed, and neither the answer nor any log
    line shows the token."""
    if expired:
        api.desk.lose_session()
    before = api.desk.session()

    async with api.client.post("/api/session", json={"access_token": WRONG}) as response:
        text = await response.text()
        body = await response.json()

    assert response.status == 400, text
    assert body["error"] == "refused"
    assert body["message"].startswith("the broker refused this access token (Incorrect")
    assert kept in body["message"]
    assert api.desk.session() == before
    assert api.desk.renewals == 0
    assert "the broker refused the access token handed to the desk" in caplog.text
    for shown in (text, caplog.text, log_sink.getvalue()):
        assert WRONG not in shown
