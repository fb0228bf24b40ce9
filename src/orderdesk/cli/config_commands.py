"""``orderdesk config``: check the configuration, show it, show the API token."""

from __future__ import annotations

from typing import Annotated

import typer

from orderdesk.api_token import load_or_create_token, read_token, token_path
from orderdesk.brokers import BrokerContext, create_broker
from orderdesk.cli import app
from orderdesk.cli._common import (
    ConfigOption,
    JsonOption,
    console,
    err_console,
    fail,
    print_json,
    settings_or_exit,
)
from orderdesk.config import (
    OFF,
    Settings,
    check_alert_urls,
    check_folders,
    find_config_file,
    http_url,
    shown_store_url,
)
from orderdesk.errors import OrderDeskError
from orderdesk.secrets import ACCESS_TOKEN, ChainSecretStore, FileSecretStore, default_secret_store
from orderdesk.telegram import bot_state

config_app = typer.Typer(
    rich_markup_mode="markdown",
    name="config",
    help="Check the configuration, or show the API token.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config", rich_help_panel="Setup")


@config_app.command("check")
def check(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Validate orderdesk.toml and the environment; build the broker adapter without connecting.

    Exits 1 with a message naming the bad key.
    """
    settings = settings_or_exit(config)
    try:
        from orderdesk.api.server import check_bind  # uvicorn with it: for this command only

        warning = check_bind(settings.api.host, allow_remote=settings.api.allow_remote)
        check_folders(settings)  # data_dir, config_dir, the store's and backups' folders
        check_alert_urls(settings, find_config_file(config))
        settings.trading_day.rules()  # reads [trading_day] holidays_file, as `run` does
        secrets = default_secret_store(settings.config_dir)
        _read_secret_files(secrets)
        context = BrokerContext(secrets=secrets, data_dir=settings.data_dir)
        create_broker(settings.broker, settings.broker_options(), context)
        telegram = bot_state(settings.telegram, secrets)
        if settings.clock == "simulator":
            from orderdesk.sim_time import simulator_root

            simulator_root(settings.broker, settings.broker_options())
    except OrderDeskError as exc:
        fail(str(exc))
    strategy_risk = {
        name: {k: v for k, v in strategy.risk.in_force().items() if v != OFF}
        for name, strategy in settings.strategies.items()
        if strategy.risk is not None
    }
    summary = {
        "config_file": str(find_config_file(config) or "(none: defaults and environment)"),
        "broker": settings.broker,
        "clock": settings.clock,
        "store": shown_store_url(settings.store_url),  # a PostgreSQL password never shown
        "backups": (
            f"after each close to {settings.backup_path}, the newest "
            f"{settings.store.backup_keep} kept"
            if settings.backup_path is not None
            else "off (orderdesk backup makes one on demand)"
        ),
        "api": http_url(settings.api.host, settings.api.port),
        "risk": settings.risk.in_force(),
        "risk_defaults": settings.risk.defaults_in_force(),
        "strategy_risk": strategy_risk,
        "alert_targets": len(settings.alerts.urls),
        "approval_strategies": sorted(k for k, v in settings.strategies.items() if v.approval),
        "telegram": telegram,
        "slicing": (
            "kite: one autoslice order above a freeze limit (the desk's own slicing where the "
            "broker has none)"
            if settings.engine.slicing == "kite"
            else "desk: one order per slice above a freeze limit"
        ),
        "exits": (
            f"re-priced after {settings.exit.reprice_after_seconds:g}s to "
            f"{settings.exit.band_percent}% beyond the last price, at most "
            f"{settings.exit.max_reprices} times, then alerted"
        ),
        **_order_rules(settings),
    }
    if as_json:
        print_json(summary)
        return
    console.print("[green]configuration OK[/]")
    for key, value in summary.items():
        if key.startswith(("risk", "strategy_risk")):
            continue
        console.print(f"  {key}: {value}", markup=False)
    console.print(f'  risk limits in force (loosen with a value, or "{OFF}"):', markup=False)
    defaults = settings.risk.defaults_in_force()
    for name, shown in settings.risk.in_force().items():
        console.print(f"    {name}: {shown}" + (" (default)" if name in defaults else ""))
    for name, own in strategy_risk.items():
        listed = ", ".join(f"{k} {v}" for k, v in own.items()) or "none"
        console.print(f"    strategy {name}, on top: {listed}", markup=False)
    if warning:
        console.print(f"[yellow]warning:[/] {warning}")


def _read_secret_files(secrets: ChainSecretStore) -> None:
    """Read the secrets files as `orderdesk run` does, so a file other users can read is
    refused here with run's words (:class:`FileSecretStore` checks its mode on each read).
    Building the broker reads no secret, so without this the check passed a file run refuses.
    """
    for store in secrets.stores:
        if isinstance(store, FileSecretStore):
            store.get(ACCESS_TOKEN)  # any name: the mode is checked before the name is looked up


def _order_rules(settings: Settings) -> dict[str, str]:
    """What the broker's 2026 order rules will see: the address orders leave from (Kite takes
    order writes only from the IP registered with the app) and the algo id each strategy's
    placements carry."""
    options = settings.broker_options()
    source = str(options.get("source_address") or "").strip()
    family = str(options.get("ip_family") or _default_family(settings.broker)).strip()
    default, by_strategy = settings.algo_ids()
    own = ", ".join(f"{name} {value}" for name, value in sorted(by_strategy.items()))
    return {
        "source_address": (source or "not set: the system's choice")
        + (f" ({family})" if family else ""),
        "algo_id": (default or "none sent") + (f"; strategies' own: {own}" if own else ""),
    }


def _default_family(broker: str) -> str:
    """The address family orders leave on when the config names none (Kite's adapter keeps
    to one; other brokers have no such rule)."""
    if broker != "kite":
        return ""
    from orderdesk.brokers.kite.config import KiteConfig

    return str(KiteConfig.model_fields["ip_family"].default)


@config_app.command("show-token")
def show_token(
    config: ConfigOption = None,
    path_only: Annotated[bool, typer.Option("--path", help="Print where it is kept.")] = False,
    create: Annotated[
        bool,
        typer.Option("--create", help="Make one now if none exists, for the desk you start next."),
    ] = False,
) -> None:
    """Print the HTTP API's bearer token: the one `orderdesk run` and `orderdesk demo` use with
    this config (made by the first desk that runs with it, kept 0600).

    Exits 1 when no desk has run with this config yet, rather than inventing a token no desk
    knows; --create makes one on purpose.
    """
    settings = settings_or_exit(config)
    path = token_path(settings.config_dir)
    if path_only:
        typer.echo(str(path))
        return
    try:
        token = read_token(settings.config_dir)
        if token is None and create:
            token = load_or_create_token(settings.config_dir)
            err_console.print(
                f"created a new API token in {path}; no desk uses it yet: the next "
                "`orderdesk run` or `orderdesk demo` with this config will",
                highlight=False,
                soft_wrap=True,
            )
    except OrderDeskError as exc:
        fail(str(exc))
    if token is None:
        fail(
            f"no API token in {path}: no desk has run with this config yet. "
            "`orderdesk run` or `orderdesk demo` makes it (--create makes one now)"
        )
    typer.echo(token)
