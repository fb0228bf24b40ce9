"""A modify or a cancel while the broker session is gone (after the 06:00 expiry, before the
login) is refused for the session, as a new signal is, before any check or record: before the
login no prices stream, so the price band could only say it has no price, which blamed the
band for what the login fixes. Nothing is sent or written, and after the login the same
command goes through; the price band itself still refuses what it refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.errors import CommandRefused, SessionExpired
from orderdesk.errors import BrokerAuthError, RiskDenied
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import AUTH, INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

BAND = RiskLimits(price_band_percent=Decimal(10))


@asynccontextmanager
async def running(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> AsyncIterator[OrderDesk]:
    async with OrderDesk(broker, store, notifier=notifier, config=FAST, limits=BAND) as desk:
        yield await settled(desk)


async def _resting(desk: OrderDesk, signal_id: str) -> str:
    """A working LIMIT buy of 10 INFY at 1,490 (the broker's quote 1,500; no tick streamed)."""
    handle = await desk.submit(
        signal(order_type=OrderType.LIMIT, price=Decimal(1490), signal_id=signal_id)
    )
    await eventually(lambda: handle.status is OrderStatus.OPEN, what="resting")
    return handle.order_id


async def _lose_the_session(
    desk: OrderDesk, broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    """Yesterday's token: the broker refuses it everywhere (quotes too, so no price is left to
    read), and the desk learns it from a refused placement, as it does after 06:00; returns
    once the desk has recorded and alerted the loss."""
    broker.token_dead = True
    broker.script = [AUTH]
    with pytest.raises(SessionExpired):
        await desk.submit(signal(signal_id="after-expiry"))
    assert not desk.session_info().usable
    await eventually(
        lambda: "Broker session ended" in notifier.titles(Severity.CRITICAL),
        what="the loss recorded and alerted",
    )


async def test_a_modify_without_a_session_is_refused_for_the_session_not_the_price_band(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """`modify --price 1491` without a session raises SessionExpired saying to log in (not
    price_band's "no last price"), sends and records nothing, and goes through after the
    login; with a session and no price to be had, the band still denies a new price."""
    async with running(broker, store, notifier) as desk:
        order_id = await _resting(desk, "rest-1")
        await _lose_the_session(desk, broker, notifier)
        rows = len(store.rows)

        with pytest.raises(SessionExpired) as refused:
            await desk.modify(order_id, price=Decimal(1491))

        assert "log in" in str(refused.value)
        assert broker.modify_calls == 0
        assert [row.type for row in store.rows[rows:]] == []  # no SignalDenied, no request
        assert not [title for title in notifier.titles() if "denied by price_band" in title]
        order = desk.order(order_id)
        assert (order.status, order.price, order.modifications) == (
            OrderStatus.OPEN,
            Decimal(1490),
            0,
        )

        await desk.renew_session("fresh-token")
        handle = await desk.modify(order_id, price=Decimal(1491))
        await eventually(lambda: handle.order.price == Decimal(1491), what="modified")

        del broker.prices[INFY]  # the session is back, a price is not
        with pytest.raises(RiskDenied) as denied:
            await desk.modify(order_id, price=Decimal(1492))
        assert denied.value.check == "price_band"
        assert "no last price" in denied.value.reason
        assert broker.modify_calls == 1


async def test_a_cancel_without_a_session_is_refused_before_anything_is_recorded(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """`cancel` and `cancel-all` without a session raise SessionExpired, send and record
    nothing, and leave the order working; a filled order is still answered for its state; after
    the login the cancel goes through."""
    async with running(broker, store, notifier) as desk:
        filled = await desk.submit(signal(signal_id="filled"))
        await filled.wait()
        order_id = await _resting(desk, "rest-3")
        await _lose_the_session(desk, broker, notifier)
        rows = len(store.rows)

        with pytest.raises(SessionExpired) as one:
            await desk.cancel(order_id)
        with pytest.raises(SessionExpired) as every:
            await desk.cancel_all()

        assert "log in" in str(one.value)
        assert "log in" in str(every.value)
        assert broker.cancel_calls == 0
        assert [row.type for row in store.rows[rows:]] == []
        assert desk.order(order_id).status is OrderStatus.OPEN
        with pytest.raises(CommandRefused) as ended:
            await desk.cancel(filled.order_id)
        assert str(ended.value) == f"order {filled.order_id} is filled; nothing to cancel"

        await desk.renew_session("fresh-token")
        handle = await desk.cancel(order_id)
        await eventually(lambda: handle.status is OrderStatus.CANCELLED, what="cancelled")


async def test_a_cancel_the_broker_refuses_for_the_session_ends_the_session_at_once(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The desk thought the session usable; the broker refuses the cancel for it: the session
    ends there (recorded and alerted), not at the next placement, so what follows is refused
    as a session problem before anything is recorded."""
    async with running(broker, store, notifier) as desk:
        order_id = await _resting(desk, "rest")
        broker.token_dead = True
        with pytest.raises(BrokerAuthError):
            await desk.cancel(order_id)
        assert not desk.session_info().usable
        await eventually(
            lambda: "Broker session ended" in notifier.titles(Severity.CRITICAL),
            what="the loss recorded and alerted",
        )
        with pytest.raises(SessionExpired):
            await desk.submit(signal(signal_id="after"))
