"""A login handed to a running desk (``POST /api/session``) with a token the broker refuses:
the desk, the Kite adapter and its HTTP API on the simulator, no fakes between them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from orderdesk.api.app import create_app
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.api.server import serve_api
from orderdesk.client import DeskClient, DeskClientError
from orderdesk.domain import InstrumentKey, OrderStatus, OrderType, Product, Side, Signal
from orderdesk.engine import OrderDesk
from orderdesk.logging import configure_logging, forget_secrets
from orderdesk.store.location import sqlite_url
from tests.scenarios.harness import open_desk, running_sim
from tests.support import eventually

INFY = InstrumentKey.parse("NSE:INFY")
API_TOKEN = "refused-login-api-token-0123456789"  # the desk's own bearer token, made up here
WRONG = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
"""Shaped like a Kite access token, never issued by the simulator: a mis-pasted one."""


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


def count(desk: OrderDesk, kind: str) -> int:
    return sum(1 for _ in desk.store.read(kind=kind))


def buy(signal_id: str) -> Signal:
    return Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.MARKET,
        product=Product.MIS,
        signal_id=signal_id,
    )


async def test_a_refused_token_keeps_the_working_session(
    tmp_path: Path, log_sink: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    """A token the broker refuses is answered 400 saying the broker refused it, and the desk
    goes on with the session it had: still valid, healthy, streaming and placing orders, no
    renewal or loss recorded, the token in no answer, log or event; a token the broker accepts
    is then switched to as before."""
    async with (
        running_sim(seed=11, rate_limits=False) as (sim, address),
        open_desk(address, sqlite_url(tmp_path / "desk.db"), tmp_path) as desk,
    ):
        server = await serve_api(create_app(EngineDesk(desk), token=API_TOKEN))
        try:
            async with DeskClient(server.url, API_TOKEN) as api:
                await eventually(lambda: desk.stream_connected, what="the live stream")
                with pytest.raises(DeskClientError) as refused:
                    await api.renew_session(WRONG)
                session = await api.session()
                health = await api.health()
                handle = await desk.submit(buy("after-the-refusal"))
                await handle.wait()
                filled = desk.order(handle.order_id)
                renewals_after_refusal = count(desk, "SessionRenewed")
                renewed = await api.renew_session(sim.issue_access_token())
        finally:
            await server.stop()
        losses = count(desk, "SessionLost")
        renewals = count(desk, "SessionRenewed")
        events = "\n".join(str(row) for row in desk.store.read())

    error = refused.value
    assert (error.status, error.error) == (400, "refused")
    assert "the broker refused this access token" in error.reason
    assert "the desk keeps its working session" in error.reason
    assert (session.state, session.usable) == ("valid", True)
    assert (health.status, health.session) == ("ok", "valid")
    assert filled.status is OrderStatus.FILLED
    assert renewals_after_refusal == 0
    assert losses == 0
    assert renewed.usable
    assert renewals == 1
    assert "refused the access token handed to the desk" in caplog.text
    for text in (str(error), str(error.body), caplog.text, log_sink.getvalue(), events):
        assert WRONG not in text
