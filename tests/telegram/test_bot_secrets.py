"""The bot token stays a secret: in the URL path of its requests and nowhere else (logs, the
event log, request bodies, errors); a refused token leaves the desk trading; the bot stops
with the desk."""

from __future__ import annotations

import asyncio
import io
import json
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError

from orderdesk.config import load_settings
from orderdesk.errors import ConfigError
from orderdesk.logging import forget_secrets, redact
from orderdesk.runtime import open_runtime
from tests.support import eventually, json_logs
from tests.telegram.botapi import serve_bot_api
from tests.telegram.conftest import BOT_TOKEN, OWNER, TokenStore, desk_settings


@pytest.fixture
def sink() -> Iterator[io.StringIO]:
    """The desk's logging at DEBUG, every library included, into a buffer; restored after."""
    with json_logs() as buffer:
        yield buffer


async def test_the_token_is_in_request_paths_only(tmp_path: Path, sink: io.StringIO) -> None:
    """Through every command, a kill, and a reply the Bot API refuses (an error logged), the
    token appears in no log line, no stored event, no request body, and no error text; each
    request carried it in its path."""
    secret_id = BOT_TOKEN.partition(":")[2]
    async with serve_bot_api(BOT_TOKEN) as telegram:
        settings = desk_settings(tmp_path, telegram.url)
        async with open_runtime(settings, secrets=TokenStore(BOT_TOKEN), serve=False) as runtime:
            for command in ("/status", "/orders", "/positions", "/pnl", "/doctor", "/pending"):
                await telegram.ask(OWNER, command)
            question = await telegram.ask(OWNER, "/kill")
            await telegram.choose(question, question.buttons[0][1])
            telegram.fail_next["sendMessage"] = 500
            await telegram.say(OWNER, "/status")
            # The refused reply is logged; the next command's answer shows the bot went on.
            await telegram.ask(OWNER, f"/approve {BOT_TOKEN}")
            await telegram.ask(OWNER, f"/{BOT_TOKEN}")
            stored = [json.dumps(row.payload) for row in runtime.store.read()]

    logged = sink.getvalue()
    assert "telegram.reply_failed: TelegramServerError" in logged
    assert "telegram.started" in logged
    assert secret_id not in logged
    assert all(secret_id not in payload for payload in stored)
    assert any("/approve" not in p and "***" in p for p in stored)  # the argument, redacted
    assert telegram.requests
    for received in telegram.requests:
        assert received.path == f"/bot{BOT_TOKEN}/{received.method}"
        assert secret_id.encode() not in received.body
        assert all(secret_id not in value for value in received.params.values())
    assert all(secret_id not in sent.text for sent in telegram.sent)


async def test_a_refused_token_leaves_the_desk_trading(tmp_path: Path, sink: io.StringIO) -> None:
    """A token Telegram refuses (401) is logged as refused, without the token, and the desk
    goes on without its bot."""
    wrong = "7000001:AAHsomeOtherTokenThatTelegramRefuses_99"
    async with serve_bot_api(BOT_TOKEN) as telegram:
        settings = desk_settings(tmp_path, telegram.url)
        async with open_runtime(settings, secrets=TokenStore(wrong), serve=False) as runtime:
            await telegram.wait_for(lambda: telegram.calls("getMe"), "the bot's getMe")
            await eventually(_bot_task_ended, timeout=10, what="the bot to give up")
            assert not runtime.desk.kill_switch.engaged  # the desk itself is still answering

    logged = sink.getvalue()
    assert "telegram.token_refused" in logged
    assert wrong.partition(":")[2] not in logged
    assert [r.method for r in telegram.requests] == ["getMe"]


def _bot_task_ended() -> bool:
    return not any(t.get_name() == "telegram-bot" and not t.done() for t in asyncio.all_tasks())


