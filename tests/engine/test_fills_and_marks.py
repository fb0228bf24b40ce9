"""Fills behind reports, quiet catch-up of resting orders, and mark-to-market from ticks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from orderdesk.domain import Order, OrderStatus, OrderType, Side
from orderdesk.domain.events import OrderSubmitting
from orderdesk.engine import OrderDesk
from orderdesk.engine.adoption import external_order_id, signal_from_report
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import (
    INFY,
    NIFTY_FUT,
    FakeBroker,
    MemoryStore,
    RecordingNotifier,
    signal,
)
from tests.support import eventually

LIMIT = {"order_type": OrderType.LIMIT, "price": Decimal("1490")}


async def test_fills_are_recorded_with_the_report_that_shows_them(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """With fills missing from the stream, FILLED arrives with its trades and the position."""
    await settled(desk)
    broker.drop_fills = True
    handle = await desk.submit(signal(quantity=10))
    await handle.wait()
    # No eventually(): the fills must be there the moment the order is seen FILLED.
    assert handle.order.fill_quantity == 10
    assert desk.position(INFY, handle.order.signal.product).quantity == 10
    assert broker.trade_reads == 1


async def test_poll_records_status_and_fills_together(
    desk: OrderDesk, broker: FakeBroker, store: MemoryStore
) -> None:
    """Catching up from the books records an order's new status and its trades as one event
    (a catch-up is not a mismatch: the trades ride on the status change)."""
    handle = await desk.submit(signal(**LIMIT))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    broker.stream_muted = True
    broker.fill(handle.broker_order_ids[0])
    assert await desk.catch_up()
    assert handle.status is OrderStatus.FILLED
    assert handle.order.fill_quantity == 10
    assert store.types(handle.order_id)[-1] == "OrderStatusChanged"
    (last,) = [row for row in store.rows if row.stream == handle.order_id][-1:]
    assert [fill["quantity"] for fill in last.payload["fills"]] == [10]


async def test_partial_fill_reads_only_when_fills_lag(desk: OrderDesk, broker: FakeBroker) -> None:
    """A report whose filled quantity the recorded fills already cover costs no trade read."""
    handle = await desk.submit(signal(**LIMIT))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    (broker_order_id,) = handle.broker_order_ids
    broker.drop_reports = True
    broker.fill(broker_order_id, 4)  # the fill arrives on the stream; its report does not
    await eventually(lambda: handle.order.fill_quantity == 4)
    reads = broker.trade_reads
    broker.drop_reports = False
    broker.push(broker.report(broker_order_id))
    await handle.wait(lambda h: h.filled_quantity == 4)
    assert broker.trade_reads == reads


async def test_failed_trade_reads_are_retried_in_the_background(
    desk: OrderDesk, broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    """A trade book that cannot be read does not hold the status back; fills follow later."""
    await settled(desk)
    broker.drop_fills = True
    broker.trades_fail = 2
    handle = await desk.submit(signal(quantity=7))
    await handle.wait()
    assert handle.status is OrderStatus.FILLED
    await eventually(lambda: handle.order.fill_quantity == 7)
    assert desk.position(INFY, handle.order.signal.product).quantity == 7
    assert broker.trade_reads >= 3


async def test_resting_order_found_by_reconciliation_is_not_a_mismatch(
    desk: OrderDesk, broker: FakeBroker, notifier: RecordingNotifier, store: MemoryStore
) -> None:
    """ACCEPTED -> OPEN learnt from the book is recorded quietly: Kite pushes nothing for it."""
    await settled(desk)  # the start-up catch-up read of the book is over
    broker.drop_reports = True
    handle = await desk.submit(signal(**LIMIT))
    assert handle.status is OrderStatus.ACCEPTED
    report = await desk.reconcile()
    assert handle.status is OrderStatus.OPEN
    assert report.ok, report.rows
    assert "OrderStatusChanged" in store.types(handle.order_id)
    assert not [t for t in notifier.titles() if t.startswith("Reconciliation")]


async def test_missed_fill_and_terminal_status_are_mismatches(
    desk: OrderDesk, broker: FakeBroker, notifier: RecordingNotifier
) -> None:
    """A fill and a COMPLETE that never reached the desk are alerted once reconciliation finds
    them."""
    handle = await desk.submit(signal(**LIMIT))
    await handle.wait(lambda h: h.status is OrderStatus.OPEN)
    broker.stream_muted = True
    broker.fill(handle.broker_order_ids[0])
    report = await desk.reconcile()
    kinds = sorted(row.kind for row in report.rows)
    assert kinds == ["missed_fill", "status"]
    assert handle.status is OrderStatus.FILLED
    assert handle.order.fill_quantity == 10
    assert "Reconciliation: missed_fill" in notifier.titles()
    assert "Reconciliation: status" in notifier.titles()


async def test_a_fill_the_desk_is_still_reading_is_no_mismatch(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """The stream's COMPLETE arrives but the trade read fails, so the desk reads the trades
    again after a backoff; a reconciliation in between records the fill from the trade book
    without calling it missed (it would be a false alarm)."""
    config = replace(FAST, trades_backoff=60.0)  # the follow-up waits past this test
    async with OrderDesk(broker, store, notifier=notifier, config=config) as desk:
        await settled(desk)
        broker.drop_fills = True
        broker.trades_fail = 1
        handle = await desk.submit(signal(quantity=10))
        await handle.wait(lambda h: h.status is OrderStatus.FILLED)
        assert handle.order.fill_quantity == 0  # the report, its trades still being read
        report = await desk.reconcile()
        assert handle.order.fill_quantity == 10
    assert report.ok, report.rows
    assert not [t for t in notifier.titles() if t.startswith("Reconciliation")]


async def test_ticks_by_token_mark_positions(desk: OrderDesk, broker: FakeBroker) -> None:
    """A tick carrying only the instrument token marks the position (token map from start)."""
    handle = await desk.submit(signal(quantity=10))
    await handle.wait()
    position = desk.position(INFY, handle.order.signal.product)
    broker.tick(INFY, Decimal("1505.5"), by_token=True)
    await eventually(lambda: position.last_price == Decimal("1505.5"))
    assert position.unrealised() == Decimal("55.0")


async def test_new_position_is_marked_with_the_last_tick(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """A position opened after the last tick shows that price at once, not at the next tick."""
    await settled(desk)
    broker.tick(INFY, Decimal("1501"), by_token=True)
    await eventually(lambda: desk.book.last_prices.get(INFY) == Decimal("1501"))
    handle = await desk.submit(signal(quantity=2))
    await handle.wait()
    assert desk.position(INFY, handle.order.signal.product).last_price == Decimal("1501")


async def test_instruments_of_orders_and_positions_are_subscribed(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """New orders' instruments are streamed; after a restart, those held or worked again."""
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        filled = await desk.submit(signal(signal_id="held"))
        await filled.wait()
        resting = await desk.submit(
            signal(instrument=NIFTY_FUT, quantity=75, signal_id="rest", **LIMIT)
        )
        await resting.wait(lambda h: h.status is OrderStatus.OPEN)
        await desk.prices.idle()
        assert broker.subscribed() == {INFY, NIFTY_FUT}
    broker.subscriptions.clear()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await desk.prices.idle()
        assert broker.subscribed() == {INFY, NIFTY_FUT}


