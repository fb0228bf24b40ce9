"""``orderdesk config``: check the configuration, show it, show the API token."""

from __future__ import annotations

from typing import Annotated

import typer

from orderdesk.api.server import check_bind
from orderdesk.api_token import load_or_create_token, token_path
from orderdesk.brokers import BrokerContext, create_broker
from orderdesk.cli import app
from orderdesk.cli._common import (
    ConfigOption,
    JsonOption,
    console,
    fail,
    print_json,
    settings_or_exit,
)
from orderdesk.config import OFF, find_config_file
from orderdesk.errors import OrderDeskError
from orderdesk.secrets import default_secret_store

config_app = typer.Typer(
    name="config",
    help="Check or show the configuration, and the API token.",
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
        warning = check_bind(settings.api.host, allow_remote=settings.api.allow_remote)
        context = BrokerContext(
            secrets=default_secret_store(settings.config_dir), data_dir=settings.data_dir
        )
        create_broker(settings.broker, settings.broker_options(), context)
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
        "store": settings.store_url,
        "api": f"http://{settings.api.host}:{settings.api.port}",
        "risk": settings.risk.in_force(),
        "risk_defaults": settings.risk.defaults_in_force(),
        "strategy_risk": strategy_risk,
        "alert_targets": len(settings.alerts.urls),
        "approval_strategies": sorted(k for k, v in settings.strategies.items() if v.approval),
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


@config_app.command("show-token")
def show_token(
    config: ConfigOption = None,
    path_only: Annotated[bool, typer.Option("--path", help="Print where it is kept.")] = False,
) -> None:
    """Print the HTTP API's bearer token (generated on first use, kept 0600)."""
    settings = settings_or_exit(config)
    if path_only:
        typer.echo(str(token_path(settings.config_dir)))
        return
    try:
        typer.echo(load_or_create_token(settings.config_dir))
    except OrderDeskError as exc:
        fail(str(exc))
