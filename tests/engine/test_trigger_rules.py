"""GTTs and ATOs held to their instrument's tick and lot sizes when they are made or changed,
as a signal is at intake: the broker would keep them and refuse their orders only when they
fire."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from orderdesk.domain.errors import ValidationError
from orderdesk.domain.events import SignalDenied
from orderdesk.domain.reports import AlertOrder, GttOrderLeg, GttTrigger, PriceAlert
from orderdesk.domain.signal import Signal
from orderdesk.domain.triggers import TriggerState
from orderdesk.domain.values import OrderType, Product, Side
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.errors import RiskDenied
from tests.engine.fakes import INFY, NIFTY_FUT, MemoryStore
from tests.engine.trigger_broker import NFO_LOT, TriggerBroker

STOP = GttTrigger(
    instrument=INFY,
    trigger_values=(Decimal(1400),),
    last_price=Decimal(1500),
    orders=(GttOrderLeg(side=Side.SELL, quantity=10, price=Decimal(1399), product=Product.CNC),),
)
OCO = GttTrigger(
    instrument=INFY,
    trigger_values=(Decimal(1300), Decimal(1700)),
    last_price=Decimal(1500),
    orders=(
        GttOrderLeg(side=Side.SELL, quantity=10, price=Decimal(1299), product=Product.CNC),
        GttOrderLeg(side=Side.SELL, quantity=10, price=Decimal(1701), product=Product.CNC),
    ),
    kind="two-leg",
)
DIP = PriceAlert(
    name="buy the dip",
    instrument=INFY,
    operator="<=",
    value=Decimal(1400),
    basket=(
        AlertOrder(
            instrument=INFY, side=Side.BUY, quantity=5, product=Product.CNC, price=Decimal(1401)
        ),
    ),
)


def _priced(gtt: GttTrigger, leg: int, price: str) -> GttTrigger:
    orders = list(gtt.orders)
    orders[leg] = replace(orders[leg], price=Decimal(price))
    return replace(gtt, orders=tuple(orders))


def _refusal(exc: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str]:
    return exc.value.field, exc.value.reason


async def test_a_gtt_leg_off_the_tick_is_refused_as_a_signal_is() -> None:
    """A leg priced between ticks (a single GTT's, either leg of an OCO's) is refused when the
    GTT is placed or changed, with the ValidationError a signal at that price gets, naming the
    leg's field; nothing reaches the broker or the log."""
    broker = TriggerBroker()
    store = MemoryStore()
    async with OrderDesk(broker, store) as desk:
        off = Signal(
            instrument=INFY,
            side=Side.SELL,
            quantity=10,
            order_type=OrderType.LIMIT,
            product=Product.CNC,
            price=Decimal("1399.03"),
            strategy="swing",
        )
        with pytest.raises(ValidationError) as signal_refused:
            await desk.submit(off)
        with pytest.raises(ValidationError) as single:
            await desk.triggers.place_gtt("swing", _priced(STOP, 0, "1399.03"))
        with pytest.raises(ValidationError) as second:
            await desk.triggers.place_gtt("swing", _priced(OCO, 1, "1701.01"))
        assert broker.sent == []
        assert store.types(stream="triggers") == []
        kept = await desk.triggers.place_gtt("swing", OCO)
        with pytest.raises(ValidationError) as modified:
            await desk.triggers.modify_gtt(kept.trigger_id, _priced(OCO, 0, "1299.99"))
        assert desk.triggers.get(kept.trigger_id).gtt == kept.gtt
    tick = "is not a multiple of the tick 0.05"
    assert _refusal(signal_refused) == ("price", f"1399.03 {tick}")
    assert _refusal(single) == ("orders[0].price", f"1399.03 {tick}")
    assert _refusal(second) == ("orders[1].price", f"1701.01 {tick}")
    assert _refusal(modified) == ("orders[0].price", f"1299.99 {tick}")
    assert broker.sent == ["place_gtt"]
    assert store.types(stream="triggers") == ["TriggerPlaced"]


async def test_a_gtt_trigger_value_off_the_tick_is_refused() -> None:
    """A trigger value between ticks, which the last price could only pass and never meet, is
    refused naming which one, on placing and on modifying alike; nothing reaches the broker."""
    broker = TriggerBroker()
    store = MemoryStore()
    async with OrderDesk(broker, store) as desk:
        with pytest.raises(ValidationError) as single:
            await desk.triggers.place_gtt(
                "swing", replace(STOP, trigger_values=(Decimal("1400.01"),))
            )
        kept = await desk.triggers.place_gtt("swing", OCO)
        upper_off = replace(OCO, trigger_values=(Decimal(1300), Decimal("1700.02")))
        with pytest.raises(ValidationError) as modified:
            await desk.triggers.modify_gtt(kept.trigger_id, upper_off)
    tick = "is not a multiple of the tick 0.05"
    assert _refusal(single) == ("trigger_values[0]", f"1400.01 {tick}")
    assert _refusal(modified) == ("trigger_values[1]", f"1700.02 {tick}")
    assert broker.sent == ["place_gtt"]
    assert store.types(stream="triggers") == ["TriggerPlaced"]


