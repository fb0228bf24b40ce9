"""The official KiteTicker pointed at the simulator as it is pointed at Kite: the root path, no
``/ws`` (KITE_API.md §10, §12.11), and order updates carrying the postback payload (§11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from kiteconnect import KiteConnect

from orderdesk.sim.app import SimServer
from orderdesk.sim.postbacks import postback_checksum
from tests.support import wait_until

from .conftest import SimControl
from .test_ticker_kite import INFY, Child


def _root(sim: SimServer) -> str:
    return f"ws://127.0.0.1:{sim.port}"


def test_kiteticker_at_the_root_streams_ticks_and_postback_shaped_updates(
    sim_thread: SimServer, kite: KiteConnect, simctl: SimControl, kite_mocks: Path
) -> None:
    """``KiteTicker(root="ws://HOST:PORT")`` connects, streams ticks, and its order updates
    carry every field of Kite's postback sample, app_id and checksum included."""
    child = Child(sim_thread.config.api_key, kite.access_token, _root(sim_thread))
    try:
        wait_until(lambda: child.of("connect"), timeout=30, what="KiteTicker connect at /")
        child.send("subscribe", [INFY])
        simctl.prices({"NSE:INFY": 1501.5})
        wait_until(
            lambda: (child.last_tick(INFY) or {}).get("last_price") == 1501.5,
            timeout=10,
            what="a tick at 1501.5",
        )
        order_id = kite.place_order(
            variety="regular",
            exchange="NSE",
            tradingsymbol="INFY",
            transaction_type="BUY",
            quantity=1,
            product="CNC",
            order_type="LIMIT",
            price=1502,
        )
        update = wait_until(
            lambda: [e["data"] for e in child.of("order") if e["data"]["order_id"] == order_id],
            timeout=10,
            what="the order's update",
        )[0]
    finally:
        child.stop()
    sample = json.loads((kite_mocks / "postback.json").read_text())
    assert set(sample) <= set(update)
    assert isinstance(update["app_id"], int)
    assert update["checksum"] == postback_checksum(
        order_id, update["order_timestamp"], sim_thread.config.api_secret
    )


def test_the_root_refuses_bad_credentials_like_ws(sim_thread: SimServer) -> None:
    """At the root path too, a wrong token's upgrade is refused with 403."""
    child = Child(sim_thread.config.api_key, "wrong-token", _root(sim_thread))
    try:
        errors = wait_until(lambda: child.of("error"), timeout=30, what="refusal")
    finally:
        child.stop()
    assert "403" in errors[0]["reason"]
    assert not child.of("connect")


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_plain_http_at_the_root_is_still_not_found(sim_thread: SimServer, method: str) -> None:
    """Without an upgrade the root path answers Kite's 404 envelope, as before it served the
    ticker."""
    reply = requests.request(method, sim_thread.rest_root + "/", timeout=10)
    assert reply.status_code == 404
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["error_type"] == "GeneralException"
