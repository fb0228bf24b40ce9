"""The paper broker takes orders as Kite takes them (KITE_API.md §14): no regular order while the
market is shut, an AMO held for the next open, a TTL order lapsing, no cover orders, no stop
already crossed, and no more spent than the account can spend."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk.brokers import BrokerContext, create_broker
from orderdesk.brokers.paper import PaperBroker
from orderdesk.brokers.paper.state import STATE_FILE_NAME, state_path
from orderdesk.domain import OrderStatus
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.events import ReconciliationMismatch
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import InstrumentKey, OrderType, Product, Side, Validity, Variety
from orderdesk.engine import OrderDesk
from orderdesk.errors import ConfigError, InputRejected, MarginRejected
from orderdesk.ports.broker import OrderChanges, PlaceOrder
from tests.contract.no_secrets import NoSecrets
from tests.contract.test_paper_walk_days import DAYS, restarted
from tests.engine.fakes import MemoryStore, RecordingNotifier
from tests.support import WallClock, eventually

INFY = InstrumentKey.parse("NSE:INFY")
TCS = InstrumentKey.parse("NSE:TCS")
NIFTY_FUT = InstrumentKey.parse("NFO:NIFTY26DECFUT")
MIS = Product.MIS
TUESDAY, WEDNESDAY = date(2026, 12, 8), date(2026, 12, 9)
CHRISTMAS, SATURDAY = date(2026, 12, 25), date(2026, 12, 12)
CALENDAR = TradingCalendar(frozenset({CHRISTMAS}))
MARKET_CLOSED = "Markets are closed right now. Use GTT for placing long standing orders instead."
BUY_STOP_TRIGGER = (
    "Trigger price for stoploss buy orders should be higher than the last traded price."
)
SELL_STOP_TRIGGER = (
    "Trigger price for stoploss sell orders should be lower than the last traded price."
)
"""Kite's words (KITE_API.md §14; the simulator answers the same)."""
PRICES = {INFY: Decimal("1480"), TCS: Decimal("4000"), NIFTY_FUT: Decimal("25000")}


def paper(clock: WallClock, data_dir: Path, cash: str = "1000000") -> PaperBroker:
    return PaperBroker(
        prices=PRICES,
        cash=Decimal(cash),
        clock=clock,
        state_file=state_path(data_dir),
        calendar=CALENDAR,
    )


def order(
    instrument: InstrumentKey,
    side: Side,
    quantity: int = 1,
    *,
    order_type: OrderType = OrderType.MARKET,
    product: Product = Product.CNC,
    price: str | None = None,
    trigger: str | None = None,
    **more: object,
) -> PlaceOrder:
    signal = Signal(
        instrument=instrument,
        side=side,
        quantity=quantity,
        order_type=order_type,
        product=product,
        price=Decimal(price) if price else None,
        trigger_price=Decimal(trigger) if trigger else None,
        **more,  # type: ignore[arg-type]
    )
    return PlaceOrder(signal=signal, client_order_id=f"od-{quantity}-{side}")


@pytest.mark.parametrize(
    ("day", "hour", "instrument"),
    [
        (TUESDAY, 20, INFY),  # after the close
        (TUESDAY, 8, INFY),  # before the open
        (TUESDAY, 20, NIFTY_FUT),
        (SATURDAY, 11, INFY),
        (CHRISTMAS, 11, INFY),  # a holiday of the desk's calendar
    ],
)
async def test_a_regular_order_is_refused_while_its_market_is_shut(
    tmp_path: Path, day: date, hour: int, instrument: InstrumentKey
) -> None:
    """Kite's answer, and nothing in the book: a late fill broke the closed day's books."""
    clock = WallClock(datetime(day.year, day.month, day.day, hour, tzinfo=IST))
    broker = paper(clock, tmp_path)
    product = Product.NRML if instrument is NIFTY_FUT else Product.CNC
    with pytest.raises(InputRejected) as refused:
        await broker.place_order(order(instrument, Side.BUY, product=product))
    assert str(refused.value) == MARKET_CLOSED
    assert (await broker.orders(), await broker.trades()) == ([], [])


async def test_an_amo_waits_for_the_next_open_then_goes_to_the_market(tmp_path: Path) -> None:
    """An AMO market buy placed Tuesday 20:00 is held (Kite's "AMO REQ RECEIVED") through the
    night, Wednesday's 06:00 rollover and a restart, and fills at Wednesday's 09:15 open."""
    clock = WallClock(datetime(2026, 12, 8, 20, 0, tzinfo=IST))
    broker = paper(clock, tmp_path)
    placed = await broker.place_order(order(INFY, Side.BUY, 10, variety=Variety.AMO))
    (held,) = await broker.orders()
    assert (held.broker_order_id, held.status, held.broker_status_text) == (
        placed,
        BrokerStatus.RECEIVED,
        "AMO REQ RECEIVED",
    )
    await broker.close()

    clock.set(WEDNESDAY, 9, 0)
    again = paper(clock, tmp_path)
    assert [(o.broker_order_id, o.status) for o in await again.orders()] == [
        (placed, BrokerStatus.RECEIVED)
    ]
    assert await again.trades() == []
    clock.set(WEDNESDAY, 9, 20)
    (filled,) = await again.orders()
    assert (filled.status, filled.filled_quantity) == (BrokerStatus.COMPLETE, 10)
    (trade,) = await again.trades()
    assert trade.filled_at == datetime(2026, 12, 9, 9, 15, tzinfo=IST)