async def test_an_fo_gtt_leg_off_the_lot_size_is_refused() -> None:
    """A GTT on a future whose leg is not a whole number of lots is refused naming the leg's
    quantity, as a signal for that quantity is; whole lots go to the broker."""
    broker = TriggerBroker()
    future = GttTrigger(
        instrument=NIFTY_FUT,
        trigger_values=(Decimal(23500),),
        last_price=Decimal(24000),
        orders=(
            GttOrderLeg(side=Side.SELL, quantity=10, price=Decimal(23490), product=Product.NRML),
        ),
    )
    async with OrderDesk(broker, MemoryStore()) as desk:
        with pytest.raises(ValidationError) as refused:
            await desk.triggers.place_gtt("swing", future)
        assert broker.sent == []
        lots = replace(future.orders[0], quantity=2 * NFO_LOT)
        kept = await desk.triggers.place_gtt("swing", replace(future, orders=(lots,)))
    assert _refusal(refused) == ("orders[0].quantity", f"10 is not a multiple of lot {NFO_LOT}")
    assert kept.state is TriggerState.ACTIVE
    assert broker.sent == ["place_gtt"]


async def test_an_ato_basket_order_off_the_tick_or_lot_is_refused() -> None:
    """An ATO's basket order priced between ticks, or on a future in part of a lot, is refused
    naming the basket order's field when the alert is made or changed; nothing reaches the
    broker or the log."""
    broker = TriggerBroker()
    store = MemoryStore()
    off_tick = replace(DIP, basket=(replace(DIP.basket[0], price=Decimal("1401.01")),))
    hedge = AlertOrder(instrument=NIFTY_FUT, side=Side.SELL, quantity=30, product=Product.NRML)
    off_lot = replace(DIP, basket=(*DIP.basket, hedge))
    async with OrderDesk(broker, store) as desk:
        with pytest.raises(ValidationError) as placed:
            await desk.triggers.place_alert("meanrev", off_tick)
        with pytest.raises(ValidationError) as lot:
            await desk.triggers.place_alert("meanrev", off_lot)
        assert (broker.sent, store.types(stream="triggers")) == ([], [])
        kept = await desk.triggers.place_alert("meanrev", DIP)
        with pytest.raises(ValidationError) as modified:
            await desk.triggers.modify_alert(kept.trigger_id, off_tick)
    assert _refusal(placed) == ("basket[0].price", "1401.01 is not a multiple of the tick 0.05")
    assert _refusal(lot) == ("basket[1].quantity", f"30 is not a multiple of lot {NFO_LOT}")
    assert _refusal(modified) == _refusal(placed)
    assert broker.sent == ["create_alert"]
    assert store.types(stream="triggers") == ["TriggerPlaced"]


async def test_valid_triggers_go_and_the_risk_checks_still_hold_them() -> None:
    """Triggers on the tick and in whole lots are placed and changed as before, and still meet
    the risk checks of an order's own terms (max_quantity here); a trigger both off the tick
    and over the limit is refused for the tick first, as a signal is, and no denial is
    recorded for it."""
    broker = TriggerBroker()
    store = MemoryStore()
    async with OrderDesk(broker, store, limits=RiskLimits(max_quantity=50)) as desk:
        single = await desk.triggers.place_gtt("swing", STOP)
        oco = await desk.triggers.place_gtt("swing", OCO)
        await desk.triggers.modify_gtt(oco.trigger_id, _priced(OCO, 1, "1702.05"))
        ato = await desk.triggers.place_alert("meanrev", DIP)
        big = replace(STOP.orders[0], quantity=60)
        with pytest.raises(RiskDenied) as denied:
            await desk.triggers.place_gtt("swing", replace(STOP, orders=(big,)))
        big_and_off = replace(big, price=Decimal("1399.03"))
        with pytest.raises(ValidationError) as refused:
            await desk.triggers.place_gtt("swing", replace(STOP, orders=(big_and_off,)))
    assert (single.state, oco.state, ato.state) == (TriggerState.ACTIVE,) * 3
    assert broker.sent == ["place_gtt", "place_gtt", "modify_gtt", "create_alert"]
    assert (denied.value.check, denied.value.reason) == (
        "max_quantity",
        "gtt-leg-1: quantity 60 exceeds the limit of 50",
    )
    assert refused.value.field == "orders[0].price"
    denials = [e for e in store.events() if isinstance(e, SignalDenied)]
    assert [(d.check, d.signal.signal_id) for d in denials] == [("max_quantity", "gtt-leg-1")]


async def test_a_product_its_exchange_has_not_is_refused_as_the_gtt_is_made() -> None:
    """CNC on NFO: the broker took the GTT and refused its order only when it fired
    ("Insufficient holdings"), a futures stop that never happened. A GTT or an ATO with a
    product its exchange has not is refused as it is made, naming the field and the products
    the exchange has (a signal's is refused by the broker at once, where it is seen)."""
    broker = TriggerBroker()
    store = MemoryStore()
    cnc_stop = GttTrigger(
        instrument=NIFTY_FUT,
        trigger_values=(Decimal(24800),),
        last_price=Decimal(25100),
        orders=(
            GttOrderLeg(
                side=Side.SELL, quantity=NFO_LOT, price=Decimal(24790), product=Product.CNC
            ),
        ),
    )
    cnc_ato = replace(
        DIP,
        instrument=NIFTY_FUT,
        basket=(replace(DIP.basket[0], instrument=NIFTY_FUT, quantity=NFO_LOT),),
    )
    async with OrderDesk(broker, store) as desk:
        with pytest.raises(ValidationError) as gtt_refused:
            await desk.triggers.place_gtt("swing", cnc_stop)
        with pytest.raises(ValidationError) as ato_refused:
            await desk.triggers.place_alert("swing", cnc_ato)
    products = "CNC is not a product of NFO (MIS, NRML)"
    assert _refusal(gtt_refused) == ("orders[0].product", products)
    assert _refusal(ato_refused) == ("basket[0].product", products)
    assert broker.sent == []
