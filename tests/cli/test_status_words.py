"""What `orderdesk status` says is true and enough to act on. With its PostgreSQL store gone it
printed "desk degraded" and not why; at 06:01, Kite's token dead and its socket still open, it
printed "stream CONNECTED · session expired", a stream that carried nothing."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from orderdesk.ports.broker import ConnectionState
from tests.api.fakes import FakeDesk
from tests.api.test_store_health import PASSWORD, store_error

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")


async def status(where: list[str], *flags: str) -> str:
    result = await asyncio.to_thread(runner.invoke, app, ["status", *where, *flags])
    assert result.exit_code == 0, result.output
    return result.stdout


def flat(text: str) -> str:
    return " ".join(text.split())


async def test_status_says_why_the_event_log_cannot_be_written(
    served: tuple[FakeDesk, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Degraded for a store that went away: the store's reason on a line of its own, in the
    health's JSON too, its password hidden in both."""
    desk, where = served
    reason = str(store_error())
    monkeypatch.setattr(desk, "event_log_problem", lambda: reason)

    shown = await status(where)
    assert shown.startswith("desk degraded · ")
    [said] = [line for line in shown.splitlines() if line.startswith("event log")]
    assert said.startswith(
        "event log cannot be written: cannot open the event store at "
        "postgresql+psycopg://desk:***@127.0.0.1:"
    )
    assert said.endswith("; signals are refused until it can be")
    health = json.loads(await status(where, "--json"))
    assert health["event_log_unwritable"] == reason
    assert PASSWORD not in shown + reason


async def test_status_says_nothing_of_a_log_that_can_be_written(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """A desk whose log can be written: one line, ``ok``, and the JSON's reason null."""
    _, where = served
    assert flat(await status(where)).startswith(
        "desk ok · broker stream CONNECTED · session valid · trading day"
    )
    assert json.loads(await status(where, "--json"))["event_log_unwritable"] is None


async def test_an_open_stream_without_a_session_reads_idle(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """Past the session's end the open socket reads idle and the way back is named; the
    JSON still says what the adapter reports (CONNECTED) and the session's state."""
    desk, where = served
    desk.lose_session()
    shown = flat(await status(where))
    assert "broker stream idle · session expired: run `orderdesk login` · trading day" in shown
    assert "CONNECTED" not in shown
    health = json.loads(await status(where, "--json"))
    assert (health["broker_connection"], health["session"]) == ("CONNECTED", "expired")


async def test_a_dropped_stream_without_a_session_reads_idle(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """Restarted before the morning login, the socket down with the token: it reads idle as an
    open one does (nothing is polled either), not DISCONNECTED; the JSON keeps the adapter's
    word."""
    desk, where = served
    desk.lose_session()
    desk.connection = ConnectionState.DISCONNECTED
    shown = flat(await status(where))
    assert "broker stream idle · session expired: run `orderdesk login`" in shown
    assert "DISCONNECTED" not in shown
    health = json.loads(await status(where, "--json"))
    assert health["broker_connection"] == "DISCONNECTED"


async def test_a_dropped_stream_with_a_session_keeps_its_state(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """With a usable session a stream that is not connected is named as the adapter reports
    it: the desk polls the order book meanwhile."""
    desk, where = served
    desk.connection = ConnectionState.DISCONNECTED
    shown = flat(await status(where))
    assert "broker stream DISCONNECTED · session valid" in shown
