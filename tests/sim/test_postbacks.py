"""Postbacks: Kite's body and checksum to a local receiver, the update faults, and secrecy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web

from orderdesk.sim.faults import Faults
from orderdesk.sim.postbacks import PostbackSender, UpdateShaper, postback_checksum
from tests.support import eventually

SECRET = "postback-secret-xyz"
APP_ID = 12617
"""An app id as Kite's GTT sample shows one."""


class Receiver:
    """A tiny app on 127.0.0.1:0 that records every POSTed JSON body (or answers an error)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        return web.Response(status=self.status, text="ok")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A running postback receiver."""
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield rec
    finally:
        await runner.cleanup()


def _order(n: int = 1, status: str = "COMPLETE") -> dict[str, Any]:
    return {
        "order_id": f"2607160000{n:05d}",
        "order_timestamp": "2026-07-16 10:00:00",
        "status": status,
        "user_id": "AB1234",
        "pending_quantity": 0,
        "unfilled_quantity": 0,
    }


async def test_body_carries_kites_checksum(receiver: Receiver, kite_mocks: Path) -> None:
    """The POSTed body is the order plus app_id and sha256(order_id + timestamp + secret)."""
    sender = PostbackSender(receiver.url, SECRET, app_id=1234)
    sender.send(_order())
    await eventually(lambda: receiver.bodies, what="postback")
    await sender.close()
    body = receiver.bodies[0]
    expected = hashlib.sha256(
        ("2607160000" + "00001" + "2026-07-16 10:00:00" + SECRET).encode()
    ).hexdigest()
    assert body["checksum"] == expected
    assert body["app_id"] == 1234
    sample = json.loads((kite_mocks / "postback.json").read_text())
    assert {"user_id", "unfilled_quantity", "app_id", "checksum"} <= set(body)
    assert isinstance(sample["app_id"], int)


def test_checksum_function_matches_the_formula() -> None:
    """postback_checksum is the hex SHA-256 of the plain concatenation."""
    assert postback_checksum("1", "2", "3") == hashlib.sha256(b"123").hexdigest()


async def test_no_url_sends_nothing() -> None:
    """Without a postback URL, send() is a no-op and close() still works."""
    sender = PostbackSender(None, SECRET, app_id=APP_ID)
    sender.send(_order())
    await sender.close()
    assert sender.sent == sender.failed == 0


async def test_updates_arrive_in_order(receiver: Receiver) -> None:
    """A sequence of updates reaches the receiver in the order it was sent."""
    sender = PostbackSender(receiver.url, SECRET, app_id=APP_ID)
    for n in range(5):
        sender.send(_order(n, "UPDATE"))
    await sender.drain()
    await sender.close()
    assert [b["order_id"][-1] for b in receiver.bodies] == ["0", "1", "2", "3", "4"]


async def test_update_faults_apply_to_postbacks(receiver: Receiver) -> None:
    """With duplicate and reorder on, postbacks arrive twice and after their successor."""
    faults = Faults()
    faults.reset(1)
    faults.update_duplicate = 1.0
    faults.update_reorder = 1.0
    sender = PostbackSender(receiver.url, SECRET, faults=faults, app_id=APP_ID)
    sender.send(_order(1))
    sender.send(_order(2))
    await eventually(lambda: len(receiver.bodies) >= 4, what="shaped postbacks")
    await sender.close()
    assert [b["order_id"][-1] for b in receiver.bodies] == ["2", "2", "1", "1"]
    assert sender.sent == 4


async def test_failed_post_is_logged_without_the_secret(receiver: Receiver) -> None:
    """A 500 from the receiver is counted and logged; the api secret appears nowhere."""
    receiver.status = 500
    sender = PostbackSender(receiver.url, SECRET, app_id=APP_ID)
    with structlog.testing.capture_logs() as logs:
        sender.send(_order())
        await eventually(lambda: sender.failed == 1, what="failure counted")
        await sender.close()
    assert logs
    assert logs[0]["event"] == "postback failed"
    assert logs[0]["status"] == 500
    assert SECRET not in repr(logs)
    assert SECRET not in repr(sender)


async def test_unreachable_receiver_does_not_raise() -> None:
    """A refused connection is a counted failure, never an exception in the caller."""
    sender = PostbackSender("http://127.0.0.1:9/nothing", SECRET, app_id=APP_ID)
    sender.send(_order())
    await eventually(lambda: sender.failed == 1, what="failure counted")
    await sender.close()


async def test_injected_session_factory_is_used(receiver: Receiver) -> None:
    """The sender builds its HTTP session from the factory it was given."""
    made: list[aiohttp.ClientSession] = []

    def factory() -> aiohttp.ClientSession:
        session = aiohttp.ClientSession(headers={"X-Test": "1"})
        made.append(session)
        return session

    sender = PostbackSender(receiver.url, SECRET, factory, app_id=APP_ID)
    sender.send(_order())
    await sender.drain()
    await sender.close()
    assert len(made) == 1
    assert made[0].closed
    assert receiver.bodies


def test_shaper_without_a_loop_delivers_at_once() -> None:
    """Outside an event loop there is nothing to schedule on, so updates go straight out."""
    faults = Faults()
    faults.update_delay_ms = 500.0
    out: list[int] = []
    shaper: UpdateShaper[int] = UpdateShaper(faults, out.append)
    shaper.push(1)
    shaper.push(2)
    assert out == [1, 2]


async def test_shaper_is_deterministic_for_a_seed() -> None:
    """Two shapers on identically seeded faults shape the same stream identically."""
    results = []
    for _ in range(2):
        faults = Faults()
        faults.reset(42)
        faults.update_duplicate = 0.3
        faults.update_reorder = 0.3
        out: list[int] = []
        shaper: UpdateShaper[int] = UpdateShaper(faults, out.append, hold_s=0.01)
        for n in range(40):
            shaper.push(n)
        shaper.flush()
        results.append(out)
    assert results[0] == results[1]
    assert sorted(set(results[0])) == list(range(40))
    assert results[0] != sorted(results[0])
