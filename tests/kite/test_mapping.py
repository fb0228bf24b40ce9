"""Kite ⇄ domain mapping: explicit tables, IST → UTC, Decimal money, request bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from orderdesk.brokers.kite import mapping
from orderdesk.brokers.kite.errors import MalformedResponse
from orderdesk.brokers.kite.mapping import (
    KITE_STATUS,
    broker_status,
    modify_form,
    order_update_to_report,
    place_form,
)
from orderdesk.brokers.kite.schemas import ist_to_utc
from orderdesk.domain.signal import Signal
from orderdesk.domain.status import BrokerStatus
from orderdesk.domain.values import (
    Exchange,
    InstrumentKey,
    OrderType,
    Product,
    Side,
    Validity,
    Variety,
)
from orderdesk.ports.broker import OrderChanges, PlaceOrder

# KITE_API.md §4.6 (final, resting and transient statuses, plus NOT MODIFIED seen in the wild).
SECTION_4_6 = {
    "COMPLETE": BrokerStatus.COMPLETE,
    "CANCELLED": BrokerStatus.CANCELLED,
    "REJECTED": BrokerStatus.REJECTED,
    "OPEN": BrokerStatus.OPEN,
    "TRIGGER PENDING": BrokerStatus.TRIGGER_PENDING,
    "PUT ORDER REQ RECEIVED": BrokerStatus.RECEIVED,
    "AMO REQ RECEIVED": BrokerStatus.RECEIVED,
    "VALIDATION PENDING": BrokerStatus.RECEIVED,
    "OPEN PENDING": BrokerStatus.RECEIVED,
    "MODIFY VALIDATION PENDING": BrokerStatus.MODIFY_PENDING,
    "MODIFY PENDING": BrokerStatus.MODIFY_PENDING,
    "MODIFIED": BrokerStatus.MODIFIED,
    "NOT MODIFIED": BrokerStatus.MODIFY_REJECTED,
    "CANCEL PENDING": BrokerStatus.CANCEL_PENDING,
}
CLIENT_ID = "od0123456789abcdefgh"
INFY = InstrumentKey(Exchange.NSE, "INFY")


def test_every_documented_status_is_mapped() -> None:
    """Each status of KITE_API.md §4.6 has an entry with the intended broker status."""
    assert {name: KITE_STATUS.get(name) for name in SECTION_4_6} == SECTION_4_6
    assert set(KITE_STATUS) == set(SECTION_4_6)


@pytest.mark.parametrize(
    "text", ["PUT ORDER REQUEST RECEIVED", "OPEN ", "open", "COMPLETE PARTIAL", "UPDATE", ""]
)
def test_unknown_status_is_unknown_never_a_substring_match(text: str) -> None:
    """Words that merely contain a known status, or differ in case, map to UNKNOWN."""
    assert broker_status(text) is BrokerStatus.UNKNOWN


@pytest.mark.parametrize(
    ("table", "enum"),
    [
        (mapping.EXCHANGES, Exchange),
        (mapping.SIDES, Side),
        (mapping.ORDER_TYPES, OrderType),
        (mapping.PRODUCTS, Product),
        (mapping.VARIETIES, Variety),
        (mapping.VALIDITIES, Validity),
    ],
)
def test_enum_tables_cover_every_domain_member(table: dict[str, Any], enum: type[Any]) -> None:
    """Every domain enum member has exactly one Kite word, so requests can always be written."""
    assert sorted(table.values()) == sorted(enum)


def test_ist_becomes_utc() -> None:
    """A naive IST timestamp is 5h30 ahead of UTC; an explicit offset is honoured."""
    assert ist_to_utc("2021-05-31 09:18:57") == datetime(2021, 5, 31, 3, 48, 57, tzinfo=UTC)
    assert ist_to_utc("2017-12-15T09:15:00+0530") == datetime(2017, 12, 15, 3, 45, tzinfo=UTC)


def _signal(**overrides: Any) -> Signal:
    fields: dict[str, Any] = {
        "instrument": INFY,
        "side": Side.BUY,
        "quantity": 10,
        "order_type": OrderType.LIMIT,
        "product": Product.CNC,
        "price": Decimal("1500.05"),
    }
    fields.update(overrides)
    return Signal(**fields)


def test_place_form_sends_client_id_as_tag_and_exact_prices() -> None:
    """A limit order's form carries the client order id as tag, the exact price, no protection."""
    form = place_form(PlaceOrder(CLIENT_ID, _signal()), market_protection=Decimal(-1))
    assert form == {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "order_type": "LIMIT",
        "quantity": "10",
        "product": "CNC",
        "validity": "DAY",
        "tag": CLIENT_ID,
        "price": "1500.05",
    }


