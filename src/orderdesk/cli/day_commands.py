"""The broker session and the trading days, as the running daemon has them.

``session`` says whether the desk can trade (exit 5 when it cannot: log in); ``days`` lists the
trading days in the log with their P&L; ``holdings`` shows what the broker held when today's
day opened, and ``authorise-holdings`` asks for the day's authorisation to sell it (an account
without DDPI). A past day's positions and orders are ``positions --day`` and ``orders --day``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import typer

from orderdesk.api.schemas import DayOut, SessionOut
from orderdesk.cli import app
from orderdesk.cli._common import (
    EXIT_SESSION,
    ConfigOption,
    JsonOption,
    SinceOption,
    UntilOption,
    UrlOption,
    check_range,
    console,
    print_json,
    table,
    when_text,
    with_client,
)


@app.command("session", rich_help_panel="Watching")
def session(
    config: ConfigOption = None, url: UrlOption = None, as_json: JsonOption = False
) -> None:
    """The broker session: its state and since when, its expiry when known (IST and your
    time), the trading day.

    A refused session says when the broker refused it. Exits 0 when the desk has a usable
    session, 5 when it has none (run `orderdesk login`).
    """
    status = with_client(config, url, lambda c: c.session())
    if as_json:
        print_json(status)
    else:
        _show_session(status)
    if not status.usable:
        raise typer.Exit(EXIT_SESSION)


def _show_session(status: SessionOut) -> None:
    word = "[green]valid[/]" if status.usable else f"[bold red]{status.state}[/]"
    console.print(f"broker session {word}", highlight=False)
    times = _session_times(status)
    for line in times:
        console.print(f"  {line}", highlight=False)
    # An expiry's reason only names its time again ("the session expired at …"), which the
    # line above has told, in IST and your time.
    told = status.state == "expired" and bool(times)
    if status.reason and not told:
        console.print(f"  {status.reason}", highlight=False, soft_wrap=True)
    day = status.trading_day.isoformat() if status.trading_day else "none open"
    console.print(f"  trading day {day}", highlight=False)
    if not status.usable:
        console.print("  log in: `orderdesk login`", highlight=False)


def _session_times(status: SessionOut) -> list[str]:
    """The session's moments that are known, each in the words true of its state: ``since`` is
    when it took that state. A refused session has no expiry (the refusal ended it), and the
    desk never saw the login of a token it read at start-up, so no login time is claimed."""
    since, expires = status.since, status.expires_at
    if status.state == "valid":
        return [
            *([f"expires at {when_text(expires)}"] if expires is not None else []),
            *([f"in use by the desk since {when_text(since)}"] if since is not None else []),
        ]
    if status.state == "expired" and expires is not None:
        return [f"expired at {when_text(expires)}"]
    if status.state == "refused" and since is not None:
        return [f"refused by the broker at {when_text(since)}"]
    return []


@app.command("days", rich_help_panel="Watching")
def days(
    since: SinceOption = None,
    until: UntilOption = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every trading day in the desk's log with its P&L, and the days' P&L summed; or the days
    from --since to --until (either may be left out) and their sum, e.g. a month's.

    Newest first. Today's figures are live until it closes; a closed day's are those of its
    close. A day's P&L leaves out the day's move of the delivered stock it only held, so the
    sum is not the account's change (for that stock, see `orderdesk holdings`). A trading day
    the desk never opened (it was stopped) that positions were carried through is listed as
    missed: nobody kept its P&L, and what those positions made then is said apart, outside
    the sum. The P&L is before charges: `orderdesk charges --since … --until …` gives the same
    days' charges and their P&L after them.
    """
    check_range(since, until)
    rows = with_client(
        config,
        url,
        lambda c: c.days(
            since=since.date() if since else None, until=until.date() if until else None
        ),
    )
    if as_json:
        print_json(rows)
        return
    ranged = since is not None or until is not None
    console.print(
        table(
            _count(len(rows), "trading day") + (_span(since, until) if ranged else ""),
            ("day", "P&L", "realised", "orders", "fills", "lapsed", ""),
            [
                (
                    d.day.isoformat(),
                    d.pnl,
                    d.realised,
                    d.orders,
                    d.fills,
                    d.lapsed,
                    _state(d),
                )
                for d in rows
            ],
        )
    )
    console.print(_total(rows) + _before_charges(rows, since, until), highlight=False)


def _before_charges(rows: list[DayOut], since: datetime | None, until: datetime | None) -> str:
    """The sum is of the days' P&L before charges, which the desk does not keep (the broker's
    calculator is asked for them when wanted, a call a day): says so, and the command that
    gives them for the same days and the P&L after them."""
    if not any(d.pnl is not None for d in rows):
        return ""
    # The range asked; without one, the days listed (newest first), from the oldest.
    start = since.date() if since is not None else rows[-1].day
    command = f"orderdesk charges --since {start.isoformat()}"
    if until is not None:
        command += f" --until {until:%Y-%m-%d}"
    return f"; all before charges (`{command}` gives them, and the P&L after them)"


