"""The broker's square-off in the desk's alerts: a warning ahead of it, and the cutoff's alert.

An operator's walk found "Broker square-off time" after the broker's square-off fills, about
positions they had already closed, or not at all (the fills came in before the clock's look at
the cutoff, which then found nothing open), and no warning while the positions could still be
converted or exited. The desk's clock loop is kept idle here (a timer of an hour): each test
moves the clock and looks at it itself (``days.tick()``), so which comes first, the broker's
fills or the look at the cutoff, is the test's to choose.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from orderdesk.config import TradingDaySettings
from orderdesk.domain import Product, Side
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import DeskConfig, OrderDesk, RiskLimits
from orderdesk.engine.config import DayRules
from orderdesk.engine.days import TradingDays
from orderdesk.ports.notifier import Alert, Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import INFY, NIFTY_FUT, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import WallClock, eventually

SBIN = InstrumentKey.parse("NSE:SBIN")
MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
IDLE = replace(FAST, clock_interval=3600.0)
"""The clock loop never looks by itself: the test does, with ``days.tick()``."""


def config(
    *, own_square_off_minutes: int = 0, square_off_warning: timedelta = timedelta(minutes=10)
) -> DeskConfig:
    rules = DayRules(
        calendar=TradingCalendar(frozenset()),
        own_square_off_minutes=own_square_off_minutes,
        square_off_warning=square_off_warning,
    )
    return replace(IDLE, days=rules)


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


@pytest.fixture
def broker() -> FakeBroker:
    broker = FakeBroker()
    broker.infos.append(replace(broker.infos[0], instrument=SBIN, instrument_token=779521))
    broker.prices[SBIN] = Decimal("800")
    return broker


def open_desk(
    broker: FakeBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
    desk_config: DeskConfig | None = None,
) -> OrderDesk:
    return OrderDesk(
        broker,
        store,
        notifier=notifier,
        clock=clock,
        config=desk_config or config(),
        limits=RiskLimits(),
    )


def days_of(desk: OrderDesk) -> TradingDays:
    assert desk.days is not None
    return desk.days


def titled(notifier: RecordingNotifier, title: str) -> list[Alert]:
    return [alert for alert in notifier.alerts if alert.title == title]


async def buy(desk: OrderDesk, instrument: InstrumentKey, quantity: int, product: Product) -> None:
    handle = await desk.submit(
        signal(
            instrument=instrument,
            quantity=quantity,
            product=product,
            signal_id=f"{instrument}-{product}-{quantity}",
        )
    )
    await handle.wait()


async def squared_off_by_the_broker(
    desk: OrderDesk, broker: FakeBroker, clock: WallClock, lines: dict[InstrumentKey, int]
) -> None:
    """The broker's square-off at 15:20 of each line's MIS position, its fills in the book."""
    at = datetime.combine(clock.at.date(), time(15, 20), tzinfo=IST)
    for instrument, quantity in lines.items():
        sell = signal(instrument=instrument, side=Side.SELL, quantity=quantity, product=Product.MIS)
        broker.create(sell, tag=None, placed_at=at)
    await eventually(
        lambda: all(desk.position(i, Product.MIS).quantity == 0 for i in lines),
        what="the broker's square-off applied",
    )


async def test_a_warning_lists_the_intraday_positions_ten_minutes_ahead(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """At 15:10 one warning lists the equity MIS positions the 15:20 square-off will close,
    with how to carry or exit them; a CNC or NRML line is not listed, derivatives with no
    MIS/CO say nothing, and later looks do not repeat it."""
    async with open_desk(broker, store, clock, notifier) as desk:
        await buy(desk, INFY, 81, Product.MIS)
        await buy(desk, SBIN, 77, Product.MIS)
        await buy(desk, INFY, 5, Product.CNC)
        await buy(desk, NIFTY_FUT, 75, Product.NRML)
        days = days_of(desk)
        clock.set(MONDAY, 15, 9)
        await days.tick()
        assert titled(notifier, "Broker square-off soon") == []
        for minute in (10, 15, 19):
            clock.set(MONDAY, 15, minute)
            await days.tick()
    (warning,) = titled(notifier, "Broker square-off soon")
    assert warning.body.startswith("equity: at 15:20 IST the broker squares off")
    assert "NSE:INFY MIS 81, NSE:SBIN MIS 77." in warning.body
    assert "CNC 5" not in warning.body
    assert "NIFTY" not in warning.body
    assert "`orderdesk convert NSE:INFY --from MIS --to CNC`" in warning.body
    assert "`orderdesk exit NSE:INFY --product MIS`" in warning.body
    assert titled(notifier, "Broker square-off time") == []


async def test_a_position_opened_in_the_window_is_warned_of_then(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """No MIS position at 15:10: nothing said; one bought at 15:12 is warned of at 15:12."""
    async with open_desk(broker, store, clock, notifier) as desk:
        days = days_of(desk)
        clock.set(MONDAY, 15, 10)
        await days.tick()
        assert titled(notifier, "Broker square-off soon") == []
        clock.set(MONDAY, 15, 12)
        await buy(desk, INFY, 3, Product.MIS)
        await days.tick()
    (warning,) = titled(notifier, "Broker square-off soon")
    assert "NSE:INFY MIS 3." in warning.body


async def test_no_warning_when_it_is_switched_off(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """``square_off_warning`` of zero: no warning before the cutoff, its alert still after."""
    desk_config = config(square_off_warning=timedelta(0))
    async with open_desk(broker, store, clock, notifier, desk_config) as desk:
        await buy(desk, INFY, 81, Product.MIS)
        days = days_of(desk)
        for minute in (10, 19, 21):
            clock.set(MONDAY, 15, minute)
            await days.tick()
    assert titled(notifier, "Broker square-off soon") == []
    assert len(titled(notifier, "Broker square-off time")) == 1


async def test_with_the_desks_own_square_off_the_warning_names_it(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """An own square-off 5 minutes ahead: the 15:10 warning says it exits them at 15:15; one
    10 minutes ahead leaves the telling to that square-off."""
    async with open_desk(broker, store, clock, notifier, config(own_square_off_minutes=5)) as desk:
        await buy(desk, INFY, 81, Product.MIS)
        clock.set(MONDAY, 15, 10)
        await days_of(desk).tick()
    (warning,) = titled(notifier, "Broker square-off soon")
    assert "the desk's own square-off exits them first, at 15:15" in warning.body
    notifier.alerts.clear()
    async with open_desk(broker, store, clock, notifier, config(own_square_off_minutes=10)) as desk:
        assert desk.position(INFY, Product.MIS).quantity == 81
        await days_of(desk).tick()
    assert titled(notifier, "Broker square-off soon") == []


async def test_the_cutoff_alert_lists_what_the_brokers_fills_already_closed(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """The clock jumps 15:10 to 15:21 and the broker's square-off fills come in before the
    desk looks at the clock: "Broker square-off time" is still raised, listing the positions
    as they were at 15:20, and says none is open now: an INFO, since each fill was a warning
    of its own."""
    async with open_desk(broker, store, clock, notifier) as desk:
        await buy(desk, INFY, 81, Product.MIS)
        await buy(desk, SBIN, 77, Product.MIS)
        clock.set(MONDAY, 15, 21)
        await squared_off_by_the_broker(desk, broker, clock, {INFY: 81, SBIN: 77})
        assert len(titled(notifier, "Squared off by the broker")) == 2
        await days_of(desk).tick()
        await days_of(desk).tick()
    (alert,) = titled(notifier, "Broker square-off time")
    assert alert.body.startswith("equity: 15:20 IST, the broker's square-off time, has come")
    assert "positions open: NSE:INFY MIS 81, NSE:SBIN MIS 77." in alert.body
    assert alert.body.endswith("still open now: none (their fills have come in)")
    assert alert.severity is Severity.INFO


async def test_the_cutoff_alert_before_the_fills_says_what_is_still_open(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """The look at 15:20 before the broker's fills: the positions open then, all still open."""
    async with open_desk(broker, store, clock, notifier) as desk:
        await buy(desk, INFY, 81, Product.MIS)
        clock.set(MONDAY, 15, 20)
        await days_of(desk).tick()
    (alert,) = titled(notifier, "Broker square-off time")
    assert "positions open: NSE:INFY MIS 81." in alert.body
    assert alert.body.endswith("still open now: NSE:INFY MIS 81")
    assert alert.severity is Severity.WARNING


