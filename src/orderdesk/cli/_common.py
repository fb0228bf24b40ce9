"""Shared CLI plumbing: settings, the daemon's address and token, rendering, exit codes.

Exit codes: 0 done; 1 error (daemon unreachable, bad config, anything unexpected); 2 bad usage
(typer's own); 3 refused by the desk (validation, risk, unknown order, conflict); 4 the API token
was refused; 5 no usable broker session, or today's trading day not open yet (the desk recorded
nothing: retry the same command after ``orderdesk login``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from orderdesk.api_token import read_token
from orderdesk.client import DeskAuthError, DeskClient, DeskClientError, DeskUnavailable
from orderdesk.config import Settings, load_settings
from orderdesk.domain.calendar import IST
from orderdesk.errors import OrderDeskError

T = TypeVar("T")

EXIT_ERROR = 1
EXIT_REFUSED = 3
EXIT_AUTH = 4
EXIT_SESSION = 5
"""No usable broker session, or today's trading day is not open yet: retry after the login."""

TRADING_EXIT_CODES = (
    "Exit codes: 0 done; 1 error (e.g. no daemon); 3 refused by the desk (validation, risk, "
    "unknown order); 4 bad API token; 5 no broker session or trading day yet: nothing was "
    "recorded, run it again after `orderdesk login`."
)
"""The epilog of the commands that place or change orders."""

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="orderdesk.toml to read (default: ./orderdesk.toml, "
        "$ORDERDESK_CONFIG, or the user config dir).",
        dir_okay=False,
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="The daemon's API address (default: from \\[api] in the config)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def settings_or_exit(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except OrderDeskError as exc:
        fail(str(exc))


def run(coroutine: Awaitable[T]) -> T:
    """Run one async call for a command, turning orderdesk's errors into exit codes."""

    async def wrapped() -> T:
        return await coroutine

    try:
        return asyncio.run(wrapped())
    except DeskAuthError as exc:
        fail(str(exc), EXIT_AUTH)
    except DeskUnavailable as exc:
        fail(str(exc))
    except DeskClientError as exc:
        fail(str(exc), EXIT_SESSION if exc.retry_after_login else EXIT_REFUSED)
    except OrderDeskError as exc:
        fail(str(exc))


def with_client(
    config: Path | None, url: str | None, call: Callable[[DeskClient], Awaitable[T]]
) -> T:
    """Open a client to the running daemon and make one call."""
    settings = settings_or_exit(config)
    base = url or f"http://{settings.api.host}:{settings.api.port}"
    try:
        token = read_token(settings.config_dir)
    except OrderDeskError as exc:
        fail(str(exc))
    if token is None:
        fail(f"no API token in {settings.config_dir}; start the daemon once with `orderdesk run`")

    async def go() -> T:
        async with DeskClient(base, token) as client:
            return await call(client)

    return run(go())


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def when_text(moment: datetime) -> str:
    """An instant in IST (Kite's clock) and in the machine's own zone."""
    ist = moment.astimezone(IST)
    local = moment.astimezone()
    return (
        f"{ist:%H:%M} IST on {ist:%a %d %b} ({local:%H:%M} your time, {local.tzname() or 'local'})"
    )


def print_json(value: Any) -> None:
    typer.echo(json.dumps(_plain(value), indent=2, default=str))


def cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    result = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        numeric = column in {
            "qty",
            "filled",
            "price",
            "avg",
            "last",
            "close",
            "realised",
            "unrealised",
            "P&L",
            "trigger",
            "overnight",
            "T1",
            "orders",
            "fills",
            "lapsed",
        }
        result.add_column(column, justify="right" if numeric else "left")
    for row in rows:
        result.add_row(*(cell(v) for v in row))
    return result
