"""``orderdesk sim`` — run the Kite-compatible simulator until interrupted.

Parse flags into a :class:`SimConfig`, start one :class:`SimServer`, print where it listens
(with rich), and serve until Ctrl-C. The api secret may come from ``ORDERDESK_SIM__API_SECRET``
so it need not appear in the process list (the older ``ORDERDESK_SIM_API_SECRET`` still works,
with a deprecation warning).

Without flags the simulator's credentials are ``api_key = sim_api_key`` and
``api_secret = sim_api_secret``: what a desk (or the official ``kiteconnect`` client) logs in
with.

``--market-hours nse`` gives the simulator trading days (:mod:`orderdesk.sim.days`); the closed
days are weekends and ``--holidays FILE`` (one ``YYYY-MM-DD`` a line, ``#`` comments), by
default NSE's published 2026 list (:data:`orderdesk.holidays.NSE_HOLIDAYS`), less the days of
``--special-session YYYY-MM-DD`` (repeatable), which trade with the usual hours, or with hours
of their own as ``YYYY-MM-DD@HH:MM-HH:MM`` (Diwali's Muhurat session).

``--fault NAME=VALUE`` (repeatable) starts with a fault switched on, as ``POST /_sim/faults``
would (:mod:`orderdesk.sim.faults`), e.g. Kite's ambiguous placement reply:
``--fault ambiguous_timeout=0.2``.

``--allowed-ips`` applies Kite's static-IP rule (:mod:`orderdesk.sim.static_ip`).

It listens on ``127.0.0.1``. Another address (``--host 0.0.0.0``) is refused without
``--allow-remote``, as the desk's API is without ``api.allow_remote``: its login page logs
anyone in at once, and its api_secret is a public default unless given; allowed, it warns.

``--holdings-authorisation`` plays an account without DDPI: selling holdings needs the day's
depository authorisation (:mod:`orderdesk.sim.authorisation`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
from datetime import date, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from orderdesk.cli import app
from orderdesk.cli._common import fail
from orderdesk.domain.calendar import SessionHours
from orderdesk.errors import ConfigError
from orderdesk.holidays import NSE_HOLIDAYS, load_holidays
from orderdesk.sim.config import LOOPBACK_HOSTS, SimConfig
from orderdesk.sim.faults import Faults

if TYPE_CHECKING:
    from orderdesk.sim.app import SimServer

MARKET_HOURS = ("nse",)
MAX_PORT = 65535
SECRET_ENV = "ORDERDESK_SIM__API_SECRET"  # noqa: S105 - a variable's name, not a secret
LEGACY_SECRET_ENV = "ORDERDESK_SIM_API_SECRET"  # noqa: S105 - a variable's name, not a secret
DEFAULT_API_SECRET = "sim_api_secret"  # noqa: S105 - the simulator's documented default

FAULT_HELP = (
    "Start with a fault on, NAME=VALUE (repeatable; the same switches as POST /_sim/faults, "
    "probabilities in [0, 1]). Among them: ambiguous_timeout=P answers that share of "
    "placements HTTP 400 InputException 'Order request timed out. Please check the order "
    "book.' and creates the order after a seeded delay of up to ambiguous_delay_max_ms "
    "(default 10000) on the simulator's clock; ambiguous_timeout_drop=P never creates that "
    "share of them; slow_validation_ms=MS keeps new orders in PUT ORDER REQ RECEIVED that "
    "long; slow_placement_ms=MS creates and answers each placement only that long after it "
    "arrived, so a client with a shorter timeout sees no reply while the order appears; "
    "lost_response=P, error_5xx=P, rate_limit_storm=P, latency_ms=MS, ws_drop=P, "
    "partial_fill=F, margin_exception=true."
)


def parse_special_session(text: str) -> tuple[date, SessionHours | None]:
    """``YYYY-MM-DD`` (the usual hours) or ``YYYY-MM-DD@HH:MM-HH:MM`` (hours of its own)."""
    day_text, at, hours_text = text.partition("@")
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise ValueError(f"{text!r}: expected YYYY-MM-DD or YYYY-MM-DD@HH:MM-HH:MM") from None
    if not at:
        return day, None
    opens_text, dash, closes_text = hours_text.partition("-")
    try:
        if not dash:
            raise ValueError
        opens, closes = time.fromisoformat(opens_text), time.fromisoformat(closes_text)
    except ValueError:
        raise ValueError(f"{text!r}: hours as HH:MM-HH:MM, e.g. {day_text}@18:15-19:15") from None
    try:
        return day, SessionHours(opens, closes)
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None


def parse_faults(items: list[str]) -> dict[str, float | bool]:
    """``NAME=VALUE`` items as fault switches, checked as ``POST /_sim/faults`` checks them."""
    switches: dict[str, float | bool] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{item!r}: expected NAME=VALUE", param_hint="--fault")
        value: float | bool
        if raw.strip().lower() in ("true", "false"):
            value = raw.strip().lower() == "true"
        else:
            try:
                value = float(raw)
            except ValueError:
                raise typer.BadParameter(
                    f"{item!r}: {raw!r} is not a number or true/false", param_hint="--fault"
                ) from None
        switches[name.strip()] = value
    try:
        Faults().update(switches)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fault") from None
    return switches


def _banner(sim: SimServer) -> Panel:
    config = sim.config
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("REST root", sim.rest_root)
    table.add_row("Ticker", sim.ws_url)
    table.add_row("Login", f"{sim.rest_root}/connect/login?api_key={config.api_key}&v=3")
    table.add_row("api_key", config.api_key)
    # The default secret is public (documented); one that was given is never echoed.
    default = config.api_secret == DEFAULT_API_SECRET
    table.add_row("api_secret", f"{DEFAULT_API_SECRET} (default)" if default else "as given")
    table.add_row("Redirect", config.redirect_url)
    table.add_row("Seed", str(config.seed))
    table.add_row("Rate limits", "on" if config.rate_limits else "off")
    table.add_row("Market hours", config.market_hours or "always open")
    if config.trading_days:
        table.add_row("Holidays", f"{len(config.holidays)} dates")
        if config.special_sessions or config.session_hours:
            sessions = [day.isoformat() for day in config.special_sessions]
            sessions += [
                f"{day.isoformat()} {hours.opens:%H:%M}-{hours.closes:%H:%M}"
                for day, hours in config.session_hours.items()
            ]
            table.add_row("Special sessions", ", ".join(sorted(sessions)))
    if config.allowed_ips is not None:
        table.add_row("Order writes from", ", ".join(config.allowed_ips))
    if config.holdings_authorisation:
        table.add_row("Selling holdings", "needs the day's authorisation (no DDPI)")
    if config.faults:
        table.add_row("Faults", ", ".join(f"{k}={v}" for k, v in config.faults.items()))
    if config.is_loopback:
        table.add_row("Test control", f"{sim.rest_root}/_sim/state")
    return Panel(table, title="orderdesk sim — Kite Connect v3 simulator", expand=False)


def _loopback(host: str) -> bool:
    """Whether ``host`` is this machine alone (as the desk's ``api.host`` is judged)."""
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


class CannotListen(Exception):
    """The simulator's address cannot be bound: one line for the user, not a traceback."""


async def _serve(config: SimConfig, console: Console) -> None:
    from orderdesk.sim.app import SimServer  # the server's imports are `sim`'s alone

    async with contextlib.AsyncExitStack() as stack:
        try:
            sim = await stack.enter_async_context(SimServer(config))
        except OSError as exc:  # the port is taken, or the address is not this machine's
            where = f"{config.host}:{config.port}"
            raise CannotListen(f"cannot listen on {where} ({exc.strerror or exc})") from None
        # Plain lines first: scripts read these; the panel is for people.
        console.print(f"REST root: {sim.rest_root}", highlight=False, soft_wrap=True)
        console.print(f"Ticker URL: {sim.ws_url}", highlight=False, soft_wrap=True)
        console.print(_banner(sim))
        # Piped stdout is block-buffered; a script waiting for the URLs must see them now.
        console.file.flush()
        await asyncio.Event().wait()


@app.command("sim", rich_help_panel="Running")
def sim(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8765,
    api_key: Annotated[str, typer.Option(help="The api_key clients must use.")] = "sim_api_key",
    api_secret: Annotated[
        str,
        typer.Option(
            help="The api_secret for the login checksum (default: sim_api_secret).",
            envvar=[SECRET_ENV, LEGACY_SECRET_ENV],
            show_default=False,
        ),
    ] = DEFAULT_API_SECRET,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same run.")] = 0,
    redirect_url: Annotated[
        str, typer.Option(help="Where login redirects with the request_token.")
    ] = "http://127.0.0.1:5000/callback",
    instruments: Annotated[
        Path | None,
        typer.Option(help="Instrument CSV (Kite's dump format).", exists=True, dir_okay=False),
    ] = None,
    rate_limits: Annotated[
        bool, typer.Option("--rate-limits/--no-rate-limits", help="Enforce Kite's limits.")
    ] = True,
    market_hours: Annotated[
        str | None,
        typer.Option(
            help="'nse' enforces NSE sessions (AMO outside them) and trading days: square-off, "
            "mass cancel, the 06:00 rollover, T+1 holdings, expiries, holidays."
        ),
    ] = None,
    holidays: Annotated[
        Path | None,
        typer.Option(
            help="Exchange holidays for --market-hours nse, one YYYY-MM-DD a line; replaces "
            "the default, NSE's published 2026 list (2027's was not yet published when it "
            "was made).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    special_session: Annotated[
        list[str] | None,
        typer.Option(
            metavar="DATE[@HOURS]",
            help="With --market-hours nse, a day traded though it is a weekend or a holiday: "
            "with the usual hours (a budget-day Sunday), or with hours of its own after @ "
            "(Diwali's Muhurat session, 2027-10-29@18:15-19:15); repeat for more.",
            show_default=False,
        ),
    ] = None,
    postback_url: Annotated[
        str | None, typer.Option(help="POST order updates here (Kite postbacks).")
    ] = None,
    login_form: Annotated[
        bool, typer.Option(help="Show a login page instead of redirecting at once.")
    ] = False,
    tick_interval: Annotated[
        float, typer.Option(help="Seconds between random price steps; 0 = only /_sim/prices.")
    ] = 1.0,
    fault: Annotated[
        list[str] | None, typer.Option(help=FAULT_HELP, metavar="NAME=VALUE", show_default=False)
    ] = None,
    allowed_ips: Annotated[
        str | None,
        typer.Option(
            help="Kite's static-IP rule: accept place, modify and cancel only from these source "
            "addresses (IP[,IP], IPv4 or IPv6; Kite lets an app register 2). Others get a 403 "
            "PermissionException naming their address; reads, login and the WebSocket work "
            "from anywhere. Default: any address.",
            show_default=False,
        ),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Let --host be an address other machines reach (e.g. 0.0.0.0): anyone who "
            "reaches it can log in and trade on the simulator.",
        ),
    ] = False,
    holdings_authorisation: Annotated[
        bool,
        typer.Option(
            help="Play an account without DDPI: a CNC sale of holdings not authorised for "
            "the day (POST /portfolio/holdings/authorise, then the authorisation page) is "
            "refused with HTTP 428, as Kite does.",
        ),
    ] = False,
) -> None:
    """Run the Kite-compatible simulator until interrupted."""
    remote = not _loopback(host)
    if remote and not allow_remote:
        raise typer.BadParameter(
            f"{host} is not a loopback address: the simulator's login logs anyone in at once "
            "(and its api_secret is a public default unless given); pass --allow-remote to "
            "serve other machines on purpose",
            param_hint="--host",
        )
    if not 0 <= port <= MAX_PORT:  # past it, the socket's OverflowError was a traceback
        raise typer.BadParameter(f"{port} is not a port from 0 to {MAX_PORT}", param_hint="--port")
    if market_hours is not None and market_hours not in MARKET_HOURS:
        raise typer.BadParameter("only 'nse' is known", param_hint="--market-hours")
    allowed = None
    if allowed_ips is not None:
        from orderdesk.sim.static_ip import parse_allowed  # with aiohttp's web server

        allowed = tuple(ip.strip() for ip in allowed_ips.split(",") if ip.strip())
        try:
            parse_allowed(allowed or ("",))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--allowed-ips") from None
    faults = parse_faults(fault or [])
    closed = NSE_HOLIDAYS
    if holidays is not None:
        try:
            closed = load_holidays(holidays)
        except ConfigError as exc:
            raise typer.BadParameter(str(exc), param_hint="--holidays") from None
    try:
        sessions = [parse_special_session(text) for text in special_session or ()]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--special-session") from None
    config = SimConfig(
        host=host,
        port=port,
        api_key=api_key,
        api_secret=api_secret,
        seed=seed,
        redirect_url=redirect_url,
        instruments=instruments,
        rate_limits=rate_limits,
        market_hours=market_hours,
        postback_url=postback_url,
        login_form=login_form,
        price_tick_interval=tick_interval or None,
        holidays=closed,
        special_sessions=frozenset(day for day, hours in sessions if hours is None),
        session_hours={day: hours for day, hours in sessions if hours is not None},
        faults=faults,
        allowed_ips=allowed,
        holdings_authorisation=holdings_authorisation,
    )
    console = Console()
    if remote:
        default = " with the public default api_secret" if api_secret == DEFAULT_API_SECRET else ""
        Console(stderr=True).print(
            f"[yellow]warning:[/] the simulator listens on {host}, reachable from other "
            f"machines{default}: anyone who reaches it can log in and trade on it (its "
            "/_sim test controls stay off away from loopback)",
            highlight=False,
            soft_wrap=True,
        )
    if os.environ.get(LEGACY_SECRET_ENV) and not os.environ.get(SECRET_ENV):
        Console(stderr=True).print(
            f"[yellow]warning:[/] {LEGACY_SECRET_ENV} is deprecated and will stop working; "
            f"export {SECRET_ENV} instead",
            highlight=False,
        )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(config, console))
    except CannotListen as exc:
        fail(str(exc))
    console.print("simulator stopped")
