"""Issue 6: what happens outside orderdesk or off the stream is found by reconciliation."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine.adoption import EXTERNAL_STRATEGY
from tests.scenarios.harness import BrokerView, ListNotifier, compare, open_desk, running_sim
from tests.support import eventually

INFY = InstrumentKey.parse("NSE:INFY")


async def test_external_order_is_adopted_and_dropped_fill_inferred(
    tmp_path: Path, store_url: str
) -> None:
    """An order from Kite web is adopted, and a fill whose update never came is inferred from
    the trade book; each raises an alert and the desk ends equal to the broker."""
    notifier = ListNotifier()
    async with (
        running_sim(seed=61) as (_, address),
        open_desk(address, store_url, tmp_path, notifier=notifier) as desk,
    ):
        view = BrokerView(address)
        await eventually(lambda: desk.stream_connected, what="stream up")
        placed = await view.control(
            "orders/external",
            {
                "exchange": "NSE",
                "tradingsymbol": "INFY",
                "transaction_type": "SELL",
                "order_type": "LIMIT",
                "quantity": 3,
                "price": 1600,
                "product": "MIS",
            },
        )
        external_id = placed["order_id"]
        # An OPEN order from elsewhere is not pushed by Kite; reconciliation is what finds it.
        report = await desk.reconcile()
        assert [row.kind for row in report.rows] == ["external_order"]
        adopted = desk.book.by_broker_id[external_id]
        assert adopted.external
        assert adopted.signal.strategy == EXTERNAL_STRATEGY
        assert adopted.status is OrderStatus.OPEN
        assert "Reconciliation: external_order" in notifier.titles()

        resting = await desk.submit(
            Signal(
                instrument=INFY,
                side=Side.BUY,
                quantity=5,
                order_type=OrderType.LIMIT,
                price=Decimal("1400"),
                product=Product.MIS,
                signal_id="rests",
            )
        )
        assert resting.status is OrderStatus.ACCEPTED  # resting at the broker, unfilled
        # The fill's update is held back far beyond this test: only the books know of it.
        await view.faults(update_delay_ms=600_000)
        await view.control("prices", {"NSE:INFY": 1399})
        report = await desk.reconcile()
        kinds = sorted(row.kind for row in report.rows)
        assert kinds == ["missed_fill", "status"], report.rows
        assert resting.status is OrderStatus.FILLED
        assert resting.order.fill_quantity == 5
        assert "Reconciliation: missed_fill" in notifier.titles()
        differences = compare(desk, await view.books())
        assert not differences, str(differences)
