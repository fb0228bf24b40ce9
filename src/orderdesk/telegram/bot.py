"""The Telegram side of the bot: aiogram's ``Bot`` for the Bot API, one long-poll loop, and the
allow-list in front of :class:`~orderdesk.telegram.commands.DeskCommands`.

The loop is ours rather than aiogram's ``Dispatcher.start_polling``: cancelling that one while
it waits leaves its inner polling task running, and the desk must stop cleanly. Updates are
handled one after another (a person's commands, not a stream), and a stop waits for the
command in hand, so a ``/kill`` is never cut between engaging and cancelling.

Only chats in ``[telegram] allowed_chat_ids`` reach the commands. Any other update is dropped
and logged with its chat id and kind, never its text (a stranger's message may carry anything,
and the log line is how the owner learns their own chat id). The token is in the path of every
Bot API request, so no URL of the session is ever logged here; it is also registered with the
log redaction (:class:`~orderdesk.secrets.Secret`) in case a library prints one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from types import TracebackType
from typing import Self

import stamina
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiogram.utils.token import TokenValidationError

from orderdesk.errors import ConfigError
from orderdesk.secrets import Secret
from orderdesk.telegram.commands import DeskCommands, Reply

log = logging.getLogger(__name__)

POLL_SECONDS = 25
"""How long one ``getUpdates`` waits for news: Telegram's long poll answers at once when a
message comes, so this only sets how often an idle bot asks again."""
STOP_GRACE_SECONDS = 10.0
"""How long a stop waits for the command in hand before cutting it."""
UPDATE_KINDS = ["message", "callback_query"]


def _retry_wait(exc: Exception) -> bool | float:
    """stamina's hook: Telegram's own wait for a flood limit, the backoff for what passes."""
    if isinstance(exc, TelegramRetryAfter):
        return float(exc.retry_after)
    if isinstance(exc, TelegramConflictError):
        # Another process polls with this token (or a webhook is set): say so, keep trying.
        log.warning("telegram.conflict: another client uses this bot token; retrying")
        return True
    return isinstance(exc, TelegramNetworkError | TelegramServerError)


class TelegramBot:
    """The bot as a running part of the desk: ``async with`` starts polling, exit stops it."""

    def __init__(
        self,
        commands: DeskCommands,
        token: Secret,
        *,
        allowed_chat_ids: Collection[int],
        api_url: str,
        poll_seconds: int = POLL_SECONDS,
    ) -> None:
        try:
            self._bot = Bot(
                token.reveal(),
                session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)),
            )
        except TokenValidationError:
            raise ConfigError(
                "the Telegram bot token is not one (BotFather's form is <digits>:<letters>); "
                "check ORDERDESK_TELEGRAM__BOT_TOKEN or the secret store's telegram.bot_token"
            ) from None
        self._commands = commands
        self._allowed = frozenset(allowed_chat_ids)
        self._poll_seconds = poll_seconds
        self._seen_strangers: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._busy = False

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="telegram-bot")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Finish the command in hand (up to :data:`STOP_GRACE_SECONDS`), then stop polling and
        close the HTTP session."""
        self._stopping = True
        task, self._task = self._task, None
        try:
            if task is not None:
                if self._busy:
                    await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            await self._bot.session.close()

    async def _run(self) -> None:
        try:
            await self._start()
            offset: int | None = None
            while not self._stopping:
                updates = await self._fetch(offset)
                self._busy = True
                try:
                    for update in updates:
                        offset = update.update_id + 1
                        await self._dispatch(update)
                finally:
                    self._busy = False
        except TelegramUnauthorizedError:
            log.error(
                "telegram.token_refused: Telegram refused the bot token; the bot is off until "
                "the desk restarts with a valid one (BotFather's /token shows it)"
            )
        except Exception:
            # The bot is an optional part of the desk: its end must not take trading down.
            log.exception("telegram.stopped: the bot failed and is off until the desk restarts")

    async def _start(self) -> None:
        async for attempt in stamina.retry_context(
            on=_retry_wait, attempts=None, timeout=None, wait_initial=1.0, wait_max=60.0
        ):
            with attempt:
                me = await self._bot.get_me()
        log.info("telegram.started: @%s answers %d allowed chats", me.username, len(self._allowed))
        if not self._allowed:
            log.warning(
                "telegram.no_chats: [telegram] allowed_chat_ids is empty, so the bot answers "
                "nobody; each chat that writes to it is logged with its id"
            )
        menu = [BotCommand(command=name, description=text) for name, text in DeskCommands.menu()]
        try:
            await self._bot.set_my_commands(menu)
        except TelegramAPIError as exc:  # the menu is a convenience; the commands work without
            log.warning("telegram.menu_not_set: %s", type(exc).__name__)

    async def _fetch(self, offset: int | None) -> list[Update]:
        timeout = int(self._bot.session.timeout + self._poll_seconds)
        async for attempt in stamina.retry_context(
            on=_retry_wait, attempts=None, timeout=None, wait_initial=1.0, wait_max=60.0
        ):
            with attempt:
                return await self._bot.get_updates(
                    offset=offset,
                    timeout=self._poll_seconds,
                    allowed_updates=UPDATE_KINDS,
                    request_timeout=timeout,
                )
        raise AssertionError("unreachable: stamina retries without bound")  # pragma: no cover

    async def _dispatch(self, update: Update) -> None:
        try:
            if update.message is not None:
                await self._on_message(update.message)
            elif update.callback_query is not None:
                await self._on_button(update.callback_query)
        except TelegramAPIError as exc:
            # The command ran (and is in the audit log); only its answer did not arrive.
            log.warning("telegram.reply_failed: %s: %s", type(exc).__name__, exc)

    async def _on_message(self, message: Message) -> None:
        chat_id = message.chat.id
        if not self._admits(chat_id, "message"):
            return
        if message.text is None:
            return
        reply = await self._commands.handle(chat_id, message.text)
        await self._bot.send_message(chat_id, reply.text, reply_markup=_keyboard(reply))

    async def _on_button(self, query: CallbackQuery) -> None:
        shown = query.message if isinstance(query.message, Message) else None
        chat_id = shown.chat.id if shown is not None else query.from_user.id
        if not self._admits(chat_id, "button"):
            return
        reply = await self._commands.choose(chat_id, query.data or "")
        await self._bot.answer_callback_query(query.id)
        if shown is not None:
            # The question's message becomes the answer, its buttons gone: no second press.
            await self._bot.edit_message_text(
                reply.text, chat_id=chat_id, message_id=shown.message_id
            )
        else:
            await self._bot.send_message(chat_id, reply.text)

    def _admits(self, chat_id: int, kind: str) -> bool:
        if chat_id in self._allowed:
            return True
        # Logged once a chat at warning (a stranger could flood the log), then at debug.
        level = logging.DEBUG if chat_id in self._seen_strangers else logging.WARNING
        self._seen_strangers.add(chat_id)
        log.log(
            level,
            "telegram.unknown_chat: ignored a %s from chat %d, which is not in "
            "[telegram] allowed_chat_ids",
            kind,
            chat_id,
        )
        return False


def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=button.label, callback_data=button.data)]
            for button in reply.buttons
        ]
    )


__all__ = ["POLL_SECONDS", "TelegramBot"]
