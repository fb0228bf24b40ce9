"""An address where some other server answers is named as no desk: an `api-address` file (or
--url) naming a web server that answers 404 to everything made every command print
"error: 404:" and exit 3, as if the desk had refused the request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from typer.testing import CliRunner

from orderdesk.api_token import read_token
from orderdesk.cli import _register_commands, app
from orderdesk.cli._common import EXIT_ERROR
from orderdesk.client import DeskClient, DeskClientError, DeskUnavailable
from tests.api.conftest import TOKEN
from tests.api.fakes import FakeDesk

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")


@pytest.fixture
async def stranger() -> AsyncIterator[str]:
    """A web server on 127.0.0.1:0 with no routes: 404 "Not Found" to every request."""
    async with TestServer(web.Application(), host="127.0.0.1", port=0) as server:
        yield str(server.make_url("")).rstrip("/")


async def test_the_cli_names_a_server_that_is_no_desk(
    served: tuple[FakeDesk, list[str]], stranger: str
) -> None:
    """`status` (and `orders`) at the stranger's address say it is no desk and where to look,
    exit 1 (nothing was refused), and with --json say ``unavailable``."""
    _, where = served
    config = where[: where.index("--url")]
    for command in (["status"], ["orders"]):
        result = await asyncio.to_thread(runner.invoke, app, [*command, *config, "--url", stranger])
        assert result.exit_code == EXIT_ERROR, result.output
        said = [" ".join(line.split()) for line in result.stderr.splitlines()]
        assert (
            f"error: {stranger} answered 404 and is not an orderdesk desk "
            "(check --url or the api-address file)"
        ) in said, result.stderr
    result = await asyncio.to_thread(
        runner.invoke, app, ["status", "--json", *config, "--url", stranger]
    )
    [said_json] = [line for line in result.stderr.splitlines() if line.startswith("{")]
    assert json.loads(said_json)["error"] == "unavailable"


async def test_the_client_tells_a_stranger_from_the_desks_own_404(
    served: tuple[FakeDesk, list[str]], stranger: str
) -> None:
    """DeskClient raises DeskUnavailable for the stranger's 404, while the desk's own 404 (an
    order it does not know) stays its refusal, ``not_found``."""
    async with DeskClient(stranger, TOKEN) as client:
        with pytest.raises(DeskUnavailable) as caught:
            await client.health()
    assert caught.value.status == 404
    _, where = served
    token = read_token(Path(where[where.index("--config") + 1]).parent / "conf")
    assert token is not None
    async with DeskClient(where[where.index("--url") + 1], token) as client:
        with pytest.raises(DeskClientError) as refused:
            await client.order("no-such-order")
    assert not isinstance(refused.value, DeskUnavailable)
    assert (refused.value.status, refused.value.error) == (404, "not_found")