async def test_the_bot_stops_with_the_desk(tmp_path: Path) -> None:
    """Leaving the runtime ends the bot's task (its long poll cut) and closes its session."""
    async with serve_bot_api(BOT_TOKEN) as telegram:
        settings = desk_settings(tmp_path, telegram.url)
        async with open_runtime(settings, secrets=TokenStore(BOT_TOKEN), serve=False):
            await telegram.ask(OWNER, "/status")
            bot_tasks = [t for t in asyncio.all_tasks() if t.get_name() == "telegram-bot"]
        assert len(bot_tasks) == 1
        assert bot_tasks[0].done()


async def test_a_desk_without_a_token_runs_without_its_bot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`[telegram] enabled` with no stored token is a warning naming the variable; the desk
    starts and nothing calls the Bot API."""
    async with serve_bot_api(BOT_TOKEN) as telegram:
        settings = desk_settings(tmp_path, telegram.url)
        async with open_runtime(settings, secrets=TokenStore(""), serve=False):
            assert not any(t.get_name() == "telegram-bot" for t in asyncio.all_tasks())
    assert telegram.requests == []
    assert "ORDERDESK_TELEGRAM__BOT_TOKEN" in caplog.text


def test_the_token_is_refused_in_the_config_file(tmp_path: Path) -> None:
    """`bot_token` in orderdesk.toml is refused like the other secrets, naming the key."""
    config = tmp_path / "orderdesk.toml"
    config.write_text('[telegram]\nenabled = true\nbot_token = "1:abc"\n')
    with pytest.raises(ConfigError) as exc_info:
        load_settings(config)
    assert "bot_token must not be in the config file" in str(exc_info.value)
    assert "1:abc" not in str(exc_info.value)


def test_the_token_variable_is_not_a_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ORDERDESK_TELEGRAM__BOT_TOKEN (read by the secret store) does not trip the [telegram]
    section's unknown-key check, and the settings never hold it."""
    monkeypatch.setenv("ORDERDESK_TELEGRAM__BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("ORDERDESK_TELEGRAM__ALLOWED_CHAT_IDS", "[4242, -100123]")
    config = tmp_path / "orderdesk.toml"
    config.write_text("[telegram]\nenabled = true\n")
    settings = load_settings(config)
    assert settings.telegram.allowed_chat_ids == [4242, -100123]
    assert BOT_TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://api.example.com", "plain http only to a Bot API server on this machine"),
        ("ftp://127.0.0.1", "must be an http(s) URL"),
    ],
)
def test_the_api_url_never_sends_the_token_in_the_clear(
    tmp_path: Path, url: str, problem: str
) -> None:
    """A Bot API URL over plain http off this machine is refused: the token is in its path."""
    config = tmp_path / "orderdesk.toml"
    config.write_text(f'[telegram]\napi_url = "{url}"\n')
    with pytest.raises(ConfigError) as exc_info:
        load_settings(config)
    assert problem in str(exc_info.value)


def test_a_bot_api_url_is_redacted_even_unregistered() -> None:
    """A Bot API URL reaching a log line loses its token by its shape alone (before any store
    has registered the token), and `bot_token=` fields are masked like the other credentials."""
    forget_secrets()
    url = f"POST https://api.telegram.org/bot{BOT_TOKEN}/getUpdates failed"
    assert redact(url) == "POST https://api.telegram.org/bot***/getUpdates failed"
    assert redact(f"bot_token={BOT_TOKEN}") == "bot_token=***"


async def test_a_failed_request_names_no_token() -> None:
    """When the Bot API cannot be reached, the error aiogram raises (and its whole chain, as a
    traceback would print it) holds no token: the URL with the token is not part of it."""
    async with serve_bot_api(BOT_TOKEN) as telegram:
        gone = telegram.url  # the port is closed once the stand-in has stopped
    bot = Bot(BOT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(gone)))
    try:
        with pytest.raises(TelegramNetworkError) as exc_info:
            await bot.get_me()
    finally:
        await bot.session.close()
    printed = "".join(traceback.format_exception(exc_info.value))
    assert "ClientConnectorError" in printed
    assert BOT_TOKEN.partition(":")[2] not in printed
