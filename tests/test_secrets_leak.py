"""The secret-leak test: a whole session at DEBUG, and neither api_secret nor token shows anywhere.

One session does what a user's day does: log in through the simulator's login redirect and the
callback server, place / modify / cancel an order through the engine and the Kite adapter
(REST and WebSocket), make other REST calls, hit an expired-token error, log out, and fail a
few more ways on purpose. Everything that could carry a secret is then searched for it: the
rendered log stream (structlog and stdlib through :func:`configure_logging`), pytest's caplog
records and their tracebacks, the text, repr and formatted traceback of every exception, the
repr of the objects holding secrets, and the event store's files.
"""

from __future__ import annotations

import io
import logging
import sys
import traceback
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from orderdesk.brokers import BrokerContext
from orderdesk.brokers.kite import create_broker
from orderdesk.brokers.kite.auth import (
    CallbackServer,
    exchange_request_token,
    invalidate,
    login_url,
)
from orderdesk.domain import Exchange, InstrumentKey, OrderStatus
from orderdesk.domain.signal import Signal
from orderdesk.domain.values import OrderType, Product, Side
from orderdesk.engine import DeskConfig, OrderDesk
from orderdesk.errors import BrokerAuthError, OrderDeskError
from orderdesk.logging import get_logger
from orderdesk.secrets import ACCESS_TOKEN, API_SECRET, default_secret_store
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.store import SqlEventStore
from tests.support import json_logs

API_KEY = "leak_test_key"
SECRET_VALUE = "leak-test-api-secret-8c7b6a5f"
INFY = InstrumentKey(Exchange.NSE, "INFY")
# Working at the broker; whether the sim's OPEN update has arrived yet does not matter here.
WORKING = frozenset({OrderStatus.ACCEPTED, OrderStatus.OPEN})


@pytest.fixture
def log_stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """All logging at DEBUG into a buffer (JSON lines); restored afterwards."""
    monkeypatch.setitem(sys.modules, "keyring", None)  # secrets go to the 0600 file
    with json_logs() as buffer:
        yield buffer


def exception_texts(error: BaseException) -> list[str]:
    """str, repr and the full formatted traceback (with causes) of an exception."""
    return [str(error), repr(error), "".join(traceback.format_exception(error))]


async def test_no_secret_appears_in_logs_errors_or_the_event_store(
    tmp_path: Path, log_stream: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    """After a full session at DEBUG, api_secret and access token appear in no output at all."""
    caplog.set_level(logging.DEBUG)
    log = get_logger("leak.test")
    errors: list[BaseException] = []
    secrets = default_secret_store(tmp_path / "config", environ={})
    secrets.set(API_SECRET, SECRET_VALUE)  # as `orderdesk login --ask-secret` would
    db = tmp_path / "data" / "events.db"

    async with CallbackServer(port=0) as callback:
        config = SimConfig(
            port=0,
            api_key=API_KEY,
            api_secret=SECRET_VALUE,
            redirect_url=callback.url + "kite",
            price_tick_interval=None,
            rate_limits=False,
        )
        async with SimServer(config) as sim, aiohttp.ClientSession() as http:
            # Login: browser -> sim login -> 302 -> callback server -> exchange.
            async with http.get(login_url(API_KEY, root=sim.rest_root)) as reply:
                await reply.read()
            request_token = await callback.wait()
            api_secret = secrets.get(API_SECRET)
            assert api_secret == SECRET_VALUE
            session = await exchange_request_token(
                sim.rest_root, API_KEY, request_token, api_secret
            )
            access_token = session.access_token.reveal()
            secrets.set(ACCESS_TOKEN, access_token)
            log.debug("login done", session=session, secrets=secrets)

            # Trading through the engine, the Kite adapter (REST + ticker) and the SQL store.
            options = {
                "api_key": API_KEY,
                "root": sim.rest_root,
                "ws_url": sim.ws_url,
                "rate_limits_enabled": False,
            }
            broker = create_broker(options, BrokerContext(secrets=secrets, data_dir=tmp_path))
            store = SqlEventStore.open(db)
            desk_config = DeskConfig(reconcile_interval=None, poll_interval=0.2)
            async with OrderDesk(broker, store, config=desk_config) as desk:
                signal = Signal(
                    instrument=INFY,
                    side=Side.BUY,
                    quantity=1,
                    order_type=OrderType.LIMIT,
                    product=Product.CNC,
                    price=Decimal("1400"),
                )
                handle = await desk.submit(signal)
                await handle.wait(lambda h: h.status in WORKING, timeout=10)
                await handle.modify(price=Decimal("1401"))
                await handle.wait(lambda h: h.status in WORKING, timeout=10)
                await handle.cancel()
                await handle.wait(timeout=10)
                await broker.margins()
                await broker.positions()
                await broker.orders()
                # A careless debug line of the kind redaction exists to catch.
                log.debug("broker", broker=broker, headers=broker.rest._headers)

                # The morning after: the token has expired.
                sim.faults.expire_tokens = True
                try:
                    await broker.orders()
                except BrokerAuthError as exc:
                    errors.append(exc)
                    logging.getLogger("leak.stdlib").exception("orders failed")
                    log.exception("orders failed")
                sim.faults.expire_tokens = False
            store.close()

            # Logout, then the ways a login can fail.
            assert await invalidate(sim.rest_root, API_KEY, session.access_token)
            for attempt in (
                exchange_request_token(sim.rest_root, API_KEY, request_token, api_secret),
                exchange_request_token(sim.rest_root, API_KEY, "stale-rt", "wrong-secret"),
                invalidate("http://127.0.0.1:9", API_KEY, access_token),
            ):
                try:
                    await attempt
                except OrderDeskError as exc:
                    errors.append(exc)
                    log.warning("auth failed", error=exc)

    assert len(errors) == 4, errors
    assert handle.status is OrderStatus.CANCELLED
    haystacks = {
        "log stream": log_stream.getvalue(),
        "caplog text": caplog.text,
        "caplog messages": "\n".join(str(r.msg) + r.getMessage() for r in caplog.records),
        "caplog tracebacks": "\n".join(r.exc_text or "" for r in caplog.records),
        "exceptions": "\n".join(t for e in errors for t in exception_texts(e)),
        "reprs": repr(session) + repr(secrets) + repr(broker) + repr(broker.rest),
    }
    for path in sorted(db.parent.iterdir()):
        haystacks[f"event store {path.name}"] = path.read_bytes().decode("latin-1")
    # The pipeline really saw the adapter's, the engine's and the test's own records.
    for expected in ("ticker.connected", "replayed 0 events", "login done", "orders failed"):
        assert expected in log_stream.getvalue()
    for where, text in haystacks.items():
        for name, value in (
            ("api_secret", SECRET_VALUE),
            ("access_token", access_token),
            ("request_token", request_token),
        ):
            assert value not in text, f"{name} leaked into {where}"
