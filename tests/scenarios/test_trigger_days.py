"""GTTs and price alerts across trading days: placed on Monday, fired on Tuesday after the
morning login and a restart of the desk, and the orders they place are still the strategy's.

The simulator keeps NSE's hours and its triggers across the 06:00 rollover; the desk follows its
clock, replays its triggers from their own stream (the day checkpoint does not carry them), and
claims what they place on the day they fire.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.domain import InstrumentKey, Product, Side
from orderdesk.domain.calendar import TradingCalendar
from orderdesk.domain.reports import AlertOrder, GttOrderLeg, GttTrigger, PriceAlert
from orderdesk.domain.triggers import TriggerState
from orderdesk.engine import OrderDesk
from orderdesk.engine.config import DayRules
from orderdesk.store import SqlEventStore
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

pytestmark = pytest.mark.slow

MONDAY, TUESDAY = date(2026, 12, 7), date(2026, 12, 8)
INFY = InstrumentKey.parse("NSE:INFY")
CONFIG = replace(
    SCENARIO_CONFIG,
    days=DayRules(calendar=TradingCalendar(frozenset())),
    clock_interval=0.02,
    quiet_after=30 * 86400.0,
)
BREAKOUT = GttTrigger(
    instrument=INFY,
    trigger_values=(Decimal(1600),),
    last_price=Decimal(1500),
    orders=(GttOrderLeg(side=Side.BUY, quantity=2, price=Decimal(1606), product=Product.CNC),),
)
DIP = PriceAlert(
    name="buy the dip",
    instrument=INFY,
    operator="<=",
    value=Decimal(1400),
    basket=(
        AlertOrder(
            instrument=INFY, side=Side.BUY, quantity=3, product=Product.CNC, price=Decimal(1401)
        ),
    ),
)


async def _at(view: BrokerView, day: date, hour: int, minute: int = 0) -> None:
    when = datetime.combine(day, time(hour, minute))
    await view.control("clock", {"set": f"{when:%Y-%m-%d %H:%M:%S}"})


async def _price(view: BrokerView, price: int) -> None:
    await view.control("prices", {str(INFY): price})


def _owned(desk: OrderDesk, strategy: str) -> list[str]:
    return [o.broker_order_id or "" for o in desk.orders(strategy=strategy) if not o.external]


async def test_triggers_placed_monday_fire_tuesday_for_their_strategies(tmp_path: Path) -> None:
    store_url = sqlite_url(tmp_path / "log.db")
    async with running_sim(seed=13, rate_limits=False, market_hours="nse") as (sim, address):
        view = BrokerView(address)
        await _at(view, MONDAY, 9, 30)
        address = replace(address, access_token=sim.issue_access_token())
        notifier = ListNotifier()
        async with open_desk(
            address, store_url, tmp_path, notifier=notifier, config=CONFIG, clock=SimTime(sim)
        ) as desk:
            assert desk.trading_day == MONDAY
            await _price(view, 1500)
            gtt = await desk.triggers.place_gtt("breakout", BREAKOUT)
            ato = await desk.triggers.place_alert("meanrev", DIP)
            # Kite's rows of them read back as the desk recorded them: no change at the broker.
            assert await desk.triggers.reconcile() == []
            assert "GTT modified outside orderdesk" not in notifier.titles()
            await _at(view, TUESDAY, 9, 20)  # the rollover: Monday's token dies at 06:00
            await eventually(lambda: not desk.session_info().usable, what="the session ended")
            address = replace(address, access_token=sim.issue_access_token())
            await desk.renew_session(address.access_token)
            await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
            assert [t.trigger_id for t in desk.triggers.listing(active_only=True)] == [
                gtt.trigger_id,
                ato.trigger_id,
            ]
            await _price(view, 1605)  # Tuesday: the GTT fires; its BUY @ 1606 fills at once
            await eventually(lambda: _owned(desk, "breakout"), what="the GTT's order")

        # A restart on Tuesday: the triggers come back from their stream, the ATO still live.
        async with open_desk(
            address, store_url, tmp_path, notifier=notifier, config=CONFIG, clock=SimTime(sim)
        ) as desk:
            fired = desk.triggers.get(gtt.trigger_id)
            assert fired.state is TriggerState.FIRED
            assert list(fired.order_ids) == _owned(desk, "breakout")
            assert desk.triggers.get(ato.trigger_id).state is TriggerState.ACTIVE
            await _price(view, 1395)  # the ATO fires: its BUY @ 1401 fills at once
            placed = await eventually(lambda: _owned(desk, "meanrev"), what="the ATO's order")
            assert len(placed) == 1
            # Adopted first, then its trades read: reconciling in between would find its fill
            # in the broker's trade book before the desk has it.
            await eventually(
                lambda: [o.fill_quantity for o in desk.orders(strategy="meanrev")] == [3],
                what="the ATO's fill",
            )
            report = await desk.reconcile()
            assert report.ok, report.rows
            assert desk.triggers.get(ato.trigger_id).order_ids == tuple(placed)
            assert "Reconciliation: external_order" not in notifier.titles()
        store = SqlEventStore(store_url)
        try:
            assert store.verify().ok
        finally:
            store.close()
