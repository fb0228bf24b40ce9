"""The reports a broker adapter builds refuse a wrong type in a money, quantity or id field at
construction, naming the report, the field and the value. A float fill price from an adapter
used to be half-applied (the order FILLED, the position still 0), written to the event log as a
JSON float, and replayed into a position the live desk never had."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.domain.reports import (
    AlertOrder,
    Charges,
    Fill,
    GttOrderLeg,
    GttTrigger,
    HoldingReport,
    InstrumentInfo,
    OrderMargin,
    OrderStatusReport,
    PositionReport,
    PriceAlert,
    Quote,
    SegmentMargins,
)
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import (
    InstrumentKey,
    OrderType,
    Product,
    Side,
    Validity,
    Variety,
)

INFY = InstrumentKey.parse("NSE:INFY")
D = Decimal("1500.10")

VALID: dict[type[Any], dict[str, Any]] = {
    OrderStatusReport: dict(
        broker_order_id="2300001",
        status=BrokerStatus.COMPLETE,
        broker_status_text="COMPLETE",
        instrument=INFY,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        variety=Variety.REGULAR,
        validity=Validity.DAY,
        quantity=1,
        filled_quantity=1,
        pending_quantity=0,
        price=D,
        average_price=D,
    ),
    Fill: dict(
        trade_id="T1",
        broker_order_id="2300001",
        instrument=INFY,
        side=Side.BUY,
        product=Product.CNC,
        quantity=1,
        price=D,
    ),
    PositionReport: dict(
        instrument=INFY,
        product=Product.CNC,
        quantity=1,
        overnight_quantity=0,
        multiplier=Decimal(1),
        average_price=D,
        last_price=D,
        close_price=D,
        pnl=Decimal(0),
        realised=Decimal(0),
        unrealised=Decimal(0),
        m2m=Decimal(0),
        buy_quantity=1,
        buy_value=D,
        sell_quantity=0,
        sell_value=Decimal(0),
    ),
    HoldingReport: dict(
        instrument=INFY,
        isin="INE009A01021",
        quantity=1,
        t1_quantity=0,
        average_price=D,
        last_price=D,
        close_price=D,
        pnl=Decimal(0),
    ),
    SegmentMargins: dict(
        enabled=True,
        net=D,
        cash=D,
        opening_balance=D,
        live_balance=D,
        collateral=Decimal(0),
        utilised_debits=Decimal(0),
        utilised_exposure=Decimal(0),
        utilised_span=Decimal(0),
    ),
    OrderMargin: dict(instrument=INFY, total=D),
    Charges: dict(
        broker_order_id="2300001",
        instrument=INFY,
        transaction_tax=D,
        exchange_turnover_charge=D,
        sebi_turnover_charge=D,
        brokerage=D,
        stamp_duty=D,
        gst=D,
        total=D,
    ),
    Quote: dict(instrument=INFY, instrument_token=408065, last_price=D),
    InstrumentInfo: dict(
        instrument=INFY,
        instrument_token=408065,
        name="INFOSYS",
        instrument_type="EQ",
        segment="NSE",
        tick_size=Decimal("0.05"),
        lot_size=1,
    ),
    GttOrderLeg: dict(side=Side.SELL, quantity=1, price=D, product=Product.CNC),
    GttTrigger: dict(instrument=INFY, trigger_values=(D,), last_price=D, orders=()),
    AlertOrder: dict(instrument=INFY, side=Side.BUY, quantity=1, product=Product.CNC, price=D),
    PriceAlert: dict(name="infy", instrument=INFY, operator=">=", value=D),
}

MONEY = {
    OrderStatusReport: "average_price",
    Fill: "price",
    PositionReport: "average_price",
    HoldingReport: "average_price",
    SegmentMargins: "cash",
    OrderMargin: "total",
    Charges: "total",
    Quote: "last_price",
    InstrumentInfo: "tick_size",
    GttOrderLeg: "price",
    GttTrigger: "last_price",
    AlertOrder: "price",
    PriceAlert: "value",
}

QUANTITY = {
    OrderStatusReport: "filled_quantity",
    Fill: "quantity",
    PositionReport: "quantity",
    HoldingReport: "quantity",
    Quote: "volume",
    InstrumentInfo: "lot_size",
    GttOrderLeg: "quantity",
    AlertOrder: "quantity",
}

IDS = {
    OrderStatusReport: "broker_order_id",
    Fill: "trade_id",
    Charges: "broker_order_id",
}


def ids(value: object) -> str:
    return value.__name__ if isinstance(value, type) else str(value)


@pytest.mark.parametrize("kind", list(VALID), ids=ids)
def test_each_report_builds_from_right_types(kind: type[Any]) -> None:
    assert kind(**VALID[kind]) is not None


@pytest.mark.parametrize(("kind", "name"), list(MONEY.items()), ids=ids)
def test_a_float_money_value_is_refused_naming_the_field(kind: type[Any], name: str) -> None:
    with pytest.raises(TypeError) as raised:
        kind(**{**VALID[kind], name: 1500.1})

    assert str(raised.value) == (
        f"{kind.__name__}.{name} must be a Decimal, not float 1500.1 "
        "(a broker adapter builds reports with Decimal money)"
    )


@pytest.mark.parametrize(("kind", "name"), list(MONEY.items()), ids=ids)
def test_an_int_money_value_is_refused_too(kind: type[Any], name: str) -> None:
    """Exact, but not a Decimal: the engine quantizes money and the log writes it as a string."""
    with pytest.raises(TypeError, match=rf"^{kind.__name__}\.{name} must be a Decimal, not int"):
        kind(**{**VALID[kind], name: 1500})


@pytest.mark.parametrize(("kind", "name"), list(QUANTITY.items()), ids=ids)
@pytest.mark.parametrize("wrong", [1.0, True, "1", Decimal(1)])
def test_a_quantity_that_is_not_an_int_is_refused(
    kind: type[Any], name: str, wrong: object
) -> None:
    with pytest.raises(TypeError) as raised:
        kind(**{**VALID[kind], name: wrong})

    assert str(raised.value) == (
        f"{kind.__name__}.{name} must be an int, not {type(wrong).__name__} {wrong!r} "
        "(a broker adapter builds reports with int quantities)"
    )


@pytest.mark.parametrize(("kind", "name"), list(IDS.items()), ids=ids)
def test_an_id_that_is_not_a_str_is_refused(kind: type[Any], name: str) -> None:
    with pytest.raises(TypeError, match=rf"^{kind.__name__}\.{name} must be a str, not int 7"):
        kind(**{**VALID[kind], name: 7})


def test_optional_fields_take_none_and_refuse_a_wrong_type() -> None:
    assert Quote(**VALID[Quote], upper_circuit_limit=None).upper_circuit_limit is None
    with pytest.raises(TypeError, match=r"^Quote\.upper_circuit_limit must be a Decimal"):
        Quote(**VALID[Quote], upper_circuit_limit=1650.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^Fill\.exchange_order_id must be a str, not int"):
        Fill(**VALID[Fill], exchange_order_id=1100000000012345)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^PositionReport\.instrument_token must be an int"):
        PositionReport(**VALID[PositionReport], instrument_token="408065")  # type: ignore[arg-type]


def test_a_gtt_names_the_wrong_trigger_value() -> None:
    with pytest.raises(TypeError, match=r"^GttTrigger\.trigger_values\[1\] must be a Decimal"):
        GttTrigger(**{**VALID[GttTrigger], "trigger_values": (D, 1400.5)})


def test_replace_is_held_to_the_same_types() -> None:
    """An adapter (or the engine) changing a report with dataclasses.replace is checked too."""
    report = OrderStatusReport(**VALID[OrderStatusReport])
    with pytest.raises(TypeError, match=r"^OrderStatusReport\.average_price must be a Decimal"):
        dataclasses.replace(report, average_price=1500.1)  # type: ignore[arg-type]


def test_a_decimal_subclass_is_a_decimal() -> None:
    class Money(Decimal):
        pass

    assert Fill(**{**VALID[Fill], "price": Money("1500.10")}).price == D
