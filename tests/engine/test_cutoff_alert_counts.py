"""The quantities in "Broker square-off time" when the broker's trade book trails its order book.

An operator's walk on the simulator found the cutoff's alert doubling the positions and calling
closed ones still open: "has come with these MIS/CO positions open: NSE:SBIN MIS 20, NSE:TCS
MIS -4 … still open now: NSE:SBIN MIS 10, NSE:TCS MIS -2" for SBIN 10 and TCS -2, both squared
off. The square-off orders were in the book as filled (their "Squared off by the broker" had
come) before their trades were read: taking back the reported filled quantity counted the
lines twice, and the positions the fills had not yet moved were called still open.

The desk's clock loop is kept idle (a timer of an hour): each test moves the clock and looks at
it itself (``days.tick()``), and the broker's trades come in when the test says.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal

import pytest

from orderdesk.domain import Fill, Product, Side
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import DayRules
from orderdesk.engine.days import TradingDays
from orderdesk.ports.notifier import Alert, Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import WallClock, eventually

SBIN = InstrumentKey.parse("NSE:SBIN")
MONDAY = date(2026, 12, 7)
LINES = {SBIN: 10, INFY: -2}
"""The day's MIS positions at the cutoff: long SBIN 10, short INFY 2."""
CONFIG = replace(FAST, clock_interval=3600.0, days=DayRules(calendar=TradingCalendar(frozenset())))
"""The clock loop never looks by itself: the test does, with ``days.tick()``."""


@dataclass
class TrailingTradesBroker(FakeBroker):
    """A broker whose trade book trails its order book while ``trailing``: an order is reported
    filled at once, its trades are neither listed nor streamed until :meth:`catch_up`."""

    trailing: bool = False
    trailed: list[Fill] = field(default_factory=list)

    def fill(self, broker_order_id: str, quantity: int | None = None) -> Fill:
        if not self.trailing:
            return super().fill(broker_order_id, quantity)
        dropping, self.drop_fills = self.drop_fills, True
        try:
            made = super().fill(broker_order_id, quantity)
        finally:
            self.drop_fills = dropping
        self.trade_book.remove(made)
        self.trailed.append(made)
        return made

    def catch_up(self) -> None:
        """The trades held back are listed and streamed."""
        self.trailing = False
        for made in self.trailed:
            self.trade_book.append(made)
            self.emit(made)
        self.trailed.clear()


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 9, 30, tzinfo=IST))


@pytest.fixture
def broker() -> TrailingTradesBroker:
    broker = TrailingTradesBroker()
    broker.infos.append(replace(broker.infos[0], instrument=SBIN, instrument_token=779521))
    broker.prices[SBIN] = Decimal("800")
    return broker


