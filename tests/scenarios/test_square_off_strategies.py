"""The broker's 15:20 square-off, seen per strategy through ``GET /api/strategies``.

The desk runs over the Kite adapter on the simulator keeping NSE's hours, and follows its clock.
Strategies hold SBIN MIS positions (one long, one short, the desk's ``manual`` long 100) beside
a sale placed on Kite's own app; the simulator's clock moves past 15:20 and the broker squares
the account off. Each strategy is then flat, its P&L realised at the square-off's price and no
longer moving with SBIN; ``external`` shows no position of its own; a strategy's own daily loss
limit counts the realised loss only; and a desk restarted on the same log reads the same books.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.api.app import create_app
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.api.schemas import StrategyOut
from orderdesk.api.server import serve_api
from orderdesk.brokers import BrokerContext
from orderdesk.brokers.kite import create_broker
from orderdesk.client import DeskClient
from orderdesk.domain import InstrumentKey, OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.attribution import StrategyBook
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.order import Order
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import DayRules
from orderdesk.store import AsyncEventWriter, SqlEventStore
from orderdesk.store.location import sqlite_url
from tests.scenarios.harness import (
    SCENARIO_CONFIG,
    BrokerView,
    DictSecrets,
    ListNotifier,
    SimAddress,
    SimTime,
    kite_options,
    running_sim,
)
from tests.support import eventually

pytestmark = pytest.mark.slow

MONDAY = date(2026, 12, 7)
SBIN = InstrumentKey.parse("NSE:SBIN")
INFY = InstrumentKey.parse("NSE:INFY")
API_TOKEN = "square-off-api-token-0123456789"  # the desk's own bearer token, made up here
LOSS_LIMIT = Decimal("3000")
"""``manual``'s own daily loss limit: above its realised 1,668, below what its 100 SBIN would
lose at 800 had they stayed open."""
CONFIG = replace(
    SCENARIO_CONFIG,
    days=DayRules(calendar=TradingCalendar(frozenset())),
    clock_interval=0.02,
    quiet_after=30 * 86400.0,
)


@contextlib.asynccontextmanager
async def a_desk(
    address: SimAddress, store_url: str, data_dir: Path, clock: SimTime
) -> AsyncIterator[OrderDesk]:
    """A started desk on the simulator and the store (as ``harness.open_desk``), with
    ``manual``'s own daily loss limit."""
    secrets = DictSecrets(
        {"kite.access_token": address.access_token, "kite.api_secret": address.api_secret}
    )
    broker = create_broker(kite_options(address), BrokerContext(secrets, data_dir))
    store = SqlEventStore(store_url)
    try:
        async with AsyncEventWriter(store) as writer:
            desk = OrderDesk(
                broker,
                store,
                writer=writer,
                notifier=ListNotifier(),
                config=CONFIG,
                clock=clock,
                limits=RiskLimits(),
                strategy_limits={"manual": RiskLimits(daily_loss_limit=LOSS_LIMIT)},
            )
            async with desk:
                yield desk
    finally:
        store.close()


async def at(view: BrokerView, hour: int, minute: int) -> None:
    when = datetime.combine(MONDAY, time(hour, minute))
    await view.control("clock", {"set": f"{when:%Y-%m-%d %H:%M:%S}"})


async def price(view: BrokerView, instrument: InstrumentKey, value: str) -> None:
    await view.control("prices", {str(instrument): float(value)})


async def filled(
    desk: OrderDesk,
    name: str,
    strategy: str,
    side: Side,
    quantity: int,
    product: Product = Product.MIS,
    instrument: InstrumentKey = SBIN,
) -> Order:
    """A MARKET order of ``strategy`` (signal id ``name``), filled; the order as the desk has
    it."""
    handle = await desk.submit(
        Signal(
            instrument=instrument,
            side=side,
            quantity=quantity,
            order_type=OrderType.MARKET,
            product=product,
            strategy=strategy,
            signal_id=name,
        )
    )
    await handle.wait(timeout=10)
    assert handle.status is OrderStatus.FILLED, handle.order.reason
    return handle.order


async def placed_outside(desk: OrderDesk, view: BrokerView, side: Side, quantity: int) -> Order:
    """A MARKET SBIN MIS order placed at the broker, not through the desk (Kite web, the app),
    found by a reconciliation: the order the desk adopted."""
    placed = await view.control(
        "orders/external",
        {
            "exchange": "NSE",
            "tradingsymbol": "SBIN",
            "transaction_type": str(side),
            "order_type": "MARKET",
            "quantity": quantity,
            "product": "MIS",
        },
    )
    await desk.reconcile()
    adopted = desk.book.by_broker_id[placed["order_id"]]
    assert adopted.external
    return adopted


def held(book: StrategyBook) -> dict[tuple[str, Product], int]:
    """A book's quantity in each instrument and product it traded."""
    return {(str(p.instrument), p.product): p.quantity for p in book.positions}


