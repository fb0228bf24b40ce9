"""A broker that refuses orders from the desk's address (Kite's static-IP rule) and the
exchange algo id, at the engine: the refusal is a rejection with the fix and a CRITICAL alert,
for placements and for modify and cancel alike; the algo id goes out as the log records it."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from decimal import Decimal

from orderdesk.domain import OrderStatus, OrderType
from orderdesk.domain.events import OrderSubmitting
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.algo_ids import AlgoIds
from orderdesk.errors import AddressRefused
from orderdesk.ports.broker import OrderChanges, PlaceOrder
from orderdesk.ports.notifier import Severity
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal
from tests.support import eventually

REFUSAL = "IP (10.0.0.9) is not allowed to place, modify or cancel orders"


@dataclass
class GuardedBroker(FakeBroker):
    """The fake broker, refusing every order write from "10.0.0.9" while ``refusing``."""

    refusing: bool = False

    def _refuse(self) -> None:
        if self.refusing:
            raise AddressRefused(REFUSAL, address="10.0.0.9", http_status=403)

    async def place_order(self, command: PlaceOrder) -> str:
        if self.refusing:
            self.placements.append(command)
        self._refuse()
        return await super().place_order(command)

    async def modify_order(
        self,
        broker_order_id: str,
        variety: object,
        changes: OrderChanges,
        *,
        parent_order_id: str | None = None,
    ) -> None:
        self._refuse()
        await super().modify_order(broker_order_id, variety, changes)

    async def cancel_order(
        self, broker_order_id: str, variety: object, *, parent_order_id: str | None = None
    ) -> None:
        self._refuse()
        await super().cancel_order(broker_order_id, variety)


async def test_a_refused_address_rejects_once_with_the_fix_and_alerts_critically() -> None:
    """The placement is sent once and the order REJECTED (not unknown) with the address and
    what to set; a modify and a cancel refused the same way alert CRITICAL with the fix."""
    broker = GuardedBroker()
    notifier = RecordingNotifier()
    async with OrderDesk(
        broker, MemoryStore(), notifier=notifier, config=FAST, limits=RiskLimits()
    ) as desk:
        resting = await desk.submit(
            signal(signal_id="rests", order_type=OrderType.LIMIT, price=Decimal("1490"))
        )
        await eventually(lambda: resting.order.status is OrderStatus.OPEN, what="resting")
        broker.refusing = True
        refused = await desk.submit(
            signal(signal_id="refused", order_type=OrderType.LIMIT, price=Decimal("1490"))
        )
        assert refused.order.status is OrderStatus.REJECTED
        reason = refused.order.reason or ""
        assert REFUSAL in reason
        assert "register 10.0.0.9" in reason
        assert "[fake] source_address" in reason
        assert len(broker.placements) == 2  # the resting order's, and this one's: once
        for command in (
            lambda: desk.modify(resting.order_id, price=Decimal("1491")),
            lambda: desk.cancel(resting.order_id),
        ):
            with contextlib.suppress(AddressRefused):
                await command()
        await eventually(
            lambda: (
                notifier.titles(Severity.CRITICAL)
                == ["Broker refuses orders from this address", "Modify failed", "Cancel failed"]
            ),
            what="three critical alerts",
        )
        assert resting.order.status is OrderStatus.OPEN


async def test_the_algo_id_sent_is_the_one_the_log_records() -> None:
    """A strategy's own algo id, else the desk's, travels in PlaceOrder and OrderSubmitting."""
    broker = FakeBroker()
    store = MemoryStore()
    config = replace(FAST, algo_ids=AlgoIds(default="DESK", by_strategy={"beta": "BETA"}))
    async with OrderDesk(broker, store, config=config, limits=RiskLimits()) as desk:
        alpha = await desk.submit(signal(signal_id="a", strategy="alpha"))
        beta = await desk.submit(signal(signal_id="b", strategy="beta"))
    assert [c.algo_id for c in broker.placements] == ["DESK", "BETA"]
    assert (alpha.order.algo_id, beta.order.algo_id) == ("DESK", "BETA")
    recorded = [e.algo_id for e in store.events() if isinstance(e, OrderSubmitting)]
    assert recorded == ["DESK", "BETA"]
