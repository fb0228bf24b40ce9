"""A week's walk of the paper broker with the desk stopped between days: what the days missed
meanwhile did is done at the prices last seen, the configured prices are the new day's, a
missed day's square-off is not booked into a later day, and a resting order the new prices
cross fills at the start."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import msgspec

from orderdesk.brokers.paper import PaperBroker
from orderdesk.brokers.paper.state import state_path
from orderdesk.domain import OrderStatus
from orderdesk.domain.calendar import IST
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import InstrumentKey, OrderType, Product, Side
from orderdesk.engine import OrderDesk
from orderdesk.engine.config import DayRules
from orderdesk.ports.broker import PlaceOrder
from tests.contract.test_paper_days import CALENDAR, INFY, PRICES, TCS, command, paper
from tests.engine.conftest import FAST
from tests.engine.fakes import MemoryStore, RecordingNotifier
from tests.support import WallClock, eventually

MONDAY, TUESDAY = date(2026, 12, 7), date(2026, 12, 8)
WEDNESDAY, THURSDAY = date(2026, 12, 9), date(2026, 12, 10)
CASH = Decimal(1_000_000)
DAYS = replace(FAST, days=DayRules(calendar=CALENDAR))


def restarted(clock: WallClock, data_dir: Path, **moved: str) -> PaperBroker:
    """The paper broker of a desk started again, ``[paper] prices`` edited to ``moved``."""
    prices = dict(PRICES)
    prices.update({InstrumentKey.parse(f"NSE:{k}"): Decimal(v) for k, v in moved.items()})
    return PaperBroker(
        prices=prices, clock=clock, state_file=state_path(data_dir), calendar=CALENDAR
    )


def sell(instrument: InstrumentKey, product: Product, quantity: int, tag: str) -> PlaceOrder:
    signal = Signal(
        instrument=instrument,
        side=Side.SELL,
        quantity=quantity,
        order_type=OrderType.MARKET,
        product=product,
    )
    return PlaceOrder(signal=signal, client_order_id=tag)


async def bought_and_stopped(
    tmp_path: Path,
    clock: WallClock,
    store: MemoryStore,
    notifier: RecordingNotifier,
    buy: Signal,
) -> None:
    """A desk on a fresh paper book (its state kept in ``tmp_path``) buys ``buy`` at market,
    sees it filled, and stops: the day a walk's restart comes after."""
    async with OrderDesk(
        paper(clock, tmp_path), store, notifier=notifier, clock=clock, config=DAYS
    ) as desk:
        bought = await desk.submit(buy)
        await bought.wait()
        assert bought.status is OrderStatus.FILLED


def market_buy(
    instrument: InstrumentKey, product: Product, quantity: int, signal_id: str
) -> Signal:
    return Signal(
        instrument=instrument,
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.MARKET,
        product=product,
        signal_id=signal_id,
    )


async def test_a_carried_position_keeps_the_overnight_move(tmp_path: Path) -> None:
    """Monday's CNC buy at 4000 opens Tuesday booked at Monday's close, 4000, not at Tuesday's
    configured 4100: the morning shows +500, and the sale at 4100 realises it."""
    clock = WallClock(datetime(2026, 12, 7, 10, 0, tzinfo=IST))
    monday = paper(clock, tmp_path)
    await monday.place_order(command(TCS, Product.CNC, 5, "tcs"))
    await monday.close()

    clock.set(TUESDAY, 9, 20)
    tuesday = restarted(clock, tmp_path, TCS="4100")
    await tuesday.start()
    (carried,) = await tuesday.positions()
    assert (carried.overnight_quantity, carried.close_price, carried.last_price) == (
        5,
        Decimal(4000),
        Decimal(4100),
    )
    assert (carried.m2m, carried.unrealised) == (Decimal(500), Decimal(500))
    assert carried.average_price == Decimal(4000)  # what it cost, as Kite shows it
    kept = msgspec.json.decode(state_path(tmp_path).read_bytes())
    assert kept["carried"][0]["price"] == "4000"

    await tuesday.place_order(sell(TCS, Product.CNC, 5, "tcs-out"))
    (sold,) = await tuesday.positions()
    assert (sold.quantity, sold.realised, sold.m2m) == (0, Decimal(500), Decimal(500))
    await tuesday.close()