@pytest.mark.parametrize("order_type", [OrderType.MARKET, OrderType.SL_M])
def test_market_and_slm_carry_market_protection(order_type: OrderType) -> None:
    """MARKET and SL-M orders carry the configured protection unless the signal names one."""
    trigger = Decimal("1490") if order_type is OrderType.SL_M else None
    signal = _signal(order_type=order_type, price=None, trigger_price=trigger, side=Side.SELL)
    form = place_form(PlaceOrder(CLIENT_ID, signal), market_protection=Decimal(-1))
    assert form["market_protection"] == "-1"
    own = _signal(
        order_type=order_type,
        price=None,
        trigger_price=trigger,
        side=Side.SELL,
        market_protection=Decimal("2.5"),
    )
    form = place_form(PlaceOrder(CLIENT_ID, own), market_protection=Decimal(-1))
    assert form["market_protection"] == "2.5"


def test_iceberg_ttl_and_auction_fields() -> None:
    """Variety-specific fields reach the form only for the varieties that use them."""
    iceberg = _signal(
        variety=Variety.ICEBERG,
        quantity=1000,
        iceberg_legs=5,
        iceberg_quantity=200,
        validity=Validity.TTL,
        validity_ttl=2,
    )
    form = place_form(PlaceOrder(CLIENT_ID, iceberg), market_protection=Decimal(-1))
    assert (form["iceberg_legs"], form["iceberg_quantity"]) == ("5", "200")
    assert (form["validity"], form["validity_ttl"]) == ("TTL", "2")
    auction = _signal(variety=Variety.AUCTION, auction_number="22")
    assert (
        place_form(PlaceOrder(CLIENT_ID, auction), market_protection=Decimal(-1))["auction_number"]
        == "22"
    )


def test_modify_form_sends_only_changes() -> None:
    """A modification sends just the changed terms, plus the parent id for a cover order leg."""
    changes = OrderChanges(price=Decimal("0.05"), quantity=3)
    form = modify_form(changes, parent_order_id=None, market_protection=Decimal(-1))
    assert form == {"quantity": "3", "price": "0.05"}
    to_market = OrderChanges(order_type=OrderType.MARKET)
    form = modify_form(to_market, parent_order_id="111", market_protection=Decimal(5))
    assert form == {"order_type": "MARKET", "market_protection": "5", "parent_order_id": "111"}


def _update(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "order_id": "220303000308932",
        "status": "OPEN",
        "exchange": "NSE",
        "tradingsymbol": "SBIN",
        "transaction_type": "BUY",
        "order_type": "LIMIT",
        "product": "CNC",
        "variety": "regular",
        "validity": "DAY",
        "quantity": 10,
        "filled_quantity": 0,
        "pending_quantity": 10,
        "price": 470.5,
        "order_timestamp": "2022-03-03 09:24:25",
        "unfilled_quantity": 10,
        "checksum": "ignored",
    }
    payload.update(overrides)
    return payload


def test_postback_update_with_partial_fill_is_open() -> None:
    """A postback UPDATE with a partial fill proves the order rests open at the exchange."""
    report = order_update_to_report(_update(status="UPDATE", filled_quantity=4, pending_quantity=6))
    assert report.status is BrokerStatus.OPEN
    assert report.broker_status_text == "UPDATE"
    assert report.filled_quantity == 4


def test_postback_update_without_fill_stays_unknown() -> None:
    """A postback UPDATE without a fill (a modification) is informational, not OPEN."""
    report = order_update_to_report(_update(status="UPDATE", order_type="SL", trigger_price=460))
    assert report.status is BrokerStatus.UNKNOWN
    assert report.trigger_price == Decimal(460)


def test_malformed_update_names_the_field() -> None:
    """An update without filled_quantity is a malformed-response error naming that field."""
    payload = _update()
    del payload["filled_quantity"]
    with pytest.raises(MalformedResponse) as exc_info:
        order_update_to_report(payload)
    assert exc_info.value.field == "filled_quantity"
    assert exc_info.value.endpoint == "order update"


def test_unknown_exchange_in_update_names_the_field() -> None:
    """An exchange orderdesk cannot trade is reported as malformed, naming ``exchange``."""
    with pytest.raises(MalformedResponse) as exc_info:
        order_update_to_report(_update(exchange="NCO"))
    assert exc_info.value.field == "exchange"
    assert "NCO" in exc_info.value.reason
