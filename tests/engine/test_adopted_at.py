"""An adopted order is dated by the broker's row, within the day it is adopted into."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.domain.reports import OrderStatusReport
from orderdesk.engine import OrderDesk
from orderdesk.engine.adoption import adopted_at
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

CALENDAR = TradingCalendar()
NOW = datetime(2026, 12, 7, 14, 0, tzinfo=IST)  # a Monday


def _report(broker: FakeBroker, stamped: datetime | None) -> OrderStatusReport:
    order_id = broker.create(signal(), tag=None, placed_at=stamped)
    return broker.book[order_id].report


def test_the_rows_time_dates_an_order_of_the_same_day_and_nothing_else() -> None:
    broker = FakeBroker()
    morning = datetime(2026, 12, 7, 10, 0, tzinfo=IST)
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=IST)
    before_six = datetime(2026, 12, 7, 5, 59, tzinfo=IST)  # still Friday's trading day
    later = NOW + timedelta(seconds=2)  # the broker's clock ahead of the desk's
    assert adopted_at(_report(broker, morning), NOW, CALENDAR) == morning
    assert adopted_at(_report(broker, friday), NOW, CALENDAR) == NOW
    assert adopted_at(_report(broker, before_six), NOW, CALENDAR) == NOW
    assert adopted_at(_report(broker, later), NOW, CALENDAR) == NOW
    assert adopted_at(_report(broker, None), NOW, CALENDAR) == NOW
    # Without trading days, the IST date decides.
    assert adopted_at(_report(broker, before_six), NOW, None) == before_six


async def test_an_order_placed_while_the_desk_was_down_keeps_its_time(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A desk that starts after an order was placed on Kite web shows it at the broker's time,
    not at the start's."""
    broker = FakeBroker()
    placed = datetime.now(UTC) - timedelta(seconds=5)
    external_id = broker.create(
        signal(order_type=OrderType.LIMIT, price=Decimal("1490")), tag=None, placed_at=placed
    )
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await eventually(lambda: external_id in desk.book.by_broker_id)
        adopted = desk.book.by_broker_id[external_id]
    assert adopted.external
    assert adopted.status is OrderStatus.OPEN
    assert adopted.created_at == placed
