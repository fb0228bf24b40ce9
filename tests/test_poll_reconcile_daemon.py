"""A desk whose Kite stream polls the books (``[kite] stream = "poll"``: the Personal plan has
no WebSocket) reconciling straight after a fill or a cancel: the poll stream would have told
that news at its next poll, so reconciliation records it without calling it missed. News the
stream has had longer than its interval to bring and has not is flagged still."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.brokers.kite import KiteBroker
from orderdesk.brokers.kite.broker import POLL_MARGIN_SECONDS
from orderdesk.brokers.kite.config import KiteConfig, load_config
from orderdesk.brokers.paper import PaperBroker
from orderdesk.config import ApiSettings, EngineSettings, Settings, TradingDaySettings
from orderdesk.domain import InstrumentKey, OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.calendar import IST
from orderdesk.domain.events import ReconciliationMismatch
from orderdesk.engine.reconcile import ReconciliationReport
from orderdesk.ports.broker import stream_delay
from orderdesk.runtime import Runtime, open_runtime
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from tests.contract.no_secrets import NoSecrets
from tests.support import DictSecrets, WallClock, eventually

POLL_INTERVAL = 120.0
"""Longer than a test runs: after its first read at start the poll stream tells nothing more."""
MIDDAY = datetime(2026, 3, 10, 11, 0)
"""Where the simulator's clock and the desk's start (naive IST, as the simulator keeps it): far
from the 06:00 token expiry, so moving the desk's clock on ends no session."""
INFY = InstrumentKey.parse("NSE:INFY")
MISSED = {"status", "missed_fill"}


class PollerReads:
    """A wire trace counting the trade-book reads of the poll stream itself (its task reads
    the books, as the desk's own reads do in theirs)."""

    def __init__(self) -> None:
        self.trades = 0

    def written(self, method: str, target: str) -> None:
        pass

    def answered(self, method: str, target: str, status: int) -> None:
        task = asyncio.current_task()
        if task is not None and task.get_name() == "kite-poller" and target == "/trades":
            self.trades += 1


@dataclass
class PollingDesk:
    sim: SimServer
    runtime: Runtime
    clock: WallClock
    """The desk's time, still unless the test moves it (so the desk's own first look at a
    just-accepted order never comes, and only the reconciliation reads the books)."""

    def pass_the_stream_delay(self) -> None:
        """Move the desk's clock past the poll stream's delay, counted from the simulator's
        now (which runs on from MIDDAY): every change made so far is older than that."""
        delay = stream_delay(self.runtime.broker)
        at_sim = self.sim.clock.now().replace(tzinfo=IST)
        self.clock.at = at_sim + timedelta(seconds=delay + 1)

    def reconciliation_alerts(self) -> list[str]:
        return [
            entry.alert.title
            for entry in self.runtime.alerts.recent()
            if entry.alert.title.startswith("Reconciliation")
        ]

    def mismatches(self) -> list[ReconciliationMismatch]:
        return [
            event
            for stored in self.runtime.store.read(stream="desk")
            if isinstance(event := stored.event(), ReconciliationMismatch)
        ]


@pytest.fixture
async def polling_desk(tmp_path: Path) -> AsyncIterator[PollingDesk]:
    for name in list(os.environ):
        if name.startswith("ORDERDESK_"):
            del os.environ[name]
    async with SimServer(
        SimConfig(port=0, seed=11, price_tick_interval=None, rate_limits=False)
    ) as sim:
        sim.clock.set(MIDDAY)
        clock = WallClock(MIDDAY.replace(tzinfo=IST))
        kite = {
            "api_key": sim.config.api_key,
            "root": sim.rest_root,
            "ws_url": sim.ws_url,
            "stream": "poll",
            "poll_interval_seconds": POLL_INTERVAL,
            "rate_limits_enabled": False,
        }
        settings = Settings(
            broker="kite",
            data_dir=tmp_path,
            config_dir=tmp_path,
            api=ApiSettings(port=0),
            engine=EngineSettings(reconcile_interval_seconds=300, poll_interval_seconds=300),
            trading_day=TradingDaySettings(enabled=False),  # the sim is always open here
            kite=kite,
        )
        secrets = DictSecrets({"kite.access_token": sim.issue_access_token()})
        reads = PollerReads()
        broker = KiteBroker(load_config(kite), secrets, clock=clock, trace=reads)
        async with open_runtime(settings, secrets=secrets, broker=broker, clock=clock) as runtime:
            # The poll stream's first read (at its start) is over: it reads again only after
            # its interval, longer than the test, so what the stream tells is settled.
            await eventually(lambda: reads.trades > 0, what="the poll stream's first read")
            yield PollingDesk(sim, runtime, clock)


def _buy(order_type: OrderType = OrderType.MARKET, price: Decimal | None = None) -> Signal:
    return Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=3,
        order_type=order_type,
        product=Product.MIS,
        price=price,
        market_protection=Decimal(-1) if order_type is OrderType.MARKET else None,
    )


def _kinds(report: ReconciliationReport) -> set[str]:
    return {row.kind for row in report.rows}


async def test_a_fill_and_a_cancel_the_poll_stream_has_yet_to_bring_are_not_missed(
    polling_desk: PollingDesk,
) -> None:
    """``orderdesk place`` and ``orderdesk cancel``, then ``orderdesk reconcile`` at once: the
    books end right, with no "the update was missed" or "inferred" row, event or alert."""
    desk = polling_desk.runtime.desk
    resting = await desk.submit(_buy(OrderType.LIMIT, Decimal(1400)))  # below the market
    filled = await desk.submit(_buy())
    await desk.cancel(resting.order_id)

    report = await desk.reconcile()

    assert not _kinds(report) & MISSED, report.rows
    assert polling_desk.mismatches() == []
    assert polling_desk.reconciliation_alerts() == []
    assert desk.order(filled.order_id).status is OrderStatus.FILLED
    assert desk.order(resting.order_id).status is OrderStatus.CANCELLED
    assert desk.position(INFY, Product.MIS).quantity == 3


async def test_a_fill_the_poll_stream_never_brought_is_flagged(
    polling_desk: PollingDesk,
) -> None:
    """The same fill, with longer than the poll stream's interval (and margin) gone by without
    the stream telling it, is a missed fill: rows, mismatch events and alerts."""
    desk = polling_desk.runtime.desk
    filled = await desk.submit(_buy())
    polling_desk.pass_the_stream_delay()

    report = await desk.reconcile()

    assert _kinds(report) >= MISSED, report.rows
    assert {e.kind for e in polling_desk.mismatches()} >= MISSED
    assert {f"Reconciliation: {kind}" for kind in MISSED} <= set(
        polling_desk.reconciliation_alerts()
    )
    assert desk.order(filled.order_id).status is OrderStatus.FILLED


def test_only_the_poll_stream_is_late() -> None:
    """Kite's poll stream is its interval and a margin late; its ticker, and a broker that says
    nothing of its stream (the paper broker), push each change at once."""
    polling = KiteBroker(
        KiteConfig(api_key="k", stream="poll", poll_interval_seconds=2), NoSecrets()
    )
    ticker = KiteBroker(KiteConfig(api_key="k", stream="ticker"), NoSecrets())
    assert stream_delay(polling) == 2 + POLL_MARGIN_SECONDS
    assert stream_delay(ticker) == 0
    assert stream_delay(PaperBroker()) == 0
