"""`orderdesk run` starts its bot when `[telegram] enabled` and a token is exported, and stops
it with the daemon (SIGTERM, exit 0)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from tests.daemon import paper_config, running_daemon
from tests.telegram.botapi import BotApi, serve_bot_api
from tests.telegram.conftest import BOT_TOKEN, OWNER

T = TypeVar("T")
Run = Callable[[Coroutine[Any, Any, T]], T]


@contextlib.contextmanager
def bot_api_in_a_thread(token: str) -> Iterator[tuple[BotApi, Run[Any]]]:
    """The stand-in on its own event loop, for a test that waits on a daemon synchronously;
    ``run`` carries a coroutine over to that loop and returns its result."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="bot-api", daemon=True)
    thread.start()

    def run(coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=60)

    served = serve_bot_api(token)
    try:
        api = run(served.__aenter__())
        try:
            yield api, run
        finally:
            run(served.__aexit__(None, None, None))
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_orderdesk_run_answers_on_telegram_and_stops_with_the_daemon(tmp_path: Path) -> None:
    """A daemon with the bot enabled answers /status and /kill from the allowed chat, and a
    SIGTERM stops it cleanly (exit 0) with the bot's long poll open."""
    with bot_api_in_a_thread(BOT_TOKEN) as (api, run):
        extra = f'[telegram]\nenabled = true\nallowed_chat_ids = [{OWNER}]\napi_url = "{api.url}"\n'
        config = paper_config(tmp_path, extra)
        with running_daemon(config, env={"ORDERDESK_TELEGRAM__BOT_TOKEN": BOT_TOKEN}):
            status = run(api.ask(OWNER, "/status"))
            question = run(api.ask(OWNER, "/kill"))
            engaged = run(api.choose(question, question.buttons[0][1]))
            polls = len(api.calls("getUpdates"))

    assert status.text.startswith("Desk ")
    assert "kill switch: off" in status.text
    assert engaged.text.startswith("Kill switch ENGAGED")
    assert polls >= 3
    assert [r.method for r in api.requests][:2] == ["getMe", "setMyCommands"]
