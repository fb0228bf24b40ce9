"""The desk's triggers on a broker without them, and read back from the log."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest

from orderdesk.brokers.paper import PaperBroker
from orderdesk.domain.events import TriggerEnded
from orderdesk.domain.reports import (
    AlertOrder,
    GttOrderLeg,
    GttTrigger,
    InstrumentInfo,
    PriceAlert,
)
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.triggers import TriggerState
from orderdesk.domain.values import Exchange, OrderType, Product, Side
from orderdesk.engine import DeskConfig, OrderDesk, RiskLimits
from orderdesk.errors import NotOffered, RiskDenied
from orderdesk.ports.notifier import Severity
from tests.domain.builders import report
from tests.engine.fakes import INFY, NIFTY_FUT, MemoryStore, RecordingNotifier
from tests.engine.trigger_broker import NFO_LOT, TriggerBroker
from tests.support import eventually

GTT = GttTrigger(
    instrument=INFY,
    trigger_values=(Decimal(1600),),
    last_price=Decimal(1500),
    orders=(GttOrderLeg(side=Side.SELL, quantity=1, price=Decimal(1599), product=Product.CNC),),
)


async def test_a_broker_without_gtt_or_alerts_refuses_them_plainly() -> None:
    store = MemoryStore()
    async with OrderDesk(PaperBroker(prices={INFY: Decimal(1500)}), store) as desk:
        with pytest.raises(NotOffered, match="the paper broker does not offer GTT triggers"):
            await desk.triggers.place_gtt("swing", GTT)
        alert = PriceAlert(name="dip", instrument=INFY, operator="<=", value=Decimal(1400))
        with pytest.raises(NotOffered, match="the paper broker does not offer price alerts"):
            await desk.triggers.place_alert("swing", alert)
        assert desk.triggers.listing() == []
        assert list(store.read(stream="triggers")) == []
        assert (await desk.reconcile()).ok


async def test_the_kill_switch_stops_triggers_that_would_place_orders() -> None:
    """Engaged, no GTT or ATO is made or changed (each is an order waiting at the broker); a
    simple alert, which places nothing, and deleting a trigger still go through."""
    broker = TriggerBroker()
    dip = PriceAlert(name="dip", instrument=INFY, operator="<=", value=Decimal(1400))
    ato = replace(
        dip,
        name="buy the dip",
        basket=(AlertOrder(instrument=INFY, side=Side.BUY, quantity=1, product=Product.CNC),),
    )
    async with OrderDesk(broker, MemoryStore()) as desk:
        gtt = await desk.triggers.place_gtt("swing", GTT)
        await desk.engage_kill_switch("drill")
        refusals = [
            desk.triggers.place_gtt("swing", GTT),
            desk.triggers.modify_gtt(gtt.trigger_id, GTT),
            desk.triggers.place_alert("swing", ato),
        ]
        for refused in refusals:
            with pytest.raises(RiskDenied, match=r"kill switch is engaged \(drill\)"):
                await refused
        simple = await desk.triggers.place_alert("swing", dip)
        await desk.triggers.delete(gtt.trigger_id)
        assert broker.sent == ["place_gtt", "create_alert", "delete_gtt"]
        await desk.release_kill_switch()
        await desk.triggers.place_alert("swing", ato)
        assert broker.sent[-1] == "create_alert"
        assert simple.alert is not None


async def test_an_atos_orders_are_valued_at_their_price_else_trigger_else_last_price() -> None:
    """max_order_value holds a basket order at its limit price; one without a price at its
    trigger price, and one with neither (MARKET) at the last price; nothing that breaks the
    limit reaches the broker, and within it the alert is made."""
    broker = TriggerBroker()  # INFY's last price: 1500
    dip = PriceAlert(name="dip", instrument=INFY, operator="<=", value=Decimal(1400))

    def ato(order: AlertOrder) -> PriceAlert:
        return replace(dip, basket=(order,))

    limit = AlertOrder(
        instrument=INFY, side=Side.BUY, quantity=7, product=Product.CNC, price=Decimal(1401)
    )
    stop = replace(limit, order_type=OrderType.SL_M, price=Decimal(0), trigger_price=Decimal(1450))
    market = replace(limit, order_type=OrderType.MARKET, price=Decimal(0))
    async with OrderDesk(
        broker, MemoryStore(), limits=RiskLimits(max_order_value=Decimal(10_000))
    ) as desk:
        for order, value in ((limit, "9807"), (stop, "10150"), (market, "10500")):
            if Decimal(value) > 10_000:
                with pytest.raises(
                    RiskDenied, match=f"ato-order-1: order value {value}.00 exceeds"
                ):
                    await desk.triggers.place_alert("swing", ato(order))
            else:
                await desk.triggers.place_alert("swing", ato(order))
        assert broker.sent == ["create_alert"]


class RefusingGttBroker(TriggerBroker):
    """A broker whose GTTs fire but whose orders it refuses (Kite's ``failed`` result)."""

    def __init__(self) -> None:
        super().__init__()
        self.fired = False

    async def gtt_triggers(self) -> list[GttTrigger]:
        if not self.fired:
            return [replace(GTT, trigger_id=1, status="active")]
        refusal = "Holdings authorisation required: 1 of INFY would be sold"
        return [replace(GTT, trigger_id=1, status="triggered", refusals=(refusal,))]


async def test_a_gtt_whose_order_the_broker_refused_is_a_warning_with_the_reason() -> None:
    """Fired, but its placement failed: the GTT is spent and the exit did not happen, so the
    alert is a WARNING naming the broker's reason, not the INFO of a placed order."""
    broker = RefusingGttBroker()
    notifier = RecordingNotifier()
    async with OrderDesk(broker, MemoryStore(), notifier=notifier) as desk:
        gtt = await desk.triggers.place_gtt("swing", GTT)
        assert await desk.triggers.reconcile() == []  # still active
        broker.fired = True
        (finding,) = await desk.triggers.reconcile()
    assert finding.state is TriggerState.REFUSED
    ended = desk.triggers.get(gtt.trigger_id)
    assert (ended.state, ended.order_ids) == (TriggerState.REFUSED, ())
    assert "refused its order: Holdings authorisation required" in ended.detail
    (alert,) = [a for a in notifier.alerts if a.title.startswith("Trigger fired")]
    assert (alert.title, alert.severity) == ("Trigger fired, its order refused", Severity.WARNING)
    assert "(strategy swing)" in alert.body


async def test_the_desk_reads_its_live_triggers_between_reconciliations() -> None:
    """With no reconciliation timer, the trigger watch alone finds the GTT's refused order."""
    broker = RefusingGttBroker()
    notifier = RecordingNotifier()
    config = DeskConfig(reconcile_interval=None, trigger_interval=0.01)
    async with OrderDesk(broker, MemoryStore(), notifier=notifier, config=config) as desk:
        gtt = await desk.triggers.place_gtt("swing", GTT)
        broker.fired = True
        await eventually(
            lambda: desk.triggers.get(gtt.trigger_id).state is TriggerState.REFUSED,
            what="the watch found the GTT fired and its order refused",
        )
    assert "Trigger fired, its order refused" in notifier.titles(Severity.WARNING)


class ExpiringGttBroker(TriggerBroker):
    """A broker whose NIFTY future expires: gone from its instrument list, its GTT with it."""

    def __init__(self) -> None:
        super().__init__()
        self.expired = False

    async def instruments(self, exchange: Exchange | None = None) -> list[InstrumentInfo]:
        listed = await super().instruments(exchange)
        return [i for i in listed if not (self.expired and i.instrument == NIFTY_FUT)]


async def test_a_gtt_gone_with_its_expired_contract_says_so() -> None:
    """Kite drops a GTT whose contract expired; the desk said only "missing at the broker",
    as if someone had deleted the stop loss."""
    broker = ExpiringGttBroker()
    async with OrderDesk(broker, MemoryStore(), notifier=RecordingNotifier()) as desk:
        stop = GttTrigger(
            instrument=NIFTY_FUT,
            trigger_values=(Decimal(23000),),
            last_price=Decimal(24000),
            orders=(
                GttOrderLeg(
                    side=Side.SELL, quantity=NFO_LOT, price=Decimal(22990), product=Product.NRML
                ),
            ),
        )
        gtt = await desk.triggers.place_gtt("swing", stop)
        broker.expired = True
        await desk.master.refresh()
        (finding,) = await desk.triggers.reconcile()
    assert finding.state is TriggerState.GONE
    assert desk.triggers.get(gtt.trigger_id).detail == (
        f"GTT {gtt.trigger_id} is missing at the broker; the desk did not delete it; "
        "NFO:NIFTY26DECFUT is no longer listed (an expired contract is not)"
    )


class FiredGttBroker(TriggerBroker):
    """A broker whose GTT has fired and placed order "b1"; its list yields to the loop first,
    as a read over the network would."""

    async def gtt_triggers(self) -> list[GttTrigger]:
        await asyncio.sleep(0)
        return [replace(GTT, trigger_id=1, status="triggered", order_ids=("b1",))]


async def test_a_firing_told_twice_at_once_is_recorded_once() -> None:
    """The comparison with the broker's list and the news path's claim of the order it placed
    both tell the firing; told together, it is recorded once."""
    broker = FiredGttBroker()
    store = MemoryStore()
    async with OrderDesk(broker, store, config=DeskConfig(trigger_interval=None)) as desk:
        gtt = await desk.triggers.place_gtt("swing", GTT)
        sold = report(BrokerStatus.COMPLETE, 1, quantity=1, broker_order_id="b1", side=Side.SELL)
        owner, _ = await asyncio.gather(desk.triggers.owner(sold), desk.triggers.reconcile())
    assert owner is not None
    assert owner.trigger_id == gtt.trigger_id
    ended = [e for e in store.events() if isinstance(e, TriggerEnded)]
    assert [e.trigger_id for e in ended] == [gtt.trigger_id]


async def test_a_gtt_that_fires_under_the_kill_switch_is_a_warning() -> None:
    """The kill switch refuses new orders, but a GTT already live at the broker places its
    own when it fires: said as a WARNING that names the switch, not the INFO of any firing."""
    broker = FiredGttBroker()
    notifier = RecordingNotifier()
    async with OrderDesk(
        broker, MemoryStore(), notifier=notifier, config=DeskConfig(trigger_interval=None)
    ) as desk:
        await desk.triggers.place_gtt("swing", GTT)
        await desk.engage_kill_switch("operator: stop")
        await desk.triggers.reconcile()
    (alert,) = [a for a in notifier.alerts if a.title == "Trigger fired"]
    assert alert.severity is Severity.WARNING
    assert "the kill switch is engaged, but a trigger already live at the broker" in alert.body