async def test_a_ttl_order_is_cancelled_when_its_minutes_have_run(tmp_path: Path) -> None:
    """A LIMIT buy with a TTL of 1 minute rests, and 70 s later it is cancelled."""
    clock = WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST))
    broker = paper(clock, tmp_path)
    ttl = order(
        INFY,
        Side.BUY,
        order_type=OrderType.LIMIT,
        price="1400",
        validity=Validity.TTL,
        validity_ttl=1,
    )
    placed = await broker.place_order(ttl)
    clock.at += timedelta(seconds=50)
    assert (await broker.orders())[0].status is BrokerStatus.OPEN
    clock.at += timedelta(seconds=20)
    (lapsed,) = await broker.orders()
    assert (lapsed.broker_order_id, lapsed.status, lapsed.cancelled_quantity) == (
        placed,
        BrokerStatus.CANCELLED,
        1,
    )


async def test_market_hours_always_takes_a_regular_order_at_night(tmp_path: Path) -> None:
    """``[paper] market_hours = "always"`` rehearses a strategy at any hour: Tuesday 20:00's
    market buy fills; a value that is neither is refused as the config is read."""
    clock = WallClock(datetime(2026, 12, 8, 20, 0, tzinfo=IST))
    context = BrokerContext(secrets=NoSecrets(), data_dir=tmp_path, clock=clock, calendar=CALENDAR)
    options = {"prices": {"NSE:INFY": "1480"}, "market_hours": "always"}
    broker = create_broker("paper", options, context)
    await broker.place_order(order(INFY, Side.BUY))
    (filled,) = await broker.orders()
    assert filled.status is BrokerStatus.COMPLETE
    with pytest.raises(ConfigError, match=r"paper\.market_hours"):
        create_broker("paper", {**options, "market_hours": "nse"}, context)


async def test_a_cover_order_is_refused_not_taken_without_its_stop(tmp_path: Path) -> None:
    """A cover order taken as a plain one left the position without its stop-loss leg."""
    clock = WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST))
    broker = paper(clock, tmp_path)
    cover = order(INFY, Side.BUY, product=Product.MIS, trigger="1450", variety=Variety.CO)
    with pytest.raises(InputRejected, match="does not offer cover orders"):
        await broker.place_order(cover)
    assert await broker.orders() == []


@pytest.mark.parametrize(
    ("side", "order_type", "trigger", "refusal"),
    [
        (Side.SELL, OrderType.SL, "4100", SELL_STOP_TRIGGER),
        (Side.SELL, OrderType.SL_M, "4000", SELL_STOP_TRIGGER),
        (Side.BUY, OrderType.SL_M, "3990", BUY_STOP_TRIGGER),
        (Side.BUY, OrderType.SL, "4000", BUY_STOP_TRIGGER),
    ],
)
async def test_a_stop_already_crossed_is_refused(
    tmp_path: Path, side: Side, order_type: OrderType, trigger: str, refusal: str
) -> None:
    """TCS at 4000: a sell stop at or above it, a buy stop at or below it, would fire at once."""
    clock = WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST))
    broker = paper(clock, tmp_path)
    price = trigger if order_type is OrderType.SL else None
    stop = order(
        TCS, side, order_type=order_type, trigger=trigger, price=price, product=Product.MIS
    )
    with pytest.raises(InputRejected) as refused:
        await broker.place_order(stop)
    assert str(refused.value) == refusal
    assert await broker.trades() == []


async def test_a_stop_modified_across_the_last_price_is_refused(tmp_path: Path) -> None:
    """A sell stop at 3900 (TCS at 4000) rests; moved to 4100 it is refused and stays."""
    clock = WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST))
    broker = paper(clock, tmp_path)
    stop = order(TCS, Side.SELL, order_type=OrderType.SL_M, trigger="3900", product=Product.MIS)
    placed = await broker.place_order(stop)
    with pytest.raises(InputRejected) as refused:
        await broker.modify_order(
            placed, Variety.REGULAR, OrderChanges(trigger_price=Decimal("4100"))
        )
    assert str(refused.value) == SELL_STOP_TRIGGER
    (resting,) = await broker.orders()
    assert (resting.status, resting.trigger_price) == (BrokerStatus.TRIGGER_PENDING, 3900)


