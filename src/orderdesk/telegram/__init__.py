"""The desk's Telegram bot: status, orders, positions, P&L, the kill switch, approvals and the
doctor from a phone, for the chats the owner allows.

:mod:`.commands` is what the commands do (no Telegram in it); :mod:`.render` puts the desk into
a phone's words; :mod:`.bot` is the aiogram side (the ``orderdesk[telegram]`` extra), imported
only when ``[telegram] enabled = true``, so a desk without the extra never loads it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from orderdesk.approvals import ApprovalQueue
from orderdesk.config import TelegramSettings
from orderdesk.errors import ConfigError
from orderdesk.ports.clock import Clock
from orderdesk.ports.secrets import SecretStore
from orderdesk.secrets import TELEGRAM_BOT_TOKEN, Secret, env_var_for
from orderdesk.telegram.commands import BotDesk, DeskCommands, RecordCommand

log = logging.getLogger(__name__)


def bot_state(settings: TelegramSettings, secrets: SecretStore) -> str:
    """What ``config check`` says of the bot: on, off, or why it would not start (never the
    token)."""
    if not settings.enabled:
        return "off"
    if not secrets.get(TELEGRAM_BOT_TOKEN):
        return f"enabled, but no bot token: export {env_var_for(TELEGRAM_BOT_TOKEN)}"
    chats = len(settings.allowed_chat_ids)
    return f"on, answering {chats} allowed chat{'s' if chats != 1 else ''} ({settings.api_url})"


@contextlib.asynccontextmanager
async def running_bot(
    settings: TelegramSettings,
    secrets: SecretStore,
    *,
    desk: BotDesk,
    approvals: ApprovalQueue,
    record: RecordCommand,
    clock: Clock,
) -> AsyncIterator[None]:
    """The bot polling for the duration of the block when ``[telegram] enabled`` and a token
    is stored; otherwise nothing (a desk without its bot still trades, so a missing token is a
    warning, not a refusal to start)."""
    if not settings.enabled:
        yield
        return
    token = secrets.get(TELEGRAM_BOT_TOKEN)
    if not token:
        log.warning(
            "telegram.no_token: [telegram] is enabled but no bot token is stored; export %s "
            "(or keep it in the keyring or the secrets file as %s)",
            env_var_for(TELEGRAM_BOT_TOKEN),
            TELEGRAM_BOT_TOKEN,
        )
        yield
        return
    try:
        from orderdesk.telegram.bot import TelegramBot
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "aiogram":
            raise
        raise ConfigError(
            "[telegram] enabled needs the bot's library: pip install 'orderdesk[telegram]'"
        ) from None
    commands = DeskCommands(
        desk,
        approvals,
        record,
        clock=clock,
        kill_confirm_seconds=settings.kill_confirm_seconds,
    )
    async with TelegramBot(
        commands,
        Secret(token),
        allowed_chat_ids=settings.allowed_chat_ids,
        api_url=settings.api_url,
    ):
        yield


__all__ = ["DeskCommands", "bot_state", "running_bot"]
