"""A stand-in of Telegram's Bot API on 127.0.0.1:0: what the desk's bot calls, nothing more.

It serves ``/bot<token>/<method>`` for getMe, setMyCommands, getUpdates (a real long poll:
it answers as soon as an update is queued, or empty at the poll's timeout), sendMessage,
editMessageText and answerCallbackQuery. A test queues what a person would do (a message, a
button press) and waits on what the bot sent, through a condition: no sleeps.

Every request is kept (path, method, raw body) so a test can prove the token travels in the
URL path only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")

BOT_ID = 7000001
WAIT = 10.0
"""Seconds a test waits for the bot's answer before it fails (a bound, not a pause)."""


@dataclass(frozen=True)
class Received:
    """One request as it reached the stand-in."""

    path: str
    method: str
    body: bytes
    params: dict[str, str]


@dataclass(frozen=True)
class Sent:
    """A message the bot sent or rewrote (sendMessage, editMessageText)."""

    method: str
    chat_id: int
    text: str
    message_id: int
    buttons: list[tuple[str, str]]
    """(label, callback data) of an inline keyboard, row by row."""


@dataclass
class BotApi:
    """The stand-in's state; :func:`serve_bot_api` runs it."""

    token: str
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    fail_next: dict[str, int] = field(default_factory=dict)
    """method → HTTP status to answer its next call with (one failure each)."""
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _update_id: int = 0
    _message_id: int = 0
    _closing: bool = False

    # -- what a person does --------------------------------------------------------------------

    async def say(self, chat_id: int, text: str) -> None:
        """``chat_id`` writes ``text`` to the bot."""
        await self._queue(
            {"message": {**self._message(chat_id, text), "from": _user(chat_id)}},
        )

    async def press(self, reply: Sent, data: str) -> None:
        """The person in ``reply``'s chat presses the button whose callback data is ``data``."""
        assert data in [d for _, d in reply.buttons], (data, reply.buttons)
        message = {
            "message_id": reply.message_id,
            "date": 1_700_000_000,
            "chat": {"id": reply.chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "desk"},
            "text": reply.text,
        }
        await self._queue(
            {
                "callback_query": {
                    "id": f"cb{self._update_id + 1}",
                    "from": _user(reply.chat_id),
                    "message": message,
                    "chat_instance": "ci",
                    "data": data,
                }
            }
        )

    # -- what a test waits for -----------------------------------------------------------------

    async def wait_for(self, probe: Callable[[], T], what: str) -> T:
        """``probe()`` once it is truthy, re-checked whenever a request arrives."""
        async with self._changed:
            try:
                async with asyncio.timeout(WAIT):
                    await self._changed.wait_for(probe)
            except TimeoutError:
                raise AssertionError(
                    f"timed out waiting for {what}; the bot sent {self.sent!r}"
                ) from None
        return probe()

    async def reply_to(self, chat_id: int, after: int) -> Sent:
        """The first message the bot sends or edits in ``chat_id`` past ``sent[after:]``."""

        def probe() -> Sent | None:
            return next((s for s in self.sent[after:] if s.chat_id == chat_id), None)

        found = await self.wait_for(probe, f"a reply in chat {chat_id}")
        assert found is not None
        return found

    async def ask(self, chat_id: int, text: str) -> Sent:
        """Say ``text`` in ``chat_id`` and return the bot's answer."""
        mark = len(self.sent)
        await self.say(chat_id, text)
        return await self.reply_to(chat_id, mark)

    async def choose(self, reply: Sent, data: str) -> Sent:
        """Press a button of ``reply`` and return what the bot made of the message."""
        mark = len(self.sent)
        await self.press(reply, data)
        return await self.reply_to(reply.chat_id, mark)

    def calls(self, method: str) -> list[Received]:
        return [r for r in self.requests if r.method == method]

    # -- the server ----------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        form = await request.post()
        params = {k: str(v) for k, v in form.items()}
        method = request.match_info["method"]
        async with self._changed:
            self.requests.append(Received(request.path, method, body, params))
            self._changed.notify_all()
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        status = self.fail_next.pop(method, None)
        if status is not None:
            return _error(status, "Internal Server Error")
        answer = getattr(self, f"_{method}", None)
        if answer is None:
            return _error(404, f"Not Found: method {method}")
        result = await answer(params)
        return web.json_response({"ok": True, "result": result})

    async def _getMe(self, params: dict[str, str]) -> Any:
        return {"id": BOT_ID, "is_bot": True, "first_name": "desk", "username": "desk_test_bot"}

    async def _setMyCommands(self, params: dict[str, str]) -> Any:
        return True

    async def _getUpdates(self, params: dict[str, str]) -> Any:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        async with self._changed:
            # Telegram forgets what an offset confirms.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(lambda: bool(self._updates) or self._closing)
            return list(self._updates)

    async def _sendMessage(self, params: dict[str, str]) -> Any:
        return await self._record("sendMessage", params, None)

    async def _editMessageText(self, params: dict[str, str]) -> Any:
        return await self._record("editMessageText", params, int(params["message_id"]))

    async def _answerCallbackQuery(self, params: dict[str, str]) -> Any:
        return True

    async def _record(self, method: str, params: dict[str, str], message_id: int | None) -> Any:
        chat_id = int(params["chat_id"])
        markup = json.loads(params.get("reply_markup") or "{}")
        buttons = [
            (button["text"], button["callback_data"])
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]
        async with self._changed:
            message = self._message(chat_id, params["text"], message_id)
            self.sent.append(Sent(method, chat_id, params["text"], message["message_id"], buttons))
            self._changed.notify_all()
        return {**message, "from": {"id": BOT_ID, "is_bot": True, "first_name": "desk"}}

    def _message(self, chat_id: int, text: str, message_id: int | None = None) -> dict[str, Any]:
        if message_id is None:
            self._message_id += 1
            message_id = self._message_id
        return {
            "message_id": message_id,
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private"},
            "text": text,
        }

    async def _queue(self, update: dict[str, Any]) -> None:
        async with self._changed:
            self._update_id += 1
            self._updates.append({"update_id": self._update_id, **update})
            self._changed.notify_all()


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Operator"}


def _error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


@contextlib.asynccontextmanager
async def serve_bot_api(token: str) -> AsyncIterator[BotApi]:
    """The stand-in on an ephemeral loopback port; ``api.url`` is its base URL."""
    api = BotApi(token)
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", api.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield api
    finally:
        async with api._changed:
            # A long poll still waiting (its client gone) answers now, so the server can stop.
            api._closing = True
            api._changed.notify_all()
        await runner.cleanup()
