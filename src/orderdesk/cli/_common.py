"""Shared CLI plumbing: settings, the daemon's address and token, rendering, exit codes.

Exit codes: 0 done; 1 error (daemon unreachable, the broker or the event log failing to answer:
nothing was changed, try again; bad config, anything unexpected); 2 bad usage (an unknown
option, a value not among the choices); 3 refused (validation, here or by the desk, risk,
unknown order, conflict); 4 the API token was refused; 5 no usable broker session, or today's
trading day not open yet (nothing was placed or changed: retry the same command after
``orderdesk login``).

Every error is one line on stderr naming the field or the reason — ``error: quantity: Input
should be greater than 0`` — never a traceback; a command given ``--json`` writes it as one JSON
object instead (``{"error": "invalid_input", "message": …, "exit_code": 3, "fields": […]}``),
with the same exit code.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import pydantic
import typer
from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orderdesk.client import DeskAuthError, DeskClient, DeskClientError, DeskUnavailable
from orderdesk.config import Settings, load_settings
from orderdesk.domain.calendar import IST
from orderdesk.domain.conversion import carry_product
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.money import price_text
from orderdesk.domain.values import InstrumentKey, Product
from orderdesk.errors import OrderDeskError

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_AUTH = 4
EXIT_SESSION = 5
"""No usable broker session, or today's trading day is not open yet: retry after the login."""

TRADING_EXIT_CODES = (
    "Exit codes: 0 done; 1 error (e.g. no daemon, or the broker did not answer: nothing was "
    "changed, try again); 2 bad usage; 3 refused (validation, risk, unknown order, or an order "
    "the broker rejected as it answered: one it rejects after taking it is followed by "
    "`orderdesk orders`); 4 bad API token; 5 no broker session or trading day yet: nothing was "
    "placed or changed, run it again after `orderdesk login`. Errors are one line on stderr "
    "(one JSON object with --json)."
)
"""The epilog of the commands that place or change orders."""

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="orderdesk.toml to read (default: the file $ORDERDESK_CONFIG names, else "
        "./orderdesk.toml, else the user config dir).",
        dir_okay=False,
    ),
]


def desk_address(value: str | None) -> str | None:
    """``--url`` must be an address a desk answers at, or it is a usage error (exit 2)."""
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            example = "http://127.0.0.1:8700"
            raise typer.BadParameter(f"{value!r} is not an http:// address such as {example}")
    return value


UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="The desk's API address (default: the address the running desk announced in the "
        "config dir; never \\[api] port on its own word).",
        callback=desk_address,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def day_option(flag: str, help: str) -> Any:
    """A ``--flag YYYY-MM-DD`` option naming a trading day (parsed as a datetime by click)."""
    return typer.Option(flag, formats=["%Y-%m-%d"], help=help)


SinceOption = Annotated[
    datetime | None,
    day_option("--since", "From this trading day (YYYY-MM-DD, included)."),
]
UntilOption = Annotated[
    datetime | None,
    day_option("--until", "Up to this trading day (YYYY-MM-DD, included)."),
]


def check_range(since: datetime | None, until: datetime | None) -> None:
    """Exit 2 (usage) for a range that ends before it starts."""
    if since is not None and until is not None and until < since:
        fail(f"--until {until:%Y-%m-%d} is before --since {since:%Y-%m-%d}", EXIT_USAGE)


DayOption = Annotated[
    datetime | None,
    day_option(
        "--day", "A trading day (YYYY-MM-DD), today's or an earlier one, read from the desk's log."
    ),
]


JSON_ERRORS: ContextVar[bool] = ContextVar("orderdesk_json_errors", default=False)
"""Whether the command line asked for ``--json`` (set by the CLI's group as it parses), so an
error — even a usage error found before the command runs — is written as JSON."""

_ERROR_WORDS = {
    EXIT_ERROR: "error",
    EXIT_USAGE: "usage",
    EXIT_REFUSED: "refused",
    EXIT_AUTH: "unauthorised",  # the API's word (HTTP 401)
    EXIT_SESSION: "session_expired",
}
"""The ``error`` word of a JSON error that did not come from the API with its own."""


def fail(
    message: str,
    code: int = EXIT_ERROR,
    *,
    error: str | None = None,
    extra: Mapping[str, Any] | None = None,
    as_json: bool | None = None,
) -> NoReturn:
    """Say what went wrong in one line on stderr and exit with ``code``.

    With ``--json`` on the running command (or ``as_json``), the line is a JSON object: the
    ``error`` word, the ``message``, the ``exit_code`` and any ``extra`` (``fields``, ``check``).
    """
    if as_json is None:
        as_json = JSON_ERRORS.get()
    if as_json:
        body = {"error": error or _ERROR_WORDS.get(code, "error"), "message": message}
        typer.echo(json.dumps({**body, **(extra or {}), "exit_code": code}), err=True)
    else:
        # soft_wrap: one line however narrow the terminal; escape: "[paper] prices" is text.
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def build(model: type[M], **fields: Any) -> M:
    """``model`` from the command's arguments; a bad one exits 3 naming the field."""
    try:
        return model(**fields)
    except pydantic.ValidationError as exc:
        invalid(exc)


