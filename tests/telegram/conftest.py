"""A real paper desk with its Telegram bot, talking to the Bot API stand-in on loopback."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderdesk.config import (
    ApiSettings,
    Settings,
    StrategySettings,
    TelegramSettings,
    TradingDaySettings,
)
from orderdesk.domain.events import OperatorCommandHandled
from orderdesk.runtime import Runtime, open_runtime
from orderdesk.secrets import TELEGRAM_BOT_TOKEN
from tests.telegram.botapi import BotApi, serve_bot_api

BOT_TOKEN = "7000001:AAHf9xTestBotTokenThatMustNeverLeak_0123"
OWNER = 4242
"""The allow-listed chat."""
PARTNER = -100555
"""A second allowed chat (a group: its id is negative)."""
STRANGER = 999
KILL_SECONDS = 30.0


class ShiftedClock:
    """The real clock, moved forward on demand (to let a /kill confirmation lapse)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


class TokenStore:
    """A secret store holding just the bot token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get(self, name: str) -> str | None:
        return self.token if name == TELEGRAM_BOT_TOKEN else None

    def set(self, name: str, value: str) -> None:
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError


@dataclass
class Desk:
    runtime: Runtime
    telegram: BotApi
    clock: ShiftedClock

    def commands(self) -> list[OperatorCommandHandled]:
        """The audit log's record of what the bot was asked, oldest first."""
        events = (row.event() for row in self.runtime.store.read())
        return [event for event in events if isinstance(event, OperatorCommandHandled)]


def desk_settings(tmp_path: Path, api_url: str) -> Settings:
    return Settings(
        broker="paper",
        data_dir=tmp_path / "data",
        config_dir=tmp_path / "config",
        api=ApiSettings(port=0),
        trading_day=TradingDaySettings(enabled=False),
        strategies={"careful": StrategySettings(approval=True)},
        telegram=TelegramSettings(
            enabled=True,
            allowed_chat_ids=[OWNER, PARTNER],
            api_url=api_url,
            kill_confirm_seconds=KILL_SECONDS,
        ),
        paper={"prices": {"NSE:INFY": "1500"}},  # type: ignore[call-arg]
    )


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    """The desk running with its bot polling the stand-in (started: getMe answered)."""
    clock = ShiftedClock()
    async with serve_bot_api(BOT_TOKEN) as telegram:
        settings = desk_settings(tmp_path, telegram.url)
        async with open_runtime(
            settings, secrets=TokenStore(BOT_TOKEN), serve=False, clock=clock
        ) as runtime:
            await telegram.wait_for(lambda: telegram.calls("getUpdates"), "the first poll")
            yield Desk(runtime, telegram, clock)
