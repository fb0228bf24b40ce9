"""The bot's answers in words, over the API's fake desk: no secret in any letter case, an
unfilled order's reason and a stop's trigger, a past expiry, and the doctor's idle stream."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orderdesk.api.desk import SessionStatus
from orderdesk.approvals import ApprovalQueue
from orderdesk.domain import OrderType, Side
from orderdesk.ports.broker import ConnectionState
from orderdesk.redaction import forget_secrets, register_secret
from orderdesk.telegram.commands import DeskCommands
from tests.api.fakes import FakeDesk
from tests.domain.builders import signal

CHAT = 4242
ACCESS_TOKEN = "4a5f9c0e1bT2d3a4F5e6d7c8b9a0f1e2"
"""Shaped like a Kite access token: 32 letters and digits."""


class Recorded:
    """The audit log's records of the commands: (operator, command, outcome, params)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    async def __call__(self, operator: str, command: str, outcome: str, params: str = "") -> None:
        self.rows.append((operator, command, outcome, params))


@pytest.fixture
def token() -> Iterator[str]:
    register_secret(ACCESS_TOKEN)
    yield ACCESS_TOKEN
    forget_secrets()


def bot(desk: FakeDesk, recorded: Recorded | None = None) -> DeskCommands:
    approvals = ApprovalQueue(desk.submit, {}, screen=desk.screen)
    return DeskCommands(desk, approvals, recorded or Recorded())


async def test_keep_never_echoes_the_access_token_upper_cased(token: str) -> None:
    """``/keep NSE:<token>`` upper-cases its argument before the reply: the token is masked
    in the reply and in the audit log all the same."""
    recorded = Recorded()
    reply = await bot(FakeDesk(), recorded).handle(CHAT, f"/keep NSE:{token}")
    assert reply.text == "No open MIS position in NSE:*** to keep."
    assert token.upper() not in str(recorded.rows)
    assert token.lower() not in str(recorded.rows).lower()


async def test_orders_show_a_rejections_reason_and_a_stops_trigger() -> None:
    """/orders says why an order was rejected (one line, as the broker's reason may not be)
    and what price a stop triggers at, as ``orderdesk orders`` does."""
    desk = FakeDesk()
    desk.reject_with = "Margin exceeds.\nRequired margin is 12000.00"
    await desk.submit(signal(quantity=5, signal_id="r-1"))
    desk.reject_with = None
    stop = signal(
        side=Side.SELL,
        order_type=OrderType.SL_M,
        price=None,
        trigger_price=Decimal("1480"),
        signal_id="s-1",
    )
    placed = await desk.submit(stop)
    await desk.cancel(placed.order_id)
    reply = await bot(desk).handle(CHAT, "/orders")
    assert "REJECTED 0/5: Margin exceeds. Required margin is 12000.00 ·" in reply.text
    assert "SELL 10 NSE:INFY SL-M trigger 1480 · CANCELLED 0/10" in reply.text


async def test_status_words_a_past_expiry_as_expired_at() -> None:
    """After the 06:00 expiry /status says the session expired at that time, not "until"."""
    desk = FakeDesk()
    ended = datetime(2026, 12, 8, 0, 30, tzinfo=UTC)  # 06:00 IST
    desk.session_status = SessionStatus("expired", expires_at=ended, since=ended)
    reply = await bot(desk).handle(CHAT, "/status")
    assert "broker session: expired at 08 Dec 06:00 IST" in reply.text
    assert "until" not in reply.text


async def test_doctor_reads_a_stream_open_past_the_session_as_idle() -> None:
    """/doctor and /status agree: a socket open after the session ended is idle."""
    desk = FakeDesk()
    desk.connection = ConnectionState.CONNECTED
    ended = datetime(2026, 12, 8, 0, 30, tzinfo=UTC)
    desk.session_status = SessionStatus("expired", expires_at=ended, since=ended)
    commands = bot(desk)
    doctor = await commands.handle(CHAT, "/doctor")
    status = await commands.handle(CHAT, "/status")
    assert "warn stream: idle (the session has ended)" in doctor.text
    assert "stream: connected" not in doctor.text
    assert "broker stream: idle (the session has ended)" in status.text


async def test_status_reads_a_dropped_stream_without_a_session_as_idle() -> None:
    """Restarted before the morning login, the socket down with the refused token: /status and
    /doctor say idle, as after the 06:00 expiry, not DISCONNECTED (nothing is polled)."""
    desk = FakeDesk()
    desk.connection = ConnectionState.DISCONNECTED
    desk.session_status = SessionStatus(
        "refused", expires_at=None, since=None, reason="Incorrect `api_key` or `access_token`"
    )
    commands = bot(desk)
    status = await commands.handle(CHAT, "/status")
    doctor = await commands.handle(CHAT, "/doctor")
    assert "broker stream: idle (the session has ended)" in status.text
    assert "DISCONNECTED" not in status.text
    assert "warn stream: idle (the session has ended)" in doctor.text
