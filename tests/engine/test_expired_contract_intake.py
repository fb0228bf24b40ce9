"""A contract that expired today is refused at intake once its session is over (an operator's
walk: after the NIFTY monthly settled, an AMO and an exit in it were taken; the AMO was
rejected only at the next open, and the exit was sent, rejected, and alerted "act now" for a
position already settled). On its expiry day, while its market is open, it trades as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

import pytest

from orderdesk.domain import OrderType, Product, Variety
from orderdesk.domain.calendar import IST
from orderdesk.domain.errors import ValidationError
from orderdesk.engine import OrderDesk
from tests.engine.fakes import NIFTY_CE, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.engine.test_days import MONDAY, open_desk
from tests.support import WallClock


@pytest.fixture
def clock() -> WallClock:
    return WallClock(datetime(2026, 12, 7, 15, 0, tzinfo=IST))


@pytest.fixture
def broker() -> FakeBroker:
    """The fake broker with its NIFTY call expiring on Monday."""
    return FakeBroker().expiring(NIFTY_CE, MONDAY)


@pytest.fixture
async def desk(
    broker: FakeBroker, store: MemoryStore, clock: WallClock, notifier: RecordingNotifier
) -> AsyncIterator[OrderDesk]:
    async with open_desk(broker, store, clock, notifier) as running:
        yield running


def call(**overrides: object) -> object:
    terms: dict[str, object] = {
        "instrument": NIFTY_CE,
        "quantity": 75,
        "product": Product.NRML,
        "order_type": OrderType.LIMIT,
        "price": Decimal("100"),
    }
    return signal(**(terms | overrides))


async def test_an_expired_contract_is_refused_after_its_close(
    desk: OrderDesk, broker: FakeBroker, clock: WallClock
) -> None:
    handle = await desk.submit(call(signal_id="before-close"))  # type: ignore[arg-type]
    assert handle.order.broker_order_id is not None
    placed = len(broker.placements)

    clock.set(MONDAY, 16, 30)
    with pytest.raises(ValidationError) as amo:
        await desk.submit(call(signal_id="amo", variety=Variety.AMO))  # type: ignore[arg-type]
    assert amo.value.field == "instrument"
    assert "expired on 2026-12-07" in amo.value.reason
    assert "Tue 2026-12-08" in amo.value.reason
    with pytest.raises(ValidationError, match="expired on 2026-12-07"):
        await desk.exit_position(NIFTY_CE, product=Product.NRML)
    assert len(broker.placements) == placed


async def test_the_next_morning_an_expired_contract_is_said_to_have_expired(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """The next day's list no longer holds it: a signal in it is refused as expired (it read
    "unknown instrument", as a typo does, for a position the desk showed the day before)."""
    broker.infos = [info for info in broker.infos if info.instrument != NIFTY_CE]
    await desk.master.refresh()
    with pytest.raises(ValidationError) as refused:
        await desk.submit(call(signal_id="next-day"))  # type: ignore[arg-type]
    assert refused.value.reason == f"{NIFTY_CE} expired on 2026-12-07: it no longer trades"
