"""`orderdesk place` whose desk takes the request and never answers: the error names the signal
id the command chose, so that the same command sent again cannot place a second order."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.api_token import load_or_create_token
from orderdesk.cli import _register_commands, app

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")


@pytest.fixture
async def mute_desk(tmp_path: Path) -> AsyncIterator[tuple[list[str], list[bytes]]]:
    """A server on 127.0.0.1:0 that reads a request and drops the connection without a reply
    (as a desk that took the signal and died would), the CLI's --config/--url for it, and
    the requests it read."""
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\nconfig_dir = "{tmp_path / "conf"}"\n'
    )
    load_or_create_token(tmp_path / "conf")
    received: list[bytes] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *(\d+)", head)
        assert length is not None
        received.append(await reader.readexactly(int(length[1])))
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield ["--config", str(config), "--url", f"http://127.0.0.1:{port}"], received


async def test_no_answer_names_the_signal_id_to_send_again(
    mute_desk: tuple[list[str], list[bytes]],
) -> None:
    """Without --signal-id the command chooses one, sends it, and on no answer says to run the
    same command with that --signal-id (in the one-line JSON error too)."""
    where, received = mute_desk
    command = ["place", "NSE:INFY", "BUY", "1", "--price", "1443", "--json", *where]
    result = await asyncio.to_thread(runner.invoke, app, command)
    assert result.exit_code == 1
    (sent,) = received
    signal_id = json.loads(sent)["signal_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", signal_id)
    error = json.loads(result.stderr)
    assert error["error"] == "unavailable"
    assert f"--signal-id {signal_id}" in error["message"]
