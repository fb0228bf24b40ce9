"""An exit cancels the orders still working in its line first, so that none of them can fill
after it and open the opposite position.

The operator walk that found it: long +65 NRML with a working SELL SL-M of 65 on it,
``orderdesk exit NSE:X --product NRML`` placed a SELL 65 at market, which filled; the stop
triggered later and filled too, and the account was short 65. The dashboard's Exit button
cancelled the working orders first (in its JavaScript); the CLI and the HTTP API did not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.handle import OrderHandle
from orderdesk.errors import ExitBlocked, OrderRejected
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, NIFTY_CE, FakeBroker, MemoryStore, RecordingNotifier, signal

NRML = Product.NRML
MIS = Product.MIS
LOT = 75


@asynccontextmanager
async def running(broker: FakeBroker, store: MemoryStore) -> AsyncIterator[OrderDesk]:
    desk = OrderDesk(broker, store, notifier=RecordingNotifier(), config=FAST, limits=RiskLimits())
    async with desk:
        yield await settled(desk)


def stop(quantity: int = LOT, **overrides: Any) -> Signal:
    """A SELL SL-M of the call below the market: the stop-loss of a long (the fake broker
    rests it until told to fill it)."""
    fields: dict[str, Any] = {
        "instrument": NIFTY_CE,
        "side": Side.SELL,
        "quantity": quantity,
        "order_type": OrderType.SL_M,
        "trigger_price": Decimal("90"),
        "product": NRML,
    }
    return signal(**{**fields, **overrides})


def infy_stop(quantity: int, **overrides: Any) -> Signal:
    """A SELL SL-M of INFY MIS below the market."""
    fields: dict[str, Any] = {
        "side": Side.SELL,
        "quantity": quantity,
        "order_type": OrderType.SL_M,
        "trigger_price": Decimal(1400),
    }
    return signal(**{**fields, **overrides})


async def bought(desk: OrderDesk, **overrides: Any) -> None:
    fields: dict[str, Any] = {"instrument": NIFTY_CE, "quantity": LOT, "product": NRML}
    handle = await desk.submit(signal(**{**fields, **overrides}))
    await handle.wait()
    assert handle.status is OrderStatus.FILLED


async def resting(desk: OrderDesk, order: Signal) -> OrderHandle:
    handle = await desk.submit(order)
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    return handle


def market_sells(broker: FakeBroker) -> list[int]:
    return [
        p.signal.quantity
        for p in broker.placements
        if p.signal.side is Side.SELL and p.signal.order_type is OrderType.MARKET
    ]


async def test_the_walk_the_exit_cancels_the_working_stop_so_it_cannot_fill_after(
    broker: FakeBroker, store: MemoryStore
) -> None:
    """Long 75 NRML with a SELL SL-M 75 working: the exit cancels the stop (confirmed) before
    it sells 75, so the account ends flat and no stop is left to make it short."""
    async with running(broker, store) as desk:
        await bought(desk)
        sl = await resting(desk, stop())
        exit_ = await desk.exit_position(NIFTY_CE, product=NRML)
        assert exit_ is not None
        await exit_.wait()
    assert sl.status is OrderStatus.CANCELLED
    (sl_at_broker,) = sl.broker_order_ids
    assert broker.report(sl_at_broker).status.value == "CANCELLED"
    assert (exit_.status, exit_.order.quantity) == (OrderStatus.FILLED, LOT)
    assert broker.net(NIFTY_CE, NRML) == 0


async def test_the_result_names_what_was_cancelled_and_other_lines_are_left(
    broker: FakeBroker, store: MemoryStore
) -> None:
    """Only the line's working orders go (a stop and a resting sale), not another product's
    or another instrument's; the result lists them in the book's order."""
    async with running(broker, store) as desk:
        await bought(desk, quantity=2 * LOT)
        await bought(desk, product=MIS)
        await (await desk.submit(signal(quantity=10))).wait()  # INFY MIS
        sl = await resting(desk, stop())
        sale = await resting(
            desk, stop(order_type=OrderType.LIMIT, price=Decimal(120), trigger_price=None)
        )
        mis_stop = await resting(desk, stop(product=MIS))
        other = await resting(desk, infy_stop(10))
        placed = await desk.exit_position_result(NIFTY_CE, product=NRML)
        assert placed.handle is not None
        await placed.handle.wait()
    assert placed.cancelled == (sl.order_id, sale.order_id)
    assert placed.handle.order.quantity == 2 * LOT
    assert (sl.status, sale.status) == (OrderStatus.CANCELLED, OrderStatus.CANCELLED)
    assert (mis_stop.status, other.status) == (OrderStatus.OPEN, OrderStatus.OPEN)
    assert broker.net(NIFTY_CE, NRML) == 0


async def test_a_strategys_exit_cancels_its_own_working_orders_only(
    broker: FakeBroker, store: MemoryStore
) -> None:
    """Alpha's exit of its 4 cancels alpha's stop and leaves beta's stop on beta's 6."""
    async with running(broker, store) as desk:
        await (await desk.submit(signal(strategy="alpha", quantity=4))).wait()
        await (await desk.submit(signal(strategy="beta", quantity=6))).wait()
        alphas = await resting(desk, infy_stop(4, strategy="alpha"))
        betas = await resting(desk, infy_stop(6, strategy="beta"))
        exit_ = await desk.exit_position(INFY, product=MIS, strategy="alpha")
        assert exit_ is not None
        await exit_.wait()
    assert (alphas.status, betas.status) == (OrderStatus.CANCELLED, OrderStatus.OPEN)
    assert (exit_.status, exit_.order.quantity) == (OrderStatus.FILLED, 4)
    assert broker.net(INFY, MIS) == 6


class StuckCancels(FakeBroker):
    """A broker that refuses every cancel of an order still open (as Kite does while an
    exchange holds it), leaving the order working."""

    async def cancel_order(
        self, broker_order_id: str, variety: Any, *, parent_order_id: str | None = None
    ) -> None:
        self.cancel_calls += 1
        raise OrderRejected("The order could not be cancelled at the exchange", http_status=400)


async def test_a_stop_that_cannot_be_cancelled_stops_the_exit_naming_it(
    store: MemoryStore,
) -> None:
    """The stop's cancel is refused and it stays working: nothing is placed, and the error
    names the stop and why."""
    broker = StuckCancels()
    async with running(broker, store) as desk:
        await bought(desk)
        sl = await resting(desk, stop())
        with pytest.raises(ExitBlocked) as blocked:
            await desk.exit_position(NIFTY_CE, product=NRML)
        assert sl.status is OrderStatus.OPEN
    assert blocked.value.order_ids == [sl.order_id]
    assert str(blocked.value) == (
        f"exit of {NIFTY_CE} NRML not placed: order {sl.order_id} is still working: its "
        "cancel failed (OrderRejected: The order could not be cancelled at the exchange); the "
        "position is unchanged. Cancel the working orders there and exit again (or exit "
        "keeping them working)"
    )
    assert market_sells(broker) == []
    assert broker.net(NIFTY_CE, NRML) == LOT


class FillsOnCancel(FakeBroker):
    """A broker at which the stop triggers and fills just as its cancel arrives: the cancel is
    refused because the order is complete."""

    async def cancel_order(
        self, broker_order_id: str, variety: Any, *, parent_order_id: str | None = None
    ) -> None:
        self.fill(broker_order_id)
        await super().cancel_order(broker_order_id, variety, parent_order_id=parent_order_id)


async def test_a_stop_that_fills_instead_of_cancelling_leaves_nothing_to_exit(
    store: MemoryStore,
) -> None:
    """The stop filled while its cancel was asked: the exit reads the broker's position after
    it, finds the account flat, and places nothing."""
    broker = FillsOnCancel()
    async with running(broker, store) as desk:
        await bought(desk)
        sl = await resting(desk, stop())
        exit_ = await desk.exit_position(NIFTY_CE, product=NRML)
    assert exit_ is None
    assert sl.status is OrderStatus.FILLED
    assert market_sells(broker) == []
    assert broker.net(NIFTY_CE, NRML) == 0


async def test_keeping_the_working_orders_is_the_old_exit(
    broker: FakeBroker, store: MemoryStore
) -> None:
    """``cancel_working=False``: the stop stays working beside the exit, and nothing is listed
    as cancelled."""
    async with running(broker, store) as desk:
        await bought(desk)
        sl = await resting(desk, stop())
        placed = await desk.exit_position_result(NIFTY_CE, product=NRML, cancel_working=False)
        assert placed.handle is not None
        await placed.handle.wait()
    assert placed.cancelled == ()
    assert sl.status is OrderStatus.OPEN
    assert broker.cancel_calls == 0
    assert broker.net(NIFTY_CE, NRML) == 0
