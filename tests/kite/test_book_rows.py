"""Reading the order book again: rows that did not change keep the reports made of them."""

from __future__ import annotations

from typing import Any

import pytest

from orderdesk.brokers.kite.client import KiteRestClient
from orderdesk.brokers.kite.errors import InputException, MalformedResponse, TokenException
from orderdesk.domain.status import BrokerStatus

from .conftest import FakeKite, Reply


def row(order_id: str, status: str = "OPEN", filled: int = 0) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "status": status,
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "order_type": "LIMIT",
        "product": "CNC",
        "quantity": 2,
        "filled_quantity": filled,
        "pending_quantity": 2 - filled,
        "price": 1400.5,
        "order_timestamp": "2026-12-04 09:15:02",
        "tag": f"od{order_id}",
    }


def book(*rows: dict[str, Any]) -> Reply:
    return Reply.json({"status": "success", "data": list(rows)})


async def test_unchanged_rows_keep_their_reports_and_changed_ones_are_read_again(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """A second read of the book hands back the very reports of rows that did not change, a
    fresh one for a row that did, and nothing of an order the book no longer holds."""
    fake_kite.on(
        "GET",
        "/orders",
        book(row("1"), row("2"), row("3")),
        book(row("1"), row("2", "COMPLETE", filled=2), row("4")),
    )
    first = await kite.orders()
    second = await kite.orders()
    assert second[0] is first[0]
    assert second[1] is not first[1]
    assert (second[1].status, second[1].filled_quantity) == (BrokerStatus.COMPLETE, 2)
    assert [r.broker_order_id for r in second] == ["1", "2", "4"]
    assert second[2].status is BrokerStatus.OPEN


async def test_a_malformed_row_names_its_place_in_the_book(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """A row that does not validate is reported with its index, also when the rows before it
    were known from the last read."""
    broken = {k: v for k, v in row("2").items() if k != "filled_quantity"}
    fake_kite.on("GET", "/orders", book(row("1")), book(row("1"), broken))
    await kite.orders()
    with pytest.raises(MalformedResponse) as exc_info:
        await kite.orders()
    assert exc_info.value.field == "data[1].filled_quantity"


async def test_a_book_that_is_not_a_list_is_malformed(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """``data`` that is not a list of rows is malformed, naming ``data``."""
    fake_kite.on("GET", "/orders", Reply.json({"status": "success", "data": {"rows": []}}))
    with pytest.raises(MalformedResponse) as exc_info:
        await kite.orders()
    assert exc_info.value.field.startswith("data")


async def test_an_error_envelope_with_http_200_is_the_error_it_names(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """The rows are handed over undecoded only from a successful envelope: an error one, even
    with HTTP 200 or a ``status`` of success beside an ``error_type``, raises what it names."""
    fake_kite.on(
        "GET",
        "/orders",
        Reply.error(200, "TokenException", "token expired"),
        Reply.json({"status": "success", "error_type": "InputException", "data": [row("1")]}),
    )
    with pytest.raises(TokenException, match="token expired"):
        await kite.orders()
    with pytest.raises(InputException):
        await kite.orders()


async def test_a_book_read_the_general_way_gives_the_same_reports(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """An envelope without ``status`` is read as any reply is, its rows decoded whole: the
    reports are those of the usual envelope, and a row read both ways is mapped alike."""
    fake_kite.on(
        "GET",
        "/orders",
        book(row("1"), row("2", "COMPLETE", filled=2)),
        Reply.json({"data": [row("1"), row("2", "COMPLETE", filled=2)]}),
    )
    usual = await kite.orders()
    general = await kite.orders()
    assert general == usual
    assert [r.status for r in general] == [BrokerStatus.OPEN, BrokerStatus.COMPLETE]


def trade(trade_id: str, order_id: str = "1") -> dict[str, Any]:
    return {
        "trade_id": trade_id,
        "order_id": order_id,
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "product": "CNC",
        "quantity": 1,
        "average_price": 1400.5,
        "fill_timestamp": "2026-12-04 09:15:03",
        "order_timestamp": "09:15:03",
        "exchange_timestamp": "2026-12-04 09:15:03",
    }


async def test_the_trade_book_keeps_the_fills_of_trades_it_read_before(
    fake_kite: FakeKite, kite: KiteRestClient
) -> None:
    """The trade book is read the same way: a trade read before is the very fill made of it,
    a new one is read, and a malformed one names its place."""
    broken = {k: v for k, v in trade("T3").items() if k != "quantity"}
    fake_kite.on(
        "GET",
        "/trades",
        Reply.json({"status": "success", "data": [trade("T1")]}),
        Reply.json({"status": "success", "data": [trade("T1"), trade("T2")]}),
        Reply.json({"status": "success", "data": [trade("T1"), broken]}),
    )
    first = await kite.trades()
    second = await kite.trades()
    assert second[0] is first[0]
    assert [f.trade_id for f in second] == ["T1", "T2"]
    assert second[1].quantity == 1
    with pytest.raises(MalformedResponse) as exc_info:
        await kite.trades()
    assert exc_info.value.field == "data[1].quantity"
