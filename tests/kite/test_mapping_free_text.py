"""Kite's free text reaches the domain as one line of printable text: a status_message or a
refusal with an ESC sequence, an OSC, a BEL or a newline drove the terminal that printed it and
forged lines of the desk's log."""

from __future__ import annotations

from typing import Any

import pytest

from orderdesk.brokers.kite.mapping import gtt, order_report, order_update_to_report
from orderdesk.brokers.kite.schemas import GttRow, OrderRow
from orderdesk.domain.text import one_line
from tests.kite.test_mapping import _update

HOSTILE = (
    "RMS:Margin Exceeds\n2026-12-07 INFO forged line\r\x1b[2J\x1b]0;owned\x07"
    "\x9b31m\x7f\ttab\u2028sep\x00end"
)
CLEAN = "RMS:Margin Exceeds 2026-12-07 INFO forged line [2J ]0;owned 31m tab sep end"


def _printable(text: str) -> bool:
    return all(c.isprintable() for c in text)


def test_one_line_replaces_each_run_of_control_characters_with_a_space() -> None:
    assert one_line(HOSTILE) == CLEAN
    assert _printable(CLEAN)
    # Kite's ordinary words, and text beyond ASCII, pass as they are.
    words = "Insufficient funds. Required margin is 1,250.00 — ₹ available 0"
    assert one_line(words) == words


@pytest.mark.parametrize("source", ["postback or ticker", "order book"])
def test_an_orders_status_message_and_status_are_one_line(source: str) -> None:
    payload: dict[str, Any] = _update(
        status="REJECTED", status_message=HOSTILE, filled_quantity=0, pending_quantity=0
    )
    if source == "order book":
        report = order_report(OrderRow.model_validate(payload))
    else:
        report = order_update_to_report(payload)
    assert report.status_message == CLEAN
    odd = order_update_to_report(_update(status="OPEN\x1b[31m\nPENDING"))
    assert odd.broker_status_text == "OPEN [31m PENDING"
    assert order_update_to_report(_update()).status_message is None


def test_a_gtt_legs_refusal_is_one_line() -> None:
    row = GttRow.model_validate(
        {
            "id": 7,
            "type": "single",
            "status": "triggered",
            "condition": {
                "exchange": "NSE",
                "tradingsymbol": "INFY",
                "trigger_values": [1500],
                "last_price": 1510,
            },
            "orders": [
                {
                    "exchange": "NSE",
                    "tradingsymbol": "INFY",
                    "transaction_type": "BUY",
                    "quantity": 1,
                    "price": 1500,
                    "product": "CNC",
                    "result": {"order_result": {"status": "failed", "rejection_reason": HOSTILE}},
                }
            ],
        }
    )
    assert gtt(row).refusals == (CLEAN,)