def _state(day: DayOut) -> str:
    """What the row's figures are: live, an estimated close, or no close at all."""
    if day.live and day.close_waits:
        # Its P&L then counts open positions at no price: said, not shown as a plain 0.00.
        estimate = ", estimated: some positions have no price yet" if day.estimated else ""
        return f"live{estimate}; its close waits for the broker (log in)"
    if day.live:
        return "live, estimated: some positions have no price yet" if day.estimated else "live"
    if day.missed:
        if not day.carried_positions:
            return "missed: the desk never opened it; nothing carried through it"
        return "missed: the desk never opened it" + _missed_move(day)
    if day.closed_at is None:
        return "no close logged"
    return "estimated close (see its positions)" if day.estimated else ""


def _missed_move(day: DayOut) -> str:
    """On the latest of a stretch of missed days, what the positions carried through it made
    over it, in no day's P&L."""
    if day.missed_move is not None:
        return f"; its carried positions made {day.missed_move:,.2f} (in no day's P&L)"
    return ""


def _span(since: datetime | None, until: datetime | None) -> str:
    start = f"{since:%Y-%m-%d}" if since else "the first day"
    return f" from {start} to {f'{until:%Y-%m-%d}' if until else 'today'}"


def _total(rows: list[DayOut]) -> str:
    """The days' P&L summed, named for what it is: neither the account's change nor a P&L
    since purchase. A day's P&L leaves out the day's move of the delivered stock it opened
    with and still held (the positions' P&L, as Kite shows it), so a sum over days that
    opened with holdings says so. The days' realised is summed as each day booked it, from
    the prices the day opened at: a position carried across days realises on its last day
    only its move since the close before, its earlier moves staying in the earlier days'
    P&L, so the sum is no realised P&L from cost either."""
    known = [d for d in rows if d.pnl is not None]
    pnl = sum((d.pnl for d in known if d.pnl is not None), Decimal(0))
    realised = sum((d.realised for d in known if d.realised is not None), Decimal(0))
    text = (
        f"sum of the days' P&L {pnl:,.2f} over {_count(len(known), 'day')} (of it booked "
        f"realised by the days' closes, each from its opening prices: {realised:,.2f})"
    )
    estimated = sum(1 for d in known if d.estimated)
    if estimated:
        text += f"; {_count(estimated, 'day')} of it estimated"
    missed = [d for d in rows if d.missed]
    missing = len(rows) - len(known) - len(missed)
    if missing:
        text += f"; {_count(missing, 'day')} without a close left out"
    if missed:
        text += f"; {_count(len(missed), 'day')} the desk never opened left out" + _moved(rows)
    if any(d.holdings for d in known):
        text += (
            "; not in it: delivered stock's moves on the days it was only held "
            "(see `orderdesk holdings`)"
        )
    return text


def _moved(rows: list[DayOut]) -> str:
    """What the positions carried through the missed days made over them, as far as known.
    A stretch of missed days is a run of rows (newest first); its newest says the move."""
    newest = [d for i, d in enumerate(rows) if d.missed and (i == 0 or not rows[i - 1].missed)]
    newest = [d for d in newest if d.carried_positions]  # carried nothing: lost nothing
    if not newest:
        return ""
    moves = [d.missed_move for d in newest if d.missed_move is not None]
    if not moves:
        return " (what their carried positions made is not known)"
    known = "" if len(moves) == len(newest) else ", not all of it known"
    return f" (their carried positions made {sum(moves, Decimal(0)):,.2f} then{known})"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


@app.command("holdings", rich_help_panel="Watching")
def holdings(
    config: ConfigOption = None, url: UrlOption = None, as_json: JsonOption = False
) -> None:
    """Delivered stock as the broker showed it when today's trading day opened.

    T1 is stock bought and still settling; "sold today" is what of it CNC sales have sold
    since the open (the broker's holdings keep showing it until the next day). A broker
    that keeps no holdings (paper) says so (exit 3).
    """
    rows = with_client(config, url, lambda c: c.holdings())
    if as_json:
        print_json(rows)
        return
    console.print(
        table(
            _count(len(rows), "holding"),
            ("instrument", "qty", "T1", "avg", "close", "sold today"),
            [
                (
                    h.instrument,
                    h.quantity,
                    h.t1_quantity,
                    h.average_price,
                    h.close_price,
                    h.sold_today,
                )
                for h in rows
            ],
        )
    )


@app.command("authorise-holdings", rich_help_panel="Trading")
def authorise_holdings(
    holdings: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[EXCHANGE:SYMBOL[=QTY]]...",
            help="Holdings to authorise, e.g. NSE:INFY=10; without =QTY the whole holding; "
            "none: every holding.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Authorise today's sales of holdings (an account without DDPI): prints the page to open.

    Without DDPI, Kite sells delivered stock only as far as it was authorised with the
    depository that day (CDSL: TPIN and OTP); a sale beyond it is rejected. This asks Kite
    for the authorisation and prints the page where you complete it in a browser. It lasts
    the day. A broker without it (paper) says so (exit 3).
    """
    wanted: dict[str, int | None] = {}
    for item in holdings or ():
        instrument, _, quantity = item.partition("=")
        try:
            wanted[instrument] = int(quantity) if quantity else None
        except ValueError:
            raise typer.BadParameter(f"{item!r}: QTY is a whole number") from None
    made = with_client(config, url, lambda c: c.authorise_holdings(wanted))
    if as_json:
        print_json(made)
        return
    console.print(
        "Open this page and authorise with your depository (TPIN, OTP); it lasts today:\n"
        f"{made.url}",
        highlight=False,
        soft_wrap=True,
    )


__all__ = ["authorise_holdings", "days", "holdings", "session"]
