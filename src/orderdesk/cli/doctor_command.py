"""``orderdesk doctor``: the morning pre-flight, asked of the running desk (``GET /api/doctor``).

Each check is one line a trader can read, with what to fix; ``--json`` gives the checks and
the facts behind them. The exit code says whether trading can work (see :data:`EPILOG`).
"""

from __future__ import annotations

import typer
from rich.markup import escape

from orderdesk.api.schemas_doctor import DoctorOut
from orderdesk.cli import app
from orderdesk.cli._common import (
    ConfigOption,
    JsonOption,
    UrlOption,
    console,
    print_json,
    with_client,
)

EXIT_NOT_READY = 6
"""The desk answered, and a check failed: an order would not get through now."""

# Brackets in the help are escaped (\\[kite]) because typer renders it as rich markup.
EPILOG = (
    "Exit codes: 0 ready (no check failed; warnings allowed); 6 not ready (a check failed: "
    "its line says what to fix); 1 error (no desk answering: start `orderdesk run`); 4 bad "
    "API token. Errors are one line on stderr (one JSON object with --json)."
)

_MARKS = {"ok": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[bold red]FAIL[/]"}


@app.command("doctor", rich_help_panel="Safety", epilog=EPILOG)
def doctor(config: ConfigOption = None, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Check, before trading, that orders can get through today.

    Asks the running desk: the address and IP family it leaves from, and whether the broker
    takes orders from there; the session's age and expiry; order-rate headroom (this second,
    minute and day against the \\[kite] orders_* limits, Kite's 10 / 400 / 5,000 by default); the
    offset of this machine's clock to the broker's; the live stream; the last reconciliation;
    the kill switch; whether NSE's market is open (closed warns, and says until when); whether
    the exchange holiday list covers this year (in December, the next too); the room left on
    the disk where the event log is (it fails below 100 MiB: on a full disk the desk can
    record, and so send, nothing); whether the last closed day has its daily backup; whether
    the log's files, every file in the backup folders, the secrets file and the desk's log file
    are yours alone (a log an older orderdesk made may be readable by every user of the
    machine: it warns with the chmod that fixes it).

    What to register with Zerodha (developers.kite.trade, your app): since 1 April 2026 Kite
    accepts place, modify and cancel only from the static IPs registered with the app (up to 2,
    IPv6 allowed, changeable once a week). Register the address this prints under "address",
    or set \\[kite] source_address to one you registered; \\[kite] ip_family (default ipv4) keeps a
    dual-stack machine from leaving on the other family. If Zerodha gave your strategy an
    exchange algo id, set it as \\[kite] algo_id (or per strategy, \\[strategies.NAME] algo_id);
    without one, send under 10 orders a second.

    How the address is checked: the desk cancels an order id that cannot exist. That changes
    nothing at the broker and costs one order request of the second's and minute's rate (none
    of the day's placements); a placement, even a deliberately invalid one, could be taken as
    valid should Kite change its checks. Whether Kite checks the address before it looks the
    order id up is not documented: a refusal naming the address proves it is not registered;
    "order not found" is reported as not refused, and the first real order settles it (a
    refusal there is a CRITICAL alert naming the address).
    """
    result: DoctorOut = with_client(config, url, lambda client: client.doctor())
    if as_json:
        print_json(result)
    else:
        words = escape(result.verdict or ("ready to trade" if result.ready else "NOT ready"))
        verdict = f"[green]{words}[/]" if result.ready else f"[bold red]{words}[/]"
        console.print(f"orderdesk doctor ({escape(result.broker)}): {verdict}", highlight=False)
        for check in result.checks:
            console.print(
                f"  {_MARKS[check.status]} {escape(check.name)}: {escape(check.summary)}",
                highlight=False,
                soft_wrap=True,
            )
    if not result.ready:
        raise typer.Exit(EXIT_NOT_READY)


__all__ = ["EXIT_NOT_READY", "doctor"]
