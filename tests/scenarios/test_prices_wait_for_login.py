"""A desk started before the morning login, holding a position: its price subscription waits
for the login (said once in the log, however often the clock loop asks), then is made and the
position's prices stream."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.domain import InstrumentKey, OrderStatus, OrderType, Product, Side, Signal
from orderdesk.sim.app import SimServer
from orderdesk.store.location import sqlite_url
from tests.scenarios.harness import (
    SCENARIO_CONFIG,
    BrokerView,
    SimAddress,
    open_desk,
    running_sim,
)
from tests.support import eventually

INFY = InstrumentKey.parse("NSE:INFY")
LOGGER = "orderdesk.engine.prices"
TURNS = 40
"""Turns of the clock loop to wait through, each asking for the held instrument again (one a
second in a real desk: the old code logged a line for most of them)."""
CONFIG = replace(SCENARIO_CONFIG, clock_interval=0.01)


def expired(sim: SimServer, address: SimAddress) -> SimAddress:
    """Yesterday's token, still in the store: Kite refuses it after 06:00 (here: revoked)."""
    sim.sessions.revoke(address.api_key, address.access_token)
    return address


def missing(sim: SimServer, address: SimAddress) -> SimAddress:
    """No token in the store at all: nobody has logged in on this machine yet."""
    return replace(address, access_token="")


Morning = Callable[[SimServer, SimAddress], SimAddress]
"""What the night left in the secret store, made so on the simulator."""


def price_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


@pytest.mark.parametrize(
    ("morning", "reason"),
    [(expired, "Incorrect `api_key` or `access_token`."), (missing, "nobody has logged in yet")],
    ids=["expired-token", "no-token"],
)
async def test_prices_wait_for_the_login_quietly_then_stream(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, morning: Morning, reason: str
) -> None:
    """Restarted before the login, the desk asks for its position's prices at every turn of
    its clock loop: the log says once that they wait for the login, nothing is subscribed;
    once the login reaches the desk the instrument is subscribed (said once) and its ticks
    mark the position."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    store = sqlite_url(tmp_path / "desk.db")
    async with running_sim(seed=23, rate_limits=False) as (sim, address):
        async with open_desk(address, store, tmp_path, config=CONFIG) as desk:
            handle = await desk.submit(
                Signal(
                    instrument=INFY,
                    side=Side.BUY,
                    quantity=1,
                    order_type=OrderType.MARKET,
                    product=Product.CNC,
                    signal_id="held",
                )
            )
            await handle.wait()
            assert desk.order(handle.order_id).status is OrderStatus.FILLED
        caplog.clear()

        async with open_desk(morning(sim, address), store, tmp_path, config=CONFIG) as desk:
            assert not desk.session_info().usable
            position = desk.position(INFY, Product.CNC)
            assert position.quantity == 1
            turns = 0
            want = desk.prices.want

            def counting_want(instruments: object) -> None:
                nonlocal turns
                turns += 1
                want(instruments)  # type: ignore[arg-type]

            desk.prices.want = counting_want  # type: ignore[method-assign]
            await eventually(lambda: turns >= TURNS, what=f"{TURNS} turns of the clock loop")
            await desk.prices.idle()
            waiting = price_lines(caplog)
            subscribed_before_login = set(desk.prices.subscribed)

            await desk.renew_session(sim.issue_access_token())
            await eventually(lambda: INFY in desk.prices.subscribed, what="INFY subscribed")
            price = position.average_price + Decimal(7)
            await BrokerView(address).control("prices", {"NSE:INFY": float(price)})
            await eventually(lambda: position.last_price == price, what="a tick for INFY")

    assert len(waiting) == 1, waiting
    assert "price subscriptions wait for the broker session" in waiting[0]
    assert reason in waiting[0]
    assert subscribed_before_login == set()
    assert price_lines(caplog)[1:] == [
        "price subscriptions resumed: the broker took them with its session"
    ]
