"""`orderdesk place --price 1.4e3` shows the price it placed as 1400, in its table and in its
JSON, never as 1.4E+3."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from tests.api.fakes import FakeDesk

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")


async def test_place_with_an_exponent_price_shows_it_plain(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """The JSON reply and the table both say 1400; the desk was handed 1400."""
    desk, where = served
    command = ["place", "NSE:INFY", "BUY", "1", "--price", "1.4e3", "--json", *where]
    result = await asyncio.to_thread(runner.invoke, app, command)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["order"]["price"] == "1400"
    assert str(desk.submitted[-1].price) == "1400"
    command = ["place", "NSE:INFY", "BUY", "1", "--price", "1.5e3", "--signal-id", "t", *where]
    result = await asyncio.to_thread(runner.invoke, app, command)
    assert result.exit_code == 0, result.output
    assert "1,500.00" in result.stdout
    assert "E+" not in result.stdout
