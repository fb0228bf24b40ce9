"""The bot across trading days: a desk on the simulator through the Kite adapter, NSE's hours,
the simulator's clock moved from one day into the next (``POST /_sim/clock``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from orderdesk import InstrumentKey, OrderStatus, OrderType, Product, Side, Signal
from orderdesk.config import ApiSettings, Settings, TelegramSettings, TradingDaySettings
from orderdesk.runtime import open_runtime
from orderdesk.secrets import TELEGRAM_BOT_TOKEN
from tests.scenarios.harness import BrokerView, DictSecrets, SimTime, kite_options, running_sim
from tests.support import eventually
from tests.telegram.botapi import serve_bot_api
from tests.telegram.conftest import BOT_TOKEN, OWNER

pytestmark = pytest.mark.slow

MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
INFY = InstrumentKey.parse("NSE:INFY")


async def test_the_bot_follows_the_desk_from_one_trading_day_into_the_next(
    tmp_path: Path,
) -> None:
    """Monday: /status has the session valid until Tuesday 06:00 IST and /orders shows
    Monday's fill. Tuesday before the login: the session has expired, /status says so and
    /doctor is not ready. Once Tuesday's login reaches the desk: Tuesday is the trading day,
    /orders starts empty, and /doctor is ready again."""
    async with running_sim(seed=17, rate_limits=False, market_hours="nse") as (sim, address):
        view = BrokerView(address)
        await view.control("clock", {"set": f"{MONDAY} 09:30:00"})
        address = replace(address, access_token=sim.issue_access_token())
        secrets = DictSecrets(
            {
                "kite.access_token": address.access_token,
                "kite.api_secret": address.api_secret,
                TELEGRAM_BOT_TOKEN: BOT_TOKEN,
            }
        )
        async with serve_bot_api(BOT_TOKEN) as telegram:
            settings = Settings(
                broker="kite",
                data_dir=tmp_path / "data",
                config_dir=tmp_path / "config",
                api=ApiSettings(port=0),
                trading_day=TradingDaySettings(),
                telegram=TelegramSettings(
                    enabled=True, allowed_chat_ids=[OWNER], api_url=telegram.url
                ),
                kite=kite_options(address),  # type: ignore[call-arg]
            )
            async with open_runtime(
                settings, secrets=secrets, serve=False, clock=SimTime(sim)
            ) as runtime:
                desk = runtime.desk
                handle = await runtime.submit(
                    Signal(
                        instrument=INFY,
                        side=Side.BUY,
                        quantity=1,
                        order_type=OrderType.MARKET,
                        product=Product.CNC,
                        strategy="days",
                        signal_id="monday-1",
                    )
                )
                await handle.wait(timeout=20)
                assert handle.status is OrderStatus.FILLED

                monday_status = await telegram.ask(OWNER, "/status")
                monday_orders = await telegram.ask(OWNER, "/orders")

                await view.control("clock", {"set": f"{TUESDAY} 08:45:00"})
                await eventually(
                    lambda: not desk.session_info().usable, timeout=20, what="the session end"
                )
                expired_status = await telegram.ask(OWNER, "/status")
                expired_doctor = await telegram.ask(OWNER, "/doctor")

                await desk.renew_session(sim.issue_access_token(), source="api")
                await eventually(
                    lambda: desk.trading_day == TUESDAY, timeout=20, what="Tuesday opened"
                )
                tuesday_status = await telegram.ask(OWNER, "/status")
                tuesday_orders = await telegram.ask(OWNER, "/orders")

    assert "broker session: valid, until 08 Dec 06:00 IST" in monday_status.text
    assert "trading day: Mon 07 Dec 2026" in monday_status.text
    assert "Orders today: 1 (0 open)" in monday_orders.text
    assert handle.order_id in monday_orders.text
    assert expired_status.text.startswith("Desk DEGRADED\n")
    assert "broker session: expired" in expired_status.text
    assert expired_doctor.text.startswith("Doctor: NOT ready to trade\n")
    assert "FAIL session:" in expired_doctor.text
    assert "broker session: valid, until 09 Dec 06:00 IST" in tuesday_status.text
    assert "trading day: Tue 08 Dec 2026" in tuesday_status.text
    assert tuesday_orders.text.startswith("Orders today: 0 (0 open)")