async def test_the_cutoff_alert_comes_every_day_there_are_positions(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Monday and Tuesday each end with their own square-off, fills first on both days: each
    day has its "Broker square-off time", each under its own key."""
    async with open_desk(broker, store, clock, notifier) as desk:
        days = days_of(desk)
        for day, quantity in ((MONDAY, 81), (TUESDAY, 10)):
            if day == TUESDAY:
                broker.next_day()
                clock.set(TUESDAY, 9, 30)
                await days.tick()
                assert desk.trading_day == TUESDAY
            await buy(desk, INFY, quantity, Product.MIS)
            clock.set(day, 15, 21)
            await squared_off_by_the_broker(desk, broker, clock, {INFY: quantity})
            await days.tick()
    alerts = titled(notifier, "Broker square-off time")
    assert [a.body.split("open: ")[1].split(".")[0] for a in alerts] == [
        "NSE:INFY MIS 81",
        "NSE:INFY MIS 10",
    ]
    assert [a.key for a in alerts] == [
        "square_off:2026-12-07:equity",
        "square_off:2026-12-08:equity",
    ]


async def test_a_desk_started_after_the_fills_does_not_tell_them_again(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> None:
    """Restarted at 15:30 after the broker's square-off was told: its replayed fills are not
    a new "Broker square-off time"."""
    async with open_desk(broker, store, clock, notifier) as desk:
        await buy(desk, INFY, 81, Product.MIS)
        clock.set(MONDAY, 15, 21)
        await squared_off_by_the_broker(desk, broker, clock, {INFY: 81})
        await days_of(desk).tick()
    assert len(titled(notifier, "Broker square-off time")) == 1
    clock.set(MONDAY, 15, 30)
    async with open_desk(broker, store, clock, notifier) as again:
        await days_of(again).tick()
    assert len(titled(notifier, "Broker square-off time")) == 1


def test_the_warning_is_configured_in_minutes() -> None:
    """``[trading_day] square_off_warning_minutes``: 10 by default, 0 switches it off."""
    assert TradingDaySettings().rules().square_off_warning == timedelta(minutes=10)
    rules = TradingDaySettings(square_off_warning_minutes=0).rules()
    assert rules.square_off_warning == timedelta(0)
