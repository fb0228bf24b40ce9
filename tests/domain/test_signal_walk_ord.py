"""Order kinds a signal refuses before anything is sent (the operator's walk of uncommon order
kinds): an iceberg leg of part of a lot, which the broker filled and left a position no exit
could close, and a disclosed quantity outside equity, which the broker refused at the cost of
an order request."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from orderdesk.domain import InstrumentKey, OrderType, Product, Side, Signal, Variety
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.events import OrderCreated
from orderdesk.domain.order import Order
from orderdesk.store.codec import from_record, to_record
from tests.domain.builders import AT

NIFTY_PE = InstrumentKey.parse("NFO:NIFTY26D1524500PE")
LOT = 65


def iceberg(quantity: int, legs: int, leg: int) -> Signal:
    return Signal(
        instrument=NIFTY_PE,
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        product=Product.NRML,
        price=Decimal(41),
        variety=Variety.ICEBERG,
        iceberg_legs=legs,
        iceberg_quantity=leg,
    )


def test_an_iceberg_leg_of_part_of_a_lot_is_refused_naming_the_leg() -> None:
    """1,300 (20 lots) in 4 legs of 330: the quantity is whole lots, the leg is not; refused
    naming iceberg_quantity (the walk's order, which was sent and filled a 330 leg)."""
    with pytest.raises(ValidationError) as refused:
        iceberg(1300, 4, 330).check_lot_size(LOT)
    assert refused.value.field == "iceberg_quantity"
    assert "330 is not a multiple of lot 65" in str(refused.value)


def test_an_iceberg_whose_last_leg_is_part_of_a_lot_is_refused() -> None:
    """1,300 in 5 legs of 324 would leave a last leg of 1300 − 4 × 324 = 4 units: refused at
    the leg (a last leg of part of a lot comes only of legs that are), naming it."""
    with pytest.raises(ValidationError) as refused:
        iceberg(1300, 5, 324).check_lot_size(LOT)
    assert refused.value.field == "iceberg_quantity"


@pytest.mark.parametrize(("legs", "leg"), [(4, 325), (4, 390), (2, 650)])
def test_an_iceberg_of_whole_lot_legs_passes(legs: int, leg: int) -> None:
    """Legs of whole lots pass, a shorter last leg (1300 − 3 × 390 = 130, two lots) too."""
    iceberg(1300, legs, leg).check_lot_size(LOT)


def test_a_plain_order_off_the_lot_is_still_refused_naming_the_quantity() -> None:
    """The quantity is checked first, as before."""
    plain = Signal(
        instrument=NIFTY_PE,
        side=Side.BUY,
        quantity=100,
        order_type=OrderType.LIMIT,
        product=Product.NRML,
        price=Decimal(41),
    )
    with pytest.raises(ValidationError) as refused:
        plain.check_lot_size(LOT)
    assert refused.value.field == "quantity"


def _disclosed(exchange: str) -> Signal:
    return Signal(
        instrument=InstrumentKey.parse(f"{exchange}:SOMETHING"),
        side=Side.BUY,
        quantity=130,
        order_type=OrderType.LIMIT,
        product=Product.NRML,
        price=Decimal(41),
        disclosed_quantity=65,
    )


@pytest.mark.parametrize("exchange", ["NFO", "BFO", "MCX", "CDS"])
def test_a_disclosed_quantity_outside_equity_is_refused_naming_the_field(exchange: str) -> None:
    """The broker refuses it outside NSE and BSE: the intake does, before anything is sent
    (whether or not the desk's instrument list holds the instrument)."""
    with pytest.raises(ValidationError) as refused:
        _disclosed(exchange).check_disclosed_quantity()
    assert refused.value.field == "disclosed_quantity"
    assert f"not to {exchange}" in str(refused.value)


def test_a_logged_signal_with_a_disclosed_quantity_outside_equity_is_still_read() -> None:
    """The walk's log holds such signals (sent, and refused by the broker): the log rebuilds
    them through the constructor, which must not refuse them, or the desk could not start."""
    created = Order.create("od1", _disclosed("NSE"), AT)
    kind, payload = to_record(created)
    payload = json.loads(json.dumps(payload).replace('"NSE"', '"NFO"'))
    read = from_record(kind, payload)
    assert isinstance(read, OrderCreated)
    assert str(read.signal.instrument) == "NFO:SOMETHING"
    assert read.signal.disclosed_quantity == 65


@pytest.mark.parametrize("exchange", ["NSE", "BSE"])
def test_a_disclosed_quantity_on_equity_is_taken(exchange: str) -> None:
    """On NSE and BSE it stays what it was."""
    taken = _disclosed(exchange)
    taken.check_disclosed_quantity()
    assert taken.disclosed_quantity == 65
