"""Autoslice and the escalated exit across trading days: a NIFTY future bought on Monday as
one autoslice placement is carried overnight, and on Tuesday, after the 06:00 rollover and the
morning login, ``exit_position`` flattens it with another autoslice placement whose children
are again the order's own; reconciliation is clean and the log verifies."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from kiteconnect import KiteConnect

from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.calendar import TradingCalendar
from orderdesk.domain.events import DayClosed
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
CONFIG = replace(
    SCENARIO_CONFIG,
    days=DayRules(calendar=TradingCalendar(frozenset())),
    clock_interval=0.02,
    quiet_after=30 * 86400.0,
)
RICH = Decimal("100000000")


async def _at(view: BrokerView, day: date, hour: int, minute: int = 0) -> None:
    when = datetime.combine(day, time(hour, minute))
    await view.control("clock", {"set": f"{when:%Y-%m-%d %H:%M:%S}"})


async def test_bought_monday_in_one_autoslice_exited_tuesday_in_another(tmp_path: Path) -> None:
    """Monday: 4,500 NIFTY futures, three children. Tuesday: the carried 4,500 exited by
    exit_position as one more autoslice placement, three children; flat, clean, verified."""
    store_url = sqlite_url(tmp_path / "log.db")
    notifier = ListNotifier()
    async with running_sim(seed=17, rate_limits=False, market_hours="nse", opening_cash=RICH) as (
        sim,
        address,
    ):
        view = BrokerView(address)
        await _at(view, MONDAY, 9, 30)
        address = replace(address, access_token=sim.issue_access_token())
        async with open_desk(
            address, store_url, tmp_path, notifier=notifier, config=CONFIG, clock=SimTime(sim)
        ) as desk:
            assert desk.trading_day == MONDAY
            future = min(
                (
                    i
                    for i in desk.instruments.values()
                    if i.name == "NIFTY" and i.instrument_type == "FUT"
                ),
                key=lambda info: info.expiry,
            )
            await view.control("prices", {str(future.instrument): 25000})
            bought = await desk.submit(
                Signal(
                    instrument=future.instrument,
                    side=Side.BUY,
                    quantity=4095,
                    order_type=OrderType.MARKET,
                    product=Product.NRML,
                    strategy="carry",
                    signal_id="monday",
                )
            )
            await bought.wait()
            assert bought.status is OrderStatus.FILLED
            assert len(bought.children) == 3

            await _at(view, TUESDAY, 9, 20)  # the rollover: Monday's token dies at 06:00
            await eventually(lambda: not desk.session_info().usable, what="the session ended")
            address = replace(address, access_token=sim.issue_access_token())
            await desk.renew_session(address.access_token)
            await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
            assert desk.position(future.instrument, Product.NRML).quantity == 4095
            # Monday's parent, no longer in today's book, is still read through its children
            # (from Monday in the log): filled, not an INITIALIZED intent.
            assert bought.order_id not in {o.order_id for o in desk.orders()}
            assert (bought.status, bought.filled_quantity) == (OrderStatus.FILLED, 4095)
            assert sorted(c.signal.quantity for c in bought.children) == [585, 1755, 1755]

            await view.control("prices", {str(future.instrument): 25100})
            exit_ = await desk.exit_position(
                future.instrument, product=Product.NRML, strategy="carry"
            )
            assert exit_ is not None
            await exit_.wait()
            assert exit_.status is OrderStatus.FILLED
            assert exit_.order.autoslice
            children = exit_.children
            assert sorted(c.signal.quantity for c in children) == [585, 1755, 1755]
            assert {c.signal.strategy for c in children} == {"carry"}
            assert not any(c.external for c in children)
            assert desk.position(future.instrument, Product.NRML).quantity == 0
            report = await desk.reconcile()
            assert report.ok, report.rows
            assert "Reconciliation: external_order" not in notifier.titles()
            # Monday's parent was never at Kite: closed in the log, not alerted as lapsed.
            assert "Order lapsed" not in notifier.titles()
            opened = [a.body for a in notifier.alerts if a.title == "Trading day opened"]
            assert opened[-1].endswith(", 0 lapsed"), opened

            kite = KiteConnect(
                address.api_key, access_token=address.access_token, root=address.rest_root
            )
            rows = await asyncio.to_thread(kite.orders)  # Tuesday's book only
            assert sorted(r["order_id"] for r in rows) == sorted(exit_.broker_order_ids)
            assert {r["tag"] for r in rows} == {exit_.order_id}
    store = SqlEventStore(store_url)
    try:
        assert store.verify().ok
        (monday,) = [
            event
            for row in store.read(kind=DayClosed.__name__)
            if isinstance(event := row.event(), DayClosed) and event.day == MONDAY
        ]
        assert bought.order_id not in monday.still_open  # a parent is not an order at Kite
    finally:
        store.close()
