"""The health panel's latest reconciliation lists that run's own differences. Orders placed
outside orderdesk are adopted by the news path, which records each finding as it happens,
after the run's completion as often as before it; the findings were read as the log's last
few before the completion, so an earlier run's finding stood in for one of this run's."""

from __future__ import annotations

from decimal import Decimal

from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.domain import OrderType
from orderdesk.engine import OrderDesk
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal


async def test_the_latest_run_lists_its_own_findings() -> None:
    broker, store, notifier = FakeBroker(), MemoryStore(), RecordingNotifier()
    async with OrderDesk(broker, store, notifier=notifier, config=FAST) as desk:
        await settled(desk)
        api = EngineDesk(desk)
        broker.stream_muted = True  # the broker's news reaches the desk by reconciliation
        broker.create(signal(order_type=OrderType.LIMIT, price=Decimal("1400")), tag=None)
        first = await desk.reconcile()
        await desk.idle()
        outside = [
            broker.create(signal(order_type=OrderType.LIMIT, price=Decimal(p)), tag=None)
            for p in ("1401", "1402")
        ]
        second = await desk.reconcile()
        await desk.idle()
        record = api.last_reconciliation()
        assert record is not None
        assert record.mismatches == len(second.rows) == 2
        assert [f.detail for f in record.findings] == [r.detail for r in second.rows]
        assert all(any(o in f.detail for o in outside) for f in record.findings)
        assert not any(r.detail == f.detail for r in first.rows for f in record.findings)
