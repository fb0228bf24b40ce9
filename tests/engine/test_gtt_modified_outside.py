"""A live GTT changed at the broker (Kite web, another API client) is taken as the broker holds
it and alerted, from and to. The walk that found it: an OCO SELL 10 CNC changed on Kite to BUY
20 MIS kept its old terms in `gtt list`, reconciliation said the books agreed, and when it fired
its order was booked to `external` while the GTT's record said its strategy had got it."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from orderdesk.domain.reports import GttOrderLeg, GttTrigger
from orderdesk.domain.triggers import TriggerState
from orderdesk.domain.values import Product, Side
from orderdesk.engine import OrderDesk
from orderdesk.ports.notifier import Severity
from tests.engine.fakes import MemoryStore, RecordingNotifier
from tests.engine.test_trigger_rules import STOP
from tests.engine.trigger_broker import TriggerBroker


class KeepingBroker(TriggerBroker):
    """The trigger broker that keeps its GTTs, active, as placed or changed."""

    def __init__(self) -> None:
        super().__init__()
        self.gtts: dict[int, GttTrigger] = {}

    async def place_gtt(self, trigger: GttTrigger) -> int:
        broker_id = await super().place_gtt(trigger)
        self.gtts[broker_id] = replace(trigger, trigger_id=broker_id, status="active")
        return broker_id

    async def modify_gtt(self, trigger_id: int, trigger: GttTrigger) -> None:
        await super().modify_gtt(trigger_id, trigger)
        self.gtts[trigger_id] = replace(trigger, trigger_id=trigger_id, status="active")

    async def gtt_triggers(self) -> list[GttTrigger]:
        return list(self.gtts.values())


MIS_BUY = (GttOrderLeg(side=Side.BUY, quantity=20, price=Decimal(1409), product=Product.MIS),)


async def test_a_gtt_changed_at_the_broker_is_held_as_the_broker_holds_it_and_alerted() -> None:
    broker, notifier = KeepingBroker(), RecordingNotifier()
    async with OrderDesk(broker, MemoryStore(), notifier=notifier) as desk:
        placed = await desk.triggers.place_gtt("swing", STOP)
        assert await desk.triggers.reconcile() == []  # as placed: nothing to say
        broker_id = int(placed.broker_id)
        outside = replace(
            broker.gtts[broker_id],
            trigger_values=(Decimal(1410),),
            orders=MIS_BUY,
            last_price=Decimal(1480),
        )
        broker.gtts[broker_id] = outside

        [finding] = await desk.triggers.reconcile()

        held = desk.triggers.get(placed.trigger_id)
        assert held.gtt is not None
        assert (held.gtt.trigger_values, held.gtt.orders) == ((Decimal(1410),), MIS_BUY)
        assert held.strategy == "swing"
        assert finding.state is TriggerState.ACTIVE
        [alert] = [a for a in notifier.alerts if a.title == "GTT modified outside orderdesk"]
        assert alert.severity is Severity.WARNING
        assert (
            "NSE:INFY at 1400: SELL 10 CNC @ 1399 -> NSE:INFY at 1410: BUY 20 MIS @ 1409"
            in alert.body
        )
        assert await desk.triggers.reconcile() == []  # told once
        # The desk's own change is no outside one.
        await desk.triggers.modify_gtt(placed.trigger_id, STOP)
        assert await desk.triggers.reconcile() == []
    assert len([a for a in notifier.alerts if a.title == "GTT modified outside orderdesk"]) == 1