def by_name(strategies: list[StrategyOut]) -> dict[str, StrategyOut]:
    return {s.strategy: s for s in strategies}


def sbin_mis(strategy: StrategyOut) -> tuple[int, Decimal]:
    """The strategy's SBIN MIS quantity and realised P&L (0 and 0 without the line)."""
    lines = [p for p in strategy.positions if p.instrument == str(SBIN) and p.product == "MIS"]
    return (lines[0].quantity, lines[0].realised) if lines else (0, Decimal(0))


async def test_the_square_off_leaves_each_strategy_flat_at_its_price(tmp_path: Path) -> None:
    """After the 15:20 square-off every strategy is flat in SBIN MIS with its P&L realised at
    the square-off's price, ``external`` (where a sale placed in Kite's app sits) holds nothing,
    the desk-wide position is 0 as before, a price move after it moves no strategy's P&L nor
    trips ``manual``'s own loss limit, and the restarted desk reads the same books."""
    store_url = sqlite_url(tmp_path / "desk.db")
    async with running_sim(seed=23, rate_limits=False, market_hours="nse") as (sim, address):
        view = BrokerView(address)
        await at(view, 9, 30)
        address = replace(address, access_token=sim.issue_access_token())
        view = BrokerView(address)
        await price(view, SBIN, "849.85")
        await price(view, INFY, "1500")
        async with a_desk(address, store_url, tmp_path, SimTime(sim)) as desk:
            assert desk.trading_day == MONDAY
            manual = await filled(desk, "sbin", "manual", Side.BUY, 100)
            alpha = await filled(desk, "sbin", "alpha", Side.BUY, 30)
            beta = await filled(desk, "sbin", "beta", Side.SELL, 10)
            # Keeps SBIN streamed after the square-off (a delivery position of its own).
            await filled(desk, "sbin", "swing", Side.BUY, 1, Product.CNC)
            infy = await filled(desk, "infy", "manual", Side.BUY, 1, Product.CNC, INFY)
            kite_app = await placed_outside(desk, view, Side.SELL, 20)
            await eventually(
                lambda: desk.position(SBIN, Product.MIS).quantity == 100 + 30 - 10 - 20,
                what="the sale from Kite's app recorded",
            )

            await price(view, SBIN, "829")
            await at(view, 15, 21)
            await eventually(
                lambda: desk.position(SBIN, Product.MIS).quantity == 0,
                timeout=15,
                what="the broker's square-off",
            )
            (square_off,) = [
                o
                for o in desk.orders()
                if o.external and o.created_at >= datetime(2026, 12, 7, 15, 20, tzinfo=IST)
            ]
            await eventually(
                lambda: square_off.fill_quantity == 100, what="the square-off's fills recorded"
            )
            closed_at = square_off.average_price

            await price(view, SBIN, "800")
            await eventually(
                lambda: desk.book.last_prices.get(SBIN) == Decimal("800"), what="SBIN at 800"
            )
            server = await serve_api(create_app(EngineDesk(desk), token=API_TOKEN))
            try:
                async with DeskClient(server.url, API_TOKEN) as api:
                    strategies = by_name(await api.strategies())
            finally:
                await server.stop()
            # The sale from Kite's app closed 20 of manual's long (first come) at its price.
            expected = {
                "manual": (
                    0,
                    20 * (kite_app.average_price - manual.average_price)
                    + 80 * (closed_at - manual.average_price),
                ),
                "alpha": (0, 30 * (closed_at - alpha.average_price)),
                "beta": (0, 10 * (beta.average_price - closed_at)),
                "external": (0, Decimal(0)),
                "swing": (0, Decimal(0)),
            }
            assert {name: sbin_mis(s) for name, s in strategies.items()} == expected
            assert (manual.average_price, closed_at) == (Decimal("849.85"), Decimal("829"))
            assert kite_app.average_price == Decimal("849.85")
            assert sbin_mis(strategies["manual"]) == (0, Decimal("-1668.00"))
            assert strategies["manual"].unrealised == 1500 - infy.average_price
            assert [(p.instrument, p.quantity) for p in strategies["swing"].positions] == [
                (str(SBIN), 1)
            ]
            assert sum(s.pnl for s in strategies.values()) == desk.day_pnl()
            assert desk.position(SBIN, Product.MIS).quantity == 0

            # ``manual``'s own loss limit sees the 1,668 realised, not 100 SBIN marked at 800.
            more = await filled(desk, "infy-late", "manual", Side.BUY, 1, Product.CNC, INFY)
            assert more.status is OrderStatus.FILLED
            books = desk.strategy_books()

        async with a_desk(address, store_url, tmp_path, SimTime(sim)) as again:
            replayed = again.strategy_books()
            assert {n: (b.realised, held(b)) for n, b in replayed.items()} == {
                n: (b.realised, held(b)) for n, b in books.items()
            }
            assert replayed["manual"].positions.get(SBIN, Product.MIS).quantity == 0
