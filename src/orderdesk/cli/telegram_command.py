"""``orderdesk telegram-token``: keep the Telegram bot's token in the secret store."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from orderdesk.cli import app
from orderdesk.cli._common import ConfigOption, console, fail, settings_or_exit
from orderdesk.errors import OrderDeskError
from orderdesk.secrets import (
    TELEGRAM_BOT_TOKEN,
    EnvSecretStore,
    default_secret_store,
    describe_store,
    env_var_for,
)

_TOKEN = re.compile(r"\d+:[\w-]+")
"""BotFather's shape: the bot's id, a colon, the secret part."""


@app.command("telegram-token", rich_help_panel="Setup")
def telegram_token(
    config: ConfigOption = None,
    forget: Annotated[
        bool, typer.Option("--forget", help="Remove the stored token instead.")
    ] = False,
) -> None:
    """Store the Telegram bot's token (from BotFather) for `orderdesk run` with \\[telegram]
    enabled: asked for hidden, never a flag, kept in the OS keyring or the 0600 secrets file.

    ORDERDESK_TELEGRAM__BOT_TOKEN, when exported, wins over what is stored.
    """
    settings = settings_or_exit(config)
    store = default_secret_store(settings.config_dir)
    try:
        if forget:
            store.delete(TELEGRAM_BOT_TOKEN)
            console.print("Telegram bot token removed from the secret store")
            return
        token = typer.prompt("Telegram bot token", hide_input=True).strip()
        if not _TOKEN.fullmatch(token):
            fail("that is not a bot token: BotFather's look like 123456789:AAH…")
        store.set(TELEGRAM_BOT_TOKEN, token)
        where = store.where(TELEGRAM_BOT_TOKEN)
    except OrderDeskError as exc:
        fail(str(exc))
    console.print(
        f"Telegram bot token stored in {describe_store(where)}", markup=False, soft_wrap=True
    )
    if isinstance(where, EnvSecretStore):
        console.print(
            f"note: {env_var_for(TELEGRAM_BOT_TOKEN)} is exported and wins over the stored one",
            markup=False,
        )