async def test_unknown_instrument_does_not_cost_others_their_ticks(
    desk: OrderDesk, broker: FakeBroker
) -> None:
    """An instrument the broker cannot stream is skipped; the rest of the batch is subscribed."""
    unknown = INFY.__class__.parse("NSE:NOSUCH")
    desk.prices.want([unknown, NIFTY_FUT])
    await desk.prices.idle()
    assert NIFTY_FUT in broker.subscribed()
    assert unknown in desk.prices.refused


async def test_external_order_unresolved_in_an_old_log_is_bound_never_sent(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """An adopted order a pre-ACCEPTED log left SUBMITTING is found by broker id, not re-placed."""
    broker.fill_market = False
    broker_order_id = broker.create(signal(side=Side.SELL, **LIMIT), tag=None)
    report = broker.report(broker_order_id)
    at = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    created = Order.create(
        external_order_id(broker_order_id),
        signal_from_report(report),
        at,
        external=True,
        broker_order_id=broker_order_id,
    )
    store.append([created, OrderSubmitting(at=at, order_id=created.order_id, attempt=1)])
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        order = desk.order(created.order_id)
        await eventually(lambda: order.status is OrderStatus.OPEN)
    assert broker.placements == []
    assert len(broker.book) == 1


async def test_freeze_limit_of_the_underlying_applies_when_the_master_has_none(
    store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Kite's dump has no freeze column: the configured limit by underlying slices the order."""
    broker = FakeBroker()
    broker.infos = [
        replace(info, name="NIFTY", freeze_quantity=None) if info.instrument == NIFTY_FUT else info
        for info in broker.infos
    ]
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        assert desk.instruments[NIFTY_FUT].freeze_quantity == 1800
        handle = await desk.submit(signal(instrument=NIFTY_FUT, quantity=2250, signal_id="big"))
        await handle.wait()
    assert sorted(entry.report.quantity for entry in broker.book.values()) == [450, 1800]


async def test_resting_order_is_seen_open_soon_without_a_push(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """An order the broker rests without pushing anything is read OPEN from the book shortly
    after its acceptance, quietly, long before the quiet-order poll would look."""
    config = replace(FAST, first_look=0.02, quiet_after=60.0)
    async with OrderDesk(broker, store, notifier=notifier, config=config) as desk:
        await settled(desk)
        broker.drop_reports = True
        handle = await desk.submit(signal(**LIMIT))
        assert handle.status is OrderStatus.ACCEPTED
        await handle.wait(lambda h: h.status is OrderStatus.OPEN, timeout=5)
    assert not [t for t in notifier.titles() if t.startswith("Reconciliation")]
