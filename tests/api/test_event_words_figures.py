"""The timeline's words give an average price to the paisa and a session's end in IST, as the
rest of the desk does (they read "9 filled at 796.0944444444444" and "valid until 2026-12-09
00:30 UTC" beside alerts saying 06:00 IST)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from orderdesk.api.event_words import describe
from orderdesk.domain.events import OrderStatusChanged, SessionRenewed
from orderdesk.domain.status import BrokerStatus, OrderStatus

AT = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)


def _partly_filled(average: str) -> OrderStatusChanged:
    return OrderStatusChanged(
        at=AT,
        order_id="od1",
        status=OrderStatus.PARTIALLY_FILLED,
        base_status=OrderStatus.PARTIALLY_FILLED,
        broker_status=BrokerStatus.OPEN,
        broker_status_text="OPEN",
        filled_quantity=9,
        average_price=Decimal(average),
        broker_order_id="250000000000001",
    )


def test_an_average_of_several_fills_is_said_to_the_paisa() -> None:
    assert describe(_partly_filled("796.0944444444444")) == "Broker: OPEN, 9 filled at 796.09"


def test_a_price_already_to_the_paisa_is_said_as_it_is() -> None:
    assert describe(_partly_filled("1490")) == "Broker: OPEN, 9 filled at 1490"
    assert describe(_partly_filled("796.05")) == "Broker: OPEN, 9 filled at 796.05"


def test_a_sessions_end_is_said_in_ist() -> None:
    renewed = SessionRenewed(
        at=AT, expires_at=datetime(2026, 12, 9, 0, 30, tzinfo=UTC), source="api"
    )
    assert describe(renewed) == "Broker session renewed, valid until 2026-12-09 06:00 IST"
