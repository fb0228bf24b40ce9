"""Crash recovery and reconciliation: the log replayed, the broker's books believed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from orderdesk.domain import (
    Fill,
    Order,
    OrderCreated,
    OrderFillRecorded,
    OrderStatus,
    OrderType,
    Product,
    Side,
    client_order_id,
)
from orderdesk.engine import OrderDesk
from orderdesk.ports.broker import PlaceOrder
from tests.engine.conftest import FAST
from tests.engine.fakes import INFY, FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually


def intent_only(store: MemoryStore, signal_id: str) -> tuple[str, PlaceOrder]:
    """Write what the desk writes before calling the broker, as if it died right after (just
    now: an intent older than ``resend_within`` is not sent again)."""
    s = signal(signal_id=signal_id)
    order_id = client_order_id(s.strategy, signal_id)
    now = datetime.now(UTC)
    created = Order.create(order_id, s, now)
    order = Order.from_events([created])
    store.append([created, *order.submit(now)])
    return order_id, PlaceOrder(order_id, s)


async def test_replay_restores_orders_and_positions(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """A new desk on the same log knows every order, its fills and the positions."""
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        handles = [await desk.submit(signal(signal_id=f"r{i}")) for i in range(3)]
        for handle in handles:
            await handle.wait()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        assert [o.order_id for o in desk.orders()] == [h.order_id for h in handles]
        assert all(o.status is OrderStatus.FILLED for o in desk.orders())
        assert desk.position(INFY, handles[0].order.signal.product).quantity == 30
        assert desk.startup_report is not None
        assert desk.startup_report.ok


async def test_crash_after_send_is_resolved_not_resent(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """SUBMITTING in the log and the order at the broker: bound on restart, never sent again."""
    order_id, command = intent_only(store, "sent")
    await broker.place_order(command)  # the request did go out before the crash
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        order = desk.order(order_id)
        await eventually(lambda: order.fills)
        assert order.status is OrderStatus.FILLED
    assert broker.tags() == [order_id]
    assert len(broker.placements) == 1


async def test_crash_before_send_is_sent_after_proven_absence(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """SUBMITTING in the log and nothing at the broker: re-sent once, under the same id."""
    order_id, _ = intent_only(store, "unsent")
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        order = desk.order(order_id)
        await eventually(lambda: order.status is OrderStatus.FILLED)
    assert broker.tags() == [order_id]
    types = store.types(order_id)
    assert types.count("OrderSubmitting") == 2
    assert "OrderSubmitUnknown" in types


async def test_external_order_and_missed_fill_found_by_reconciliation(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Reconciliation adopts an untagged order and infers a fill the stream never delivered."""
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        resting = await desk.submit(signal(order_type=OrderType.LIMIT, price=Decimal("1490")))
        await resting.wait(lambda h: h.status is OrderStatus.OPEN)
        broker.stream_muted = True
        external_id = broker.create(signal(side=Side.SELL, quantity=4), tag=None)
        broker.fill(resting.broker_order_ids[0])
        report = await desk.reconcile()
        kinds = sorted(row.kind for row in report.rows)
        # The adopted order's own trade comes with its adoption (one row, not two).
        assert kinds == ["external_order", "missed_fill", "status"]
        adopted = desk.book.by_broker_id[external_id]
        assert adopted.external
        assert adopted.fill_quantity == 4
        fills = [e for e in store.events() if isinstance(e, OrderFillRecorded)]
        assert all(e.inferred for e in fills)
        assert desk.position(INFY, resting.order.signal.product).quantity == 10 - 4
        assert "Reconciliation: missed_fill" in notifier.titles()
        again = await desk.reconcile()
        assert again.ok


async def test_reconcile_reports_position_and_missing_orders(
    broker: FakeBroker, store: MemoryStore, notifier: RecordingNotifier
) -> None:
    """Differences the desk cannot repair are reported as rows, events and alerts."""
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        resting = await desk.submit(signal(order_type=OrderType.LIMIT, price=Decimal("1490")))
        await resting.wait(lambda h: h.status is OrderStatus.OPEN)
        broker.book.clear()
        broker.trade_book.append(ORPHAN)
        report = await desk.reconcile()
    kinds = sorted(row.kind for row in report.rows)
    assert "missing_at_broker" in kinds
    assert "orphan_trade" in kinds
    assert "position" in kinds
    assert store.types("desk").count("ReconciliationMismatch") == len(report.rows)


ORPHAN = Fill(
    trade_id="T1",
    broker_order_id="999",
    instrument=INFY,
    side=Side.BUY,
    product=Product.MIS,
    quantity=1,
    price=Decimal(1500),
)


def test_created_event_type_is_the_first_of_each_stream() -> None:
    """Sanity: the intent helper writes a creation then a submission, as the desk does."""
    store = MemoryStore()
    order_id, _ = intent_only(store, "x")
    assert store.types(order_id) == ["OrderCreated", "OrderSubmitting"]
    assert isinstance(store.events()[0], OrderCreated)