def invalid(exc: pydantic.ValidationError) -> NoReturn:
    """Exit 3 with pydantic's objections as "field: reason" (no traceback, no input echo)."""
    problems = [
        {"field": ".".join(str(p) for p in e["loc"]) or "input", "reason": e["msg"]}
        for e in exc.errors()
    ]
    message = "; ".join(f"{p['field']}: {p['reason']}" for p in problems)
    fail(message, EXIT_REFUSED, error="invalid_input", extra={"fields": problems})


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
        fail(exc.reason, EXIT_AUTH, error="unauthorised")
    except DeskUnavailable as exc:
        signal_id = exc.body.get("signal_id")
        fail(exc.reason, error="unavailable", extra={"signal_id": signal_id} if signal_id else None)
    except DeskClientError as exc:
        code = _exit_code(exc)
        details = {k: exc.body[k] for k in ("fields", "check", "signal_id") if exc.body.get(k)}
        fail(exc.reason, code, error=exc.error, extra=details)
    except pydantic.ValidationError as exc:
        invalid(exc)  # a request model built inside the call
    except ValidationError as exc:  # a request DeskClient refused to make (``modify --quantity 0``)
        problems = [{"field": exc.field, "reason": exc.reason}]
        fail(str(exc), EXIT_REFUSED, error="invalid_input", extra={"fields": problems})
    except OrderDeskError as exc:
        fail(str(exc))


def _exit_code(exc: DeskClientError) -> int:
    """A session to log in first (5), a failure to try again (1), else a refusal (3)."""
    if exc.retry_after_login:
        return EXIT_SESSION
    if exc.transient or server_failed(exc):
        return EXIT_ERROR
    return EXIT_REFUSED


def server_failed(exc: DeskClientError) -> bool:
    """Whether the desk's server failed on the request (a 500 of an unexpected exception, a
    proxy's 502) rather than refused it: a 5xx other than the desk's 501 ``not_offered``, which
    refuses what the broker cannot do. A 500 exited 3, "refused", as if the input were wrong."""
    return exc.status is not None and exc.status >= 500 and exc.error != "not_offered"


def with_client(
    config: Path | None, url: str | None, call: Callable[[DeskClient], Awaitable[T]]
) -> T:
    """Open a client to the running desk (``run`` or ``demo``: the one that announced itself in
    this config dir, else ``[api]``'s address) and make one call."""
    settings = settings_or_exit(config)
    try:
        desk = DeskClient.from_settings(settings, url=url)
    except OrderDeskError as exc:
        fail(str(exc))

    async def go() -> T:
        async with desk as client:
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


def plural(count: int, word: str, words: str | None = None) -> str:
    """A count with its noun: 1 order, 2 orders (``words`` for an irregular plural)."""
    return f"{count} {word if count == 1 else words or word + 's'}"


def show(renderable: Table) -> None:
    """Print a table whole: at a terminal it fits the width; piped or redirected it takes the
    width it needs, so nothing a script reads (an order id) is cut or folded."""
    if console.is_terminal:
        console.print(renderable)
    else:
        unbounded = console.options.update(width=10_000)
        natural = console.measure(renderable, options=unbounded).maximum
        # A console of its own: print() never renders wider than its console's width.
        Console(width=max(console.width, natural)).print(renderable)


def cell(value: Any, *, price: bool = False) -> str:
    """A table's text for ``value``: an amount of money to 2 decimals, a ``price`` as
    :func:`price_text` shows it."""
    if value is None:
        return "—"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return price_text(value) if price else f"{value:,.2f}"
    return str(value)


PRICE_COLUMNS = frozenset({"price", "avg", "last", "close", "trigger"})
"""The columns that hold prices, shown to every decimal they have (:func:`price_text`); the
other numbers are amounts of money, to 2 decimals."""


NUMERIC_COLUMNS = frozenset(
    {
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
        "value",
        "net",
        "cash",
        "opening",
        "live",
        "collateral",
        "debits",
        "span",
        "exposure",
        "brokerage",
        "STT",
        "exchange",
        "SEBI",
        "stamp",
        "GST",
        "total",
    }
)


def table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    spare: Sequence[str] = (),
) -> Table:
    """A table of ``rows`` in which nothing is ever cut: ids (copied into the next command),
    times and numbers are shown whole, text wraps between words.

    At a terminal too narrow for every column the ``spare`` ones are left out, in that order,
    until it fits, and the title says so (``--json`` has them all). Compact lines without
    vertical rules: a wide table fits more, and ``awk '{print $1}'`` reads the ids.
    """
    shown = list(columns)
    result = _table(title, columns, rows, shown)
    for column in spare:
        if not console.is_terminal or _fits(result):
            break
        shown.remove(column)
        result = _table(title, columns, rows, shown)
    left_out = [c for c in columns if c not in shown]
    if left_out:
        result.title = f"{title} ({', '.join(left_out)} left out at this width; --json has all)"
    return result


def _table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], shown: Sequence[str]
) -> Table:
    result = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    indexes = [columns.index(column) for column in shown]
    for index in indexes:
        column = columns[index]
        numeric = column in NUMERIC_COLUMNS
        # A date names its row as an id does: cut to "2026-12-…" at 80 columns, it named none.
        if column.endswith(" id") or column in ("time", "day") or numeric:
            longest = max((len(_cell(row, index, column)) for row in rows), default=0)
            result.add_column(
                column,
                justify="right" if numeric else "left",
                no_wrap=True,
                min_width=max(longest, len(column)),
            )
        else:
            result.add_column(column)
    for row in rows:
        result.add_row(*(escape(_cell(row, index, columns[index])) for index in indexes))
    return result


def _cell(row: Sequence[Any], index: int, column: str) -> str:
    return cell(row[index], price=column in PRICE_COLUMNS)


def _fits(renderable: Table) -> bool:
    unbounded = console.options.update(width=10_000)
    return console.measure(renderable, options=unbounded).minimum <= console.width


def carried_in(instrument: str) -> Product:
    """The product an order in ``instrument`` is kept in past the day, a command's default:
    CNC for stock, NRML for the rest (CNC on NFO is refused: a GTT's CNC leg was taken and
    refused only when it fired)."""
    try:
        return carry_product(InstrumentKey.parse(instrument))
    except ValueError:
        return Product.CNC  # the desk names what is wrong with the instrument