async def test_open_buy_orders_hold_their_cash(tmp_path: Path) -> None:
    """With 3,520 cash, one resting 2,940 buy leaves too little for a second."""
    clock = WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST))
    broker = paper(clock, tmp_path, cash="3520")
    await broker.place_order(order(INFY, Side.BUY, 2, order_type=OrderType.LIMIT, price="1470"))
    with pytest.raises(MarginRejected):
        await broker.place_order(order(INFY, Side.BUY, 2, order_type=OrderType.LIMIT, price="1470"))
    equity = (await broker.margins()).equity
    assert equity is not None
    assert (equity.cash, equity.net) == (3520, 580)


async def test_a_shorts_proceeds_are_not_spendable(tmp_path: Path) -> None:
    """An MIS short of 10 INFY at 1480 brings 14,800 into the cash, none of it to spend."""
    clock = WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST))
    broker = paper(clock, tmp_path, cash="5000")
    await broker.place_order(order(INFY, Side.SELL, 10, product=Product.MIS))
    equity = (await broker.margins()).equity
    assert equity is not None
    assert (equity.cash, equity.net) == (19800, 5000)
    with pytest.raises(MarginRejected):
        await broker.place_order(order(TCS, Side.BUY, 2, product=Product.CNC))


def configured(data_dir: Path, cash: str) -> PaperBroker:
    broker = create_broker(
        "paper",
        {"prices": {"NSE:INFY": "1480"}, "cash": cash},
        BrokerContext(secrets=NoSecrets(), data_dir=data_dir),
    )
    assert isinstance(broker, PaperBroker)
    return broker


async def test_a_changed_cash_on_a_kept_book_is_warned_of(tmp_path: Path) -> None:
    """[paper] cash moved from 1000000 to 5000 over a kept book: the book keeps its cash, and
    the broker says so, naming the file and how to start afresh."""
    first = configured(tmp_path, "1000000")
    assert first.kept_cash_notice is None
    await first.close()
    assert configured(tmp_path, "1000000").kept_cash_notice is None  # unchanged: nothing said

    again = configured(tmp_path, "5000")
    notice = again.kept_cash_notice
    assert notice is not None
    assert str(tmp_path / STATE_FILE_NAME) in notice
    assert "event log" in notice
    equity = (await again.margins()).equity
    assert equity is not None
    assert equity.cash == 1000000


async def test_a_restart_whose_prices_fill_a_resting_order_reconciles_clean(
    tmp_path: Path,
) -> None:
    """A desk's LIMIT buy at 1510 rests with INFY at 1520; the desk is stopped, the config moves
    INFY to 1505 and it starts again: the fill comes through the stream before the start-up
    reconciliation reads the books, so nothing is reported as a missed update."""
    clock = WallClock(datetime(2026, 12, 8, 10, 0, tzinfo=IST))
    store, notifier = MemoryStore(), RecordingNotifier()
    first = restarted(clock, tmp_path, INFY="1520")
    async with OrderDesk(first, store, notifier=notifier, clock=clock, config=DAYS) as desk:
        resting = await desk.submit(limit_buy(INFY, Product.CNC, 10, "1510"))
        await eventually(lambda: resting.status is OrderStatus.OPEN, what="resting")

    clock.set(TUESDAY, 11, 30)
    again = restarted(clock, tmp_path, INFY="1505")
    async with OrderDesk(again, store, notifier=notifier, clock=clock, config=DAYS) as desk:
        assert desk.startup_report is not None
        assert desk.startup_report.ok, desk.startup_report.rows
        await eventually(
            lambda: desk.orders()[0].status is OrderStatus.FILLED, what="the fill recorded"
        )
        await desk.idle()
    assert [e for e in store.events() if isinstance(e, ReconciliationMismatch)] == []


def limit_buy(instrument: InstrumentKey, product: Product, quantity: int, price: str) -> Signal:
    return Signal(
        instrument=instrument,
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        product=product,
        price=Decimal(price),
        signal_id="rest",
    )


async def test_a_desk_holds_an_amo_overnight_and_sees_it_fill_at_the_open(
    tmp_path: Path,
) -> None:
    """Through the desk: an AMO market buy placed Tuesday 20:00 is taken and not filled; the
    books agree that night and Wednesday after the open, when it has filled."""
    clock = WallClock(datetime(2026, 12, 8, 20, 0, tzinfo=IST))
    store, notifier = MemoryStore(), RecordingNotifier()
    broker = restarted(clock, tmp_path)
    amo = Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=2,
        order_type=OrderType.MARKET,
        product=Product.CNC,
        variety=Variety.AMO,
        signal_id="amo",
    )
    async with OrderDesk(broker, store, notifier=notifier, clock=clock, config=DAYS) as desk:
        handle = await desk.submit(amo)
        await eventually(lambda: handle.status is OrderStatus.ACCEPTED, what="the AMO taken")
        assert (await desk.reconcile()).ok
        assert await broker.trades() == []
        clock.set(WEDNESDAY, 9, 20)
        await eventually(lambda: desk.trading_day == WEDNESDAY, what="Wednesday opened")
        report = await desk.reconcile()
        assert report.ok, report.rows
        await eventually(lambda: handle.status is OrderStatus.FILLED, what="filled at the open")
    assert [e for e in store.events() if isinstance(e, ReconciliationMismatch)] == []