def open_desk(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> OrderDesk:
    return OrderDesk(
        broker, store, notifier=notifier, clock=clock, config=CONFIG, limits=RiskLimits()
    )


def days_of(desk: OrderDesk) -> TradingDays:
    assert desk.days is not None
    return desk.days


def titled(notifier: RecordingNotifier, title: str) -> list[Alert]:
    return [alert for alert in notifier.alerts if alert.title == title]


async def hold_the_lines(desk: OrderDesk) -> None:
    """Open :data:`LINES` as MIS positions through the desk."""
    for instrument, quantity in LINES.items():
        side = Side.BUY if quantity > 0 else Side.SELL
        handle = await desk.submit(
            signal(
                instrument=instrument,
                side=side,
                quantity=abs(quantity),
                product=Product.MIS,
                signal_id=f"{instrument}-MIS",
            )
        )
        await handle.wait()
    for instrument, quantity in LINES.items():
        assert desk.position(instrument, Product.MIS).quantity == quantity


async def squared_off(
    desk: OrderDesk,
    broker: FakeBroker,
    notifier: RecordingNotifier,
    lines: dict[InstrumentKey, int],
) -> None:
    """The broker squares off ``lines`` at 15:20 with market orders, each recorded as filled
    in the desk's book and told (its trades may still trail)."""
    at = datetime.combine(MONDAY, time(15, 20), tzinfo=IST)
    made = {
        broker.create(
            signal(
                instrument=instrument,
                side=Side.SELL if quantity > 0 else Side.BUY,
                quantity=abs(quantity),
                product=Product.MIS,
            ),
            tag=None,
            placed_at=at,
        )
        for instrument, quantity in lines.items()
    }

    def reported_filled() -> bool:
        ours = [o for o in desk.orders() if o.broker_order_id in made]
        return len(ours) == len(made) and all(o.filled_quantity == o.quantity for o in ours)

    await eventually(reported_filled, what="the square-off orders recorded as filled")

    def told() -> bool:
        alerted = {a.order_id for a in titled(notifier, "Squared off by the broker")}
        return {o.order_id for o in desk.orders() if o.broker_order_id in made} <= alerted

    await eventually(told, what="each square-off told")


async def all_flat(desk: OrderDesk) -> None:
    await eventually(
        lambda: all(desk.position(i, Product.MIS).quantity == 0 for i in LINES),
        what="the square-off's fills applied",
    )


async def test_fills_read_after_the_look_are_not_counted_twice(
    broker: TrailingTradesBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
) -> None:
    """The square-off orders are in the book as filled, their trades not yet read, when the
    desk looks at 15:21: the alert lists SBIN 10 and INFY -2 (not 20 and -4) and none still
    open (the broker closed both); the trades read later add no second alert."""
    async with open_desk(broker, store, clock, notifier) as desk:
        await hold_the_lines(desk)
        clock.set(MONDAY, 15, 21)
        broker.trailing = True
        await squared_off(desk, broker, notifier, LINES)
        assert desk.position(SBIN, Product.MIS).quantity == 10  # the trades trail
        await days_of(desk).tick()
        broker.catch_up()
        await all_flat(desk)
        await days_of(desk).tick()
    (alert,) = titled(notifier, "Broker square-off time")
    assert "positions open: NSE:SBIN MIS 10, NSE:INFY MIS -2." in alert.body
    assert alert.body.endswith("still open now: none (their fills have come in)")
    assert alert.severity is Severity.INFO


async def test_fills_applied_before_the_look_are_taken_back_once(
    broker: TrailingTradesBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
) -> None:
    """The square-off's trades are all in the positions before the desk looks at 15:21: the
    alert lists the lines as they stood at 15:20, none still open (a guard: the old code was
    right here too)."""
    async with open_desk(broker, store, clock, notifier) as desk:
        await hold_the_lines(desk)
        clock.set(MONDAY, 15, 21)
        await squared_off(desk, broker, notifier, LINES)
        await all_flat(desk)
        await days_of(desk).tick()
    (alert,) = titled(notifier, "Broker square-off time")
    assert "positions open: NSE:SBIN MIS 10, NSE:INFY MIS -2." in alert.body
    assert alert.body.endswith("still open now: none (their fills have come in)")
    assert alert.severity is Severity.INFO


async def test_one_line_read_and_one_trailing_are_each_counted_once(
    broker: TrailingTradesBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
) -> None:
    """SBIN's square-off trades are in the positions, INFY's still trail at the look: each
    line is listed at its quantity at 15:20, and neither is still open."""
    async with open_desk(broker, store, clock, notifier) as desk:
        await hold_the_lines(desk)
        clock.set(MONDAY, 15, 21)
        await squared_off(desk, broker, notifier, {SBIN: 10})
        await eventually(
            lambda: desk.position(SBIN, Product.MIS).quantity == 0, what="SBIN's fill applied"
        )
        broker.trailing = True
        await squared_off(desk, broker, notifier, {INFY: -2})
        assert desk.position(INFY, Product.MIS).quantity == -2  # its trades trail
        await days_of(desk).tick()
        broker.catch_up()
        await all_flat(desk)
    (alert,) = titled(notifier, "Broker square-off time")
    assert "positions open: NSE:SBIN MIS 10, NSE:INFY MIS -2." in alert.body
    assert alert.body.endswith("still open now: none (their fills have come in)")


async def test_a_line_the_broker_has_not_filled_is_still_open(
    broker: TrailingTradesBroker,
    store: MemoryStore,
    clock: WallClock,
    notifier: RecordingNotifier,
) -> None:
    """SBIN's square-off is reported filled (its trades trailing), INFY's not placed yet at
    the look: INFY is the one line still open, and the alert is a warning."""
    async with open_desk(broker, store, clock, notifier) as desk:
        await hold_the_lines(desk)
        clock.set(MONDAY, 15, 21)
        broker.trailing = True
        await squared_off(desk, broker, notifier, {SBIN: 10})
        await days_of(desk).tick()
    (alert,) = titled(notifier, "Broker square-off time")
    assert "positions open: NSE:SBIN MIS 10, NSE:INFY MIS -2." in alert.body
    assert alert.body.endswith("still open now: NSE:INFY MIS -2")
    assert alert.severity is Severity.WARNING
