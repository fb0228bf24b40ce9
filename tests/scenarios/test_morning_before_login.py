"""A desk (re)started in the morning after the 06:00 IST expiry and before the day's login, on
the simulator through the Kite adapter: the refused token is one CRITICAL alert, "Broker session
ended", saying to log in (an operator's walk found a second, "Cannot open the trading day",
reading like a broker fault), the doctor reads the stream idle (it said "not connected: the
desk polls the order book", with nothing to poll), and the login opens the day."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path

from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.domain.calendar import TradingCalendar
from orderdesk.engine.config import DayRules
from orderdesk.ports.notifier import Severity
from orderdesk.store.location import sqlite_url
from tests.scenarios.harness import (
    SCENARIO_CONFIG,
    BrokerView,
    ListNotifier,
    SimTime,
    open_desk,
    running_sim,
)
from tests.support import eventually

MONDAY, TUESDAY = date(2026, 12, 7), date(2026, 12, 8)
CONFIG = replace(
    SCENARIO_CONFIG,
    days=DayRules(calendar=TradingCalendar(frozenset())),
    clock_interval=0.02,
    quiet_after=30 * 86400.0,
)
ENDED = "Broker session ended"


async def _at(view: BrokerView, day: date, hour: int) -> None:
    when = datetime.combine(day, time(hour))
    await view.control("clock", {"set": f"{when:%Y-%m-%d %H:%M:%S}"})


def closed_port() -> int:
    """A loopback port nobody listens on: a stream aimed there stays down, so the token's
    refusal reaches the desk through the day's opening alone (as at the operator's start), not
    through the ticker's handshake, which would race it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_start_before_the_login_is_one_alert_to_log_in(tmp_path: Path) -> None:
    async with running_sim(seed=29, rate_limits=False, market_hours="nse") as (sim, address):
        view = BrokerView(address)
        await _at(view, MONDAY, 9)
        address = replace(address, access_token=sim.issue_access_token())  # Monday's login
        await _at(view, TUESDAY, 8)  # 06:00 passed: Monday's token is refused
        notifier = ListNotifier()
        async with open_desk(
            address,
            sqlite_url(tmp_path / "log.db"),
            tmp_path,
            notifier=notifier,
            config=CONFIG,
            clock=SimTime(sim),
            ws_url=f"ws://127.0.0.1:{closed_port()}/",
        ) as desk:
            await eventually(lambda: ENDED in notifier.titles(), what="the session's end told")
            assert desk.trading_day is None
            assert notifier.titles(Severity.CRITICAL) == [ENDED]
            (ended,) = [a for a in notifier.alerts if a.title == ENDED]
            assert ended.body.startswith(f"opening {TUESDAY}: Incorrect `api_key`"), ended.body
            assert "`orderdesk login`" in ended.body, ended.body

            stream = {c.name: c for c in (await EngineDesk(desk).doctor()).checks}["stream"]
            assert stream.summary.startswith("idle (the session has ended)"), stream.summary

            await desk.renew_session(sim.issue_access_token())
            await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
            assert "Cannot open the trading day" not in notifier.titles()
