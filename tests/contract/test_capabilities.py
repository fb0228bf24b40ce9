"""Optional broker capabilities: who offers which, and the desk driving a broker that offers none.

The paper broker has the :class:`~orderdesk.ports.broker.Broker` port and, of the capabilities,
only order history, conversions and charges: the engine opens its trading days without holdings
and reconciles without them, and the API's holdings route says the broker keeps none instead of
answering an empty list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.brokers.kite import KiteBroker
from orderdesk.brokers.kite.config import KiteConfig
from orderdesk.brokers.paper import PaperBroker
from orderdesk.client import DeskClient, DeskClientError
from orderdesk.domain import Product
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.events import DayOpened
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import DayRules
from orderdesk.ports.broker import (
    AlertControl,
    AutosliceControl,
    Broker,
    ChargesSource,
    GttControl,
    HoldingsSource,
    OrderHistorySource,
    PositionConverter,
    SessionControl,
    WebhookSource,
)
from tests.contract.no_secrets import NoSecrets
from tests.engine.conftest import FAST
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import WallClock, eventually

MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
DAYS = replace(FAST, days=DayRules(calendar=TradingCalendar(frozenset())))
TOKEN = "capabilities-token-0123456789abcdef"
CAPABILITIES = (
    HoldingsSource,
    OrderHistorySource,
    ChargesSource,
    GttControl,
    AlertControl,
    AutosliceControl,
    SessionControl,
    WebhookSource,
    PositionConverter,
)


def _offered(broker: object) -> set[str]:
    return {capability.__name__ for capability in CAPABILITIES if isinstance(broker, capability)}


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


@pytest.fixture
async def paper_desk(clock: WallClock) -> AsyncIterator[tuple[OrderDesk, MemoryStore]]:
    """A desk keeping trading days over the paper broker."""
    store = MemoryStore()
    assert DAYS.days is not None
    broker = PaperBroker(prices={INFY: Decimal("1500")}, clock=clock, calendar=DAYS.days.calendar)
    desk = OrderDesk(
        broker,
        store,
        notifier=RecordingNotifier(),
        clock=clock,
        config=DAYS,
        limits=RiskLimits(),
    )
    async with desk:
        yield desk, store


def test_each_adapter_offers_what_it_has_and_stubs_nothing(tmp_path: Path) -> None:
    """Kite offers every capability; the paper broker and the engine's fake only what they
    really do, so neither carries a method that pretends."""
    kite = KiteBroker(KiteConfig(api_key="k"), NoSecrets())
    paper = PaperBroker()
    fake = FakeBroker()
    for broker in (kite, paper, fake):
        assert isinstance(broker, Broker)
    assert _offered(kite) == {capability.__name__ for capability in CAPABILITIES}
    assert _offered(paper) == {"ChargesSource", "OrderHistorySource", "PositionConverter"}
    assert _offered(fake) == {"HoldingsSource", "SessionControl"}
    for name in (
        "holdings",
        "gtt_triggers",
        "place_gtt",
        "delete_gtt",
        "place_autoslice",
    ):
        assert not hasattr(paper, name)


async def test_a_broker_without_holdings_opens_days_and_reconciles_without_them(
    paper_desk: tuple[OrderDesk, MemoryStore], clock: WallClock
) -> None:
    """Over the paper broker a CNC buy yields no expected-holdings mismatch the next morning:
    the day opens with no holdings (the buy is carried as a position) and reconciliation
    leaves them out."""
    desk, store = paper_desk
    assert desk.trading_day == MONDAY
    await (await desk.submit(signal(product=Product.CNC, quantity=10))).wait()
    report = await desk.reconcile()
    assert not [row for row in report.rows if row.kind == "holding"]
    clock.set(TUESDAY, 9, 0)
    await eventually(lambda: desk.trading_day == TUESDAY, what="Tuesday opened")
    opened = [e for e in store.events() if isinstance(e, DayOpened)]
    assert [(e.day, e.holdings) for e in opened] == [(MONDAY, ()), (TUESDAY, ())]
    assert desk.holdings() == []
    assert desk.position(INFY, Product.CNC).overnight_quantity == 10
    assert not [e for e in store.events() if getattr(e, "kind", None) == "day_open"]


async def test_the_holdings_route_says_the_broker_keeps_none(
    paper_desk: tuple[OrderDesk, MemoryStore],
) -> None:
    """GET /api/holdings over the paper broker answers 501 not_offered with a plain reason,
    which the client (and so ``orderdesk holdings``) shows as it is."""
    desk, _ = paper_desk
    server = await serve_api(create_app(EngineDesk(desk), token=TOKEN), "127.0.0.1", 0)
    try:
        async with DeskClient(server.url, TOKEN) as client:
            with pytest.raises(DeskClientError) as exc_info:
                await client.holdings()
    finally:
        await server.stop()
    error = exc_info.value
    assert error.status == 501
    assert error.error == "not_offered"
    assert str(error) == "501: the paper broker does not offer holdings"
