"""A desk whose server fails on a request (a 500 of an exception nothing turned into the API's
words) makes the command exit 1, "error", not 3: `place`, `orders`, `cancel` and `reconcile`
exited 3, which the README documents as "refused (validation, risk…)", so a script took the
desk's failure for a verdict on its input. A 501 ``not_offered`` stays a refusal."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from tests.api.fakes import FakeDesk
from tests.domain.builders import signal

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")


def error_of(stderr: str) -> dict[str, object]:
    """The JSON error a command wrote: its line, not a log record's text the desk in this
    process wrote to the same stream as it answered the 500."""
    line = next(line for line in stderr.splitlines() if line.startswith("{"))
    reply: dict[str, object] = json.loads(line)
    return reply


def _broken(*args: object, **kwargs: object) -> object:
    raise KeyError("order_id")  # a bug on the desk's side: the API answers a bare 500


@pytest.mark.parametrize(
    ("method", "command"),
    [
        ("submit", ["place", "NSE:ITC", "BUY", "1", "--price", "430"]),
        ("orders", ["orders"]),
        ("cancel", ["cancel", "{order_id}"]),
        ("reconcile", ["reconcile"]),
    ],
)
async def test_a_500_exits_1(
    served: tuple[FakeDesk, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    command: list[str],
) -> None:
    desk, where = served
    order = await desk.submit(signal())
    monkeypatch.setattr(desk, method, _broken)
    args = [part.format(order_id=order.order_id) for part in command]

    result = await asyncio.to_thread(runner.invoke, app, [*args, "--json", *where])

    assert result.exit_code == 1, result.output
    reply = error_of(result.stderr)
    assert reply["exit_code"] == 1
    assert "Internal Server Error" in str(reply["message"])
    if method == "submit":
        # The desk may have taken the signal before it failed: the way to find out places
        # nothing twice (a script retrying under a new id could).
        assert f"--signal-id {reply['signal_id']}" in str(reply["message"])


async def test_not_offered_stays_a_refusal(served: tuple[FakeDesk, list[str]]) -> None:
    """A broker without holdings authorisation: 501 ``not_offered``, exit 3 as documented."""
    desk, where = served
    desk.authorises = False

    result = await asyncio.to_thread(
        runner.invoke, app, ["authorise-holdings", "NSE:INFY=1", "--json", *where]
    )

    assert result.exit_code == 3, result.output
    assert error_of(result.stderr)["error"] == "not_offered"