async def test_a_missed_square_off_fills_at_the_price_last_seen(tmp_path: Path) -> None:
    """Wednesday's MIS bought at 1500, last seen at 1505 when the desk stopped at 11:00: the
    15:20 square-off found on Thursday sold at 1505 (+50 in cash), not at Thursday's configured
    1600; Thursday's quote says Wednesday closed at 1505."""
    clock = WallClock(datetime(2026, 12, 9, 10, 0, tzinfo=IST))
    wednesday = paper(clock, tmp_path)
    await wednesday.place_order(command(INFY, Product.MIS, 10, "infy"))
    wednesday.set_price(INFY, Decimal(1505))
    clock.set(WEDNESDAY, 11, 0)
    await wednesday.close()

    clock.set(THURSDAY, 9, 20)
    thursday = restarted(clock, tmp_path, INFY="1600")
    await thursday.start()
    # +50 from the square-off, less Wednesday's charges (an MIS round trip of 10 INFY): 15.94.
    assert (await thursday.margins()).equity.cash == CASH + 50 - Decimal("15.94")
    quote = (await thursday.quotes([INFY]))[INFY]
    assert (quote.last_price, quote.close) == (Decimal(1600), Decimal(1505))
    assert await thursday.positions() == []
    await thursday.close()


async def test_a_resting_limit_the_configured_price_crosses_fills_at_the_start(
    tmp_path: Path,
) -> None:
    """A CNC buy at 1510 rests while INFY is at 1520; the desk is stopped, the config moves
    INFY to 1505 and the desk starts the same day: the order fills, as it would have had the
    price moved with the desk running."""
    clock = WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST))
    first = paper(clock, tmp_path)
    first.set_price(INFY, Decimal(1520))
    resting = await first.place_order(command(INFY, Product.CNC, 10, "rest", "1510"))
    assert (await first.orders())[0].status is BrokerStatus.OPEN
    clock.set(TUESDAY, 11, 0)
    await first.close()

    clock.set(TUESDAY, 11, 30)
    again = restarted(clock, tmp_path, INFY="1505")
    await again.start()
    (order,) = await again.orders()
    assert (order.broker_order_id, order.status, order.filled_quantity) == (
        resting,
        BrokerStatus.COMPLETE,
        10,
    )
    assert order.average_price == Decimal(1505)
    await again.close()


async def test_a_desk_started_after_a_missed_close_books_no_phantom_square_off(
    tmp_path: Path,
) -> None:
    """Wednesday 10:00 the desk buys 10 INFY MIS and is stopped at 11:00; it starts Thursday
    09:20 with INFY at 1600. Wednesday's square-off, which the paper broker carries out when
    it catches up, is not booked into Thursday as a fresh sale: Thursday has no order, no MIS
    position, and its books agree with the broker's."""
    clock = WallClock(datetime(2026, 12, 9, 10, 0, tzinfo=IST))
    store, notifier = MemoryStore(), RecordingNotifier()
    await bought_and_stopped(
        tmp_path, clock, store, notifier, market_buy(INFY, Product.MIS, 10, "wed-mis")
    )
    clock.set(WEDNESDAY, 11, 0)

    clock.set(THURSDAY, 9, 20)
    broker = restarted(clock, tmp_path, INFY="1600")
    async with OrderDesk(broker, store, notifier=notifier, clock=clock, config=DAYS) as desk:
        await eventually(lambda: desk.trading_day == THURSDAY, what="Thursday opened")
        # Everything the stream had queued before this tick has been dispatched once the desk
        # has the tick (one stream, in order), and recorded once the desk is idle.
        broker.set_price(TCS, Decimal("4001"))
        await eventually(lambda: desk.book.last_prices.get(TCS) == Decimal("4001"), what="tick")
        await desk.idle()
        assert desk.orders() == []
        assert desk.position(INFY, Product.MIS).quantity == 0
        report = await desk.reconcile()
        assert report.ok, report.rows
