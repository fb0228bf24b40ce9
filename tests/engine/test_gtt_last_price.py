"""A GTT's ``last_price`` checked against the broker's quote when it is placed or changed: Kite
reads the trigger's direction from it, so a wrong one makes a GTT fire at once; and a price
alert's instrument held to the instrument list, as a GTT's is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

import pytest

from orderdesk.domain.errors import ValidationError
from orderdesk.domain.reports import GttOrderLeg, GttTrigger, PriceAlert, Quote
from orderdesk.domain.values import InstrumentKey, Product, Side
from orderdesk.engine import OrderDesk
from orderdesk.errors import BrokerUnavailable
from tests.engine.fakes import INFY, NIFTY_FUT, MemoryStore
from tests.engine.test_trigger_rules import STOP  # SELL INFY (at 1500) when it falls to 1400
from tests.engine.trigger_broker import NFO_LOT, TriggerBroker

BREAKOUT = GttTrigger(
    instrument=INFY,
    trigger_values=(Decimal(1600),),
    last_price=Decimal(1500),
    orders=(GttOrderLeg(side=Side.BUY, quantity=5, price=Decimal(1601), product=Product.CNC),),
)
"""BUY INFY (at 1500) when it rises to 1600."""
OCO = GttTrigger(
    instrument=INFY,
    trigger_values=(Decimal(1300), Decimal(1450)),
    last_price=Decimal(1500),
    orders=(
        GttOrderLeg(side=Side.SELL, quantity=10, price=Decimal(1299), product=Product.CNC),
        GttOrderLeg(side=Side.SELL, quantity=10, price=Decimal(1451), product=Product.CNC),
    ),
    kind="two-leg",
)
"""An OCO whose upper value INFY (at 1500) is already past."""


class QuietBroker(TriggerBroker):
    """The trigger broker whose quotes cannot be read."""

    async def quotes(self, instruments: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        raise BrokerUnavailable("quotes timed out")


def _refusal(exc: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str]:
    return exc.value.field, exc.value.reason


async def test_a_last_price_that_makes_a_gtt_fire_at_once_is_refused() -> None:
    """A BUY GTT on INFY (at 1500) sent with last price 100 and trigger 200, which Kite would
    read as a rise to 200 already passed and fire at once, is refused naming ``last_price``;
    nothing reaches the broker or the log."""
    broker = TriggerBroker()
    store = MemoryStore()
    wrong = replace(
        BREAKOUT,
        trigger_values=(Decimal(200),),
        last_price=Decimal(100),
        orders=(replace(BREAKOUT.orders[0], price=Decimal(200)),),
    )
    async with OrderDesk(broker, store) as desk:
        with pytest.raises(ValidationError) as refused:
            await desk.triggers.place_gtt("swing", wrong)
    assert _refusal(refused) == (
        "last_price",
        "100 makes the GTT fire when the price rises to 200, and NSE:INFY trades at 1500: "
        "it would fire at once",
    )
    assert broker.sent == []
    assert store.types(stream="triggers") == []


async def test_a_gtt_moved_to_another_instrument_keeps_no_stale_last_price() -> None:
    """A GTT modified onto another instrument (the NIFTY future at 24000) with the first one's
    last price (1500) and a trigger of 1600 would fire at once there: refused naming
    ``last_price``, and the GTT keeps its old terms."""
    broker = TriggerBroker()
    async with OrderDesk(broker, MemoryStore()) as desk:
        kept = await desk.triggers.place_gtt("swing", BREAKOUT)
        leg = GttOrderLeg(
            side=Side.BUY, quantity=NFO_LOT, price=Decimal(1601), product=Product.NRML
        )
        moved = replace(BREAKOUT, instrument=NIFTY_FUT, orders=(leg,))
        with pytest.raises(ValidationError) as refused:
            await desk.triggers.modify_gtt(kept.trigger_id, moved)
        assert desk.triggers.get(kept.trigger_id).gtt == kept.gtt
    assert refused.value.field == "last_price"
    assert "NFO:NIFTY26DECFUT trades at 24000: it would fire at once" in refused.value.reason
    assert broker.sent == ["place_gtt"]


async def test_a_last_price_outside_the_desks_band_is_refused() -> None:
    """With the desk's price band at 10%, a stop on INFY (at 1500) sent with last price 1700
    (13.33% off, though its trigger of 1400 is still below both) is refused naming
    ``last_price`` and the band; 1600 (6.67% off) is taken."""
    broker = TriggerBroker()
    async with OrderDesk(broker, MemoryStore()) as desk:
        desk.triggers.price_band = Decimal(10)
        with pytest.raises(ValidationError) as refused:
            await desk.triggers.place_gtt("swing", replace(STOP, last_price=Decimal(1700)))
        kept = await desk.triggers.place_gtt("swing", replace(STOP, last_price=Decimal(1600)))
    assert _refusal(refused) == (
        "last_price",
        "1700 is 13.33% from NSE:INFY's price 1500; the band is 10% (Kite reads the "
        "trigger's direction from the last price)",
    )
    assert kept.active
    assert broker.sent == ["place_gtt"]


async def test_an_oco_the_price_is_already_outside_is_refused() -> None:
    """An OCO whose upper value (1450) INFY (at 1500) has passed would fire its upper leg at
    once: refused naming ``trigger_values``; nothing reaches the broker."""
    broker = TriggerBroker()
    async with OrderDesk(broker, MemoryStore()) as desk:
        with pytest.raises(ValidationError) as refused:
            await desk.triggers.place_gtt("swing", OCO)
    assert _refusal(refused) == (
        "trigger_values",
        "NSE:INFY trades at 1500, outside 1300 to 1450: the OCO would fire at once",
    )
    assert broker.sent == []


async def test_a_gtt_whose_price_the_broker_cannot_give_waits_for_the_broker() -> None:
    """The broker away (or its session refused) when the quote is read: nothing reaches it,
    and its error is answered as any broker call's is (503, try again; a login), not as a GTT
    refused for its terms (the walk's `gtt add` read exit 3 where `gtt delete` read 1)."""
    broker = QuietBroker()
    async with OrderDesk(broker, MemoryStore()) as desk:
        with pytest.raises(BrokerUnavailable, match="quotes timed out"):
            await desk.triggers.place_gtt("swing", STOP)
    assert broker.sent == []


class BrokenQuotes(TriggerBroker):
    """An adapter whose quote read fails with an exception of its own."""

    async def quotes(self, instruments: Sequence[InstrumentKey]) -> dict[InstrumentKey, Quote]:
        raise RuntimeError("quote parser choked")


async def test_a_gtt_whose_price_cannot_be_read_is_refused() -> None:
    """Any other failure to read the quote: the caller's last price is not trusted unchecked;
    the GTT is refused naming ``last_price`` and saying why, and nothing reaches the broker."""
    broker = BrokenQuotes()
    async with OrderDesk(broker, MemoryStore()) as desk:
        with pytest.raises(ValidationError) as refused:
            await desk.triggers.place_gtt("swing", STOP)
    assert refused.value.field == "last_price"
    assert refused.value.reason.startswith("the desk could not read NSE:INFY's price to check it")
    assert "quote parser choked" in refused.value.reason
    assert broker.sent == []


async def test_a_price_alert_on_an_unknown_instrument_is_refused() -> None:
    """A simple alert on an instrument the desk's list does not hold (NSE:FOOBAR) is refused
    naming ``instrument``, as a GTT's is, on creating and on modifying; nothing reaches the
    broker."""
    broker = TriggerBroker()
    foobar = InstrumentKey.parse("NSE:FOOBAR")
    alert = PriceAlert(name="watch", instrument=INFY, operator=">=", value=Decimal(1600))
    async with OrderDesk(broker, MemoryStore()) as desk:
        with pytest.raises(ValidationError) as created:
            await desk.triggers.place_alert("swing", replace(alert, instrument=foobar))
        kept = await desk.triggers.place_alert("swing", alert)
        with pytest.raises(ValidationError) as modified:
            await desk.triggers.modify_alert(kept.trigger_id, replace(alert, instrument=foobar))
    unknown = ("instrument", "unknown instrument NSE:FOOBAR")
    assert (_refusal(created), _refusal(modified)) == (unknown, unknown)
    assert broker.sent == ["create_alert"]
