"""A modify's words say the trigger it asks for, as a placement's and an outside modify's do."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from orderdesk.api.event_words import describe
from orderdesk.domain.events import OrderModified, OrderModifyRequested
from orderdesk.domain.values import OrderType

AT = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)


def test_a_modify_sent_says_its_trigger() -> None:
    stop_limit = OrderModifyRequested(
        at=AT,
        order_id="od1",
        quantity=12,
        order_type=OrderType.SL,
        price=Decimal("837.5"),
        trigger_price=Decimal("836"),
    )
    stop_market = OrderModifyRequested(
        at=AT,
        order_id="od1",
        quantity=1,
        order_type=OrderType.SL_M,
        price=None,
        trigger_price=Decimal("831"),
    )
    assert describe(stop_limit) == "Modify sent: 12 SL @ 837.5 trigger 836"
    assert describe(stop_market) == "Modify sent: 1 SL-M at market trigger 831"


def test_a_modify_without_a_trigger_reads_as_before() -> None:
    limit = OrderModifyRequested(
        at=AT,
        order_id="od1",
        quantity=12,
        order_type=OrderType.LIMIT,
        price=Decimal("837.5"),
        trigger_price=None,
    )
    assert describe(limit) == "Modify sent: 12 LIMIT @ 837.5"


def test_modified_inside_and_outside_say_the_trigger_too() -> None:
    terms = {
        "at": AT,
        "order_id": "od1",
        "quantity": 1,
        "order_type": OrderType.SL_M,
        "price": None,
        "trigger_price": Decimal("1600"),
    }
    assert describe(OrderModified(**terms)) == "Modified: 1 SL-M at market trigger 1600"
    assert describe(OrderModified(**terms, external=True)) == (
        "Modified outside orderdesk: 1 SL-M at market trigger 1600"
    )
