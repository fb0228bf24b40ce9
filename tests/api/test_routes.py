"""The JSON routes over a fake desk: status codes, error shapes, and the data they carry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orderdesk.api.desk import ReconcileFinding
from orderdesk.domain import InstrumentKey, Order
from orderdesk.ports.broker import ConnectionState
from tests.api.conftest import Api
from tests.domain.builders import signal
from tests.support import eventually

LIMIT_BUY: dict[str, Any] = {
    "instrument": "NSE:INFY",
    "side": "BUY",
    "quantity": 10,
    "order_type": "LIMIT",
    "product": "CNC",
    "price": "1500.05",
}


async def submit(api: Api, **overrides: Any) -> tuple[int, dict[str, Any]]:
    async with api.client.post("/api/signals", json={**LIMIT_BUY, **overrides}) as response:
        return response.status, await response.json()


async def test_submit_places_an_order_and_lists_it(api: Api) -> None:
    """A valid signal answers 201 with the open order, which the order list then shows."""
    status, body = await submit(api)
    assert status == 201
    assert body["outcome"] == "submitted"
    order = body["order"]
    assert order["status"] == "OPEN"
    assert order["instrument"] == "NSE:INFY"
    assert order["price"] == "1500.05"
    async with api.client.get("/api/orders") as response:
        listed = await response.json()
    assert [o["order_id"] for o in listed] == [order["order_id"]]
    async with api.client.get(f"/api/orders/{order['order_id']}") as response:
        assert (await response.json())["order_id"] == order["order_id"]


async def test_schema_problems_are_422_naming_the_field(api: Api) -> None:
    """A negative quantity is refused by the edge model with the field named."""
    status, body = await submit(api, quantity=-5)
    assert status == 422
    assert body["error"] == "invalid_request"
    assert [f["field"] for f in body["fields"]] == ["quantity"]
    assert "-5" not in body["message"]


async def test_domain_validation_is_400_naming_the_field(api: Api) -> None:
    """A LIMIT order without a price passes the schema but the domain names ``price``."""
    status, body = await submit(api, price=None)
    assert status == 400
    assert body["error"] == "invalid_signal"
    assert body["fields"] == [{"field": "price", "reason": "is required for a LIMIT order"}]


async def test_bad_instrument_is_400_naming_instrument(api: Api) -> None:
    """An instrument without an exchange prefix is refused with the field named."""
    status, body = await submit(api, instrument="INFY")
    assert status == 400
    assert body["fields"][0]["field"] == "instrument"


async def test_risk_denial_is_403_with_the_check_and_reason(api: Api) -> None:
    """A signal over the desk's quantity limit answers 403 naming the check."""
    status, body = await submit(api, quantity=50_000)
    assert status == 403
    assert body == {
        "error": "risk_denied",
        "message": "quantity exceeds 10000",
        "fields": [],
        "check": "max_quantity",
    }


async def test_kill_switch_refuses_new_signals_until_released(api: Api) -> None:
    """Engaging the kill switch turns submits into 403s; releasing it lets them through."""
    async with api.client.post(
        "/api/kill-switch", json={"engaged": True, "reason": "test halt"}
    ) as response:
        assert await response.json() == {
            "engaged": True,
            "reason": "test halt",
            "cancelled": [],
            "kept": [],
        }
    status, body = await submit(api)
    assert (status, body["check"]) == (403, "kill_switch")
    assert "test halt" in body["message"]
    async with api.client.post("/api/kill-switch", json={"engaged": False}) as response:
        assert (await response.json())["engaged"] is False
    status, _ = await submit(api)
    assert status == 201


async def test_engaging_with_cancel_open_cancels_working_orders(api: Api) -> None:
    """The kill switch's cancel_open flag cancels what is open at the broker, and the answer
    names the orders a cancel was sent for."""
    _, body = await submit(api)
    async with api.client.post(
        "/api/kill-switch", json={"engaged": True, "cancel_open": True}
    ) as response:
        assert (await response.json())["cancelled"] == [body["order"]["order_id"]]
    async with api.client.get(f"/api/orders/{body['order']['order_id']}") as response:
        assert (await response.json())["status"] == "CANCELLED"


async def test_modify_and_cancel_an_order(api: Api) -> None:
    """PATCH changes the price; DELETE cancels; a second cancel is a 409 conflict that says
    the order is already cancelled (not the state machine's "CANCELLED -> REQUEST_CANCEL")."""
    _, body = await submit(api)
    order_id = body["order"]["order_id"]
    async with api.client.patch(f"/api/orders/{order_id}", json={"price": "1499.5"}) as response:
        assert response.status == 200
        assert (await response.json())["price"] == "1499.5"
    async with api.client.delete(f"/api/orders/{order_id}") as response:
        assert (await response.json())["status"] == "CANCELLED"
    async with api.client.delete(f"/api/orders/{order_id}") as response:
        again = await response.json()
    assert response.status == 409
    assert again["error"] == "conflict"
    assert again["message"] == "the order is already cancelled; nothing to cancel"


