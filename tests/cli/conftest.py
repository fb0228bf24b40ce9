"""What the CLI's tests share: the API over the fake desk, which a command reaches as it would a
running `orderdesk run`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orderdesk.api import create_app, serve_api
from orderdesk.api_token import load_or_create_token
from tests.api.fakes import FakeDesk


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[FakeDesk, list[str]]]:
    """The API over the fake desk on 127.0.0.1:0, and the CLI's --config/--url for it."""
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\nconfig_dir = "{tmp_path / "conf"}"\n'
    )
    desk = FakeDesk()
    server = await serve_api(
        create_app(desk, token=load_or_create_token(tmp_path / "conf")), "127.0.0.1", 0
    )
    yield desk, ["--config", str(config), "--url", server.url]
    desk.close()
    await server.stop()