@pytest.mark.parametrize("changes", [{}, {"price": None, "quantity": None}])
async def test_a_modify_that_changes_nothing_is_refused_and_not_sent(
    api: Api, changes: dict[str, None]
) -> None:
    """`PATCH {}` was sent to the broker as it was: one of the order's 25 modifications and a
    slot of the order rate spent on nothing (the CLI already refused it)."""
    _, body = await submit(api)
    order_id = body["order"]["order_id"]
    async with api.client.patch(f"/api/orders/{order_id}", json=changes) as response:
        refused = await response.json()
    assert response.status == 422
    assert "say what to change" in refused["message"]
    assert api.desk.orders()[0].modifications == 0


async def test_cancel_all_cancels_only_open_orders(api: Api) -> None:
    """Cancel-all answers with the orders it cancelled and leaves filled ones alone."""
    _, first = await submit(api, signal_id="a")
    _, second = await submit(api, signal_id="b")
    api.desk.fill(first["order"]["order_id"], Decimal("1500"))
    async with api.client.post("/api/orders/cancel-all") as response:
        cancelled = await response.json()
    assert [o["order_id"] for o in cancelled] == [second["order"]["order_id"]]


async def test_unknown_order_is_404(api: Api) -> None:
    """Asking about an order the desk does not know is a 404 with the id in the message."""
    async with api.client.delete("/api/orders/odnosuchorder") as response:
        body = await response.json()
    assert response.status == 404
    assert "odnosuchorder" in body["message"]


async def test_positions_show_pnl_at_the_last_tick(api: Api) -> None:
    """After a fill and a tick, the position carries exact realised and unrealised P&L."""
    _, body = await submit(api)
    api.desk.fill(body["order"]["order_id"], Decimal("1500.05"))
    api.desk.tick(InstrumentKey.parse("NSE:INFY"), Decimal("1510.05"))
    async with api.client.get("/api/positions") as response:
        positions = await response.json()
    assert len(positions) == 1
    assert positions[0]["quantity"] == 10
    assert Decimal(positions[0]["unrealised"]) == Decimal("100.00")
    assert Decimal(positions[0]["pnl"]) == Decimal("100.00")


async def test_health_reports_a_lost_broker_connection(api: Api) -> None:
    """Health is ``ok`` while the broker stream is up and ``degraded`` when it is not."""
    async with api.client.get("/api/health") as response:
        assert (await response.json())["status"] == "ok"
    api.desk.connection = None
    async with api.client.get("/api/health") as response:
        assert (await response.json())["status"] == "ok"
    api.desk.connection = ConnectionState.DISCONNECTED
    async with api.client.get("/api/health") as response:
        health = await response.json()
    assert health["status"] == "degraded"
    assert health["broker_connection"] == "DISCONNECTED"


async def test_health_counts_no_parent_or_unsent_intent_as_an_open_order(api: Api) -> None:
    """A sliced order's parent (never at the broker) and an intent not sent yet stay
    INITIALIZED: `orderdesk status` said '1 open order' after cancel-all had ended them all."""
    await submit(api)
    parent = Order.from_events([Order.create("odparent000000000001", signal(), api.desk.now())])
    api.desk._orders[parent.order_id] = parent
    async with api.client.get("/api/health") as response:
        assert (await response.json())["open_orders"] == 1


async def test_metrics_are_prometheus_text(api: Api) -> None:
    """The metrics page counts orders by status and denied signals in exposition format."""
    await submit(api)
    await submit(api, quantity=50_000)
    async with api.client.get("/metrics") as response:
        text = await response.text()
        content_type = response.headers["Content-Type"]
    assert content_type.startswith("text/plain; version=0.0.4")
    lines = text.splitlines()
    assert 'orderdesk_orders{status="OPEN"} 1' in lines
    assert "orderdesk_broker_connection_up 1" in lines
    assert "# TYPE orderdesk_signals_denied_total counter" in lines

    # Counters are fed by the event stream, so they may trail the request by a moment.
    async def denied_counted() -> bool:
        async with api.client.get("/metrics") as again:
            body = await again.text()
        return 'orderdesk_signals_denied_total{check="max_quantity"} 1' in body.splitlines()

    await eventually(denied_counted, what="the denied signal in the metrics")


async def test_reconcile_reports_findings(api: Api) -> None:
    """POST /api/reconcile answers the desk's findings and whether it is in agreement."""
    async with api.client.post("/api/reconcile") as response:
        assert response.status == 200
        assert (await response.json())["ok"] is True
    api.desk.findings.append(ReconcileFinding("external_order", "od1", "adopted 123"))
    async with api.client.post("/api/reconcile") as response:
        body = await response.json()
    assert body["ok"] is False
    assert body["findings"] == [
        {"kind": "external_order", "order_id": "od1", "detail": "adopted 123"}
    ]


async def test_an_order_says_its_validity_and_variety_terms(api: Api) -> None:
    """The order's row had no validity: the dashboard's dialogs said "DAY" for a TTL order and
    "undefined legs of undefined" for an iceberg."""
    _, ttl = await submit(api, signal_id="ttl", validity="TTL", validity_ttl=30)
    _, iceberg = await submit(
        api, signal_id="ice", variety="iceberg", iceberg_legs=2, iceberg_quantity=5
    )
    assert (ttl["order"]["validity"], ttl["order"]["validity_ttl"]) == ("TTL", 30)
    assert (iceberg["order"]["iceberg_legs"], iceberg["order"]["iceberg_quantity"]) == (2, 5)
    assert iceberg["order"]["validity"] == "DAY"
