"""Being at a loss limit shows where a person looks, not only in the alert that said so: the
health (``orderdesk status``) and each strategy's row. An operator walk had the desk at
-22,172 past its 20,000 limit, every new risk refused, and ``status`` saying ``desk ok``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orderdesk.domain import InstrumentKey
from tests.api.conftest import Api

INFY = InstrumentKey.parse("NSE:INFY")


async def _lose(api: Api, strategy: str, to: str) -> None:
    """Buy 10 INFY at 1500 for ``strategy`` and mark it at ``to``."""
    signal = {
        "instrument": "NSE:INFY",
        "side": "BUY",
        "quantity": 10,
        "order_type": "LIMIT",
        "product": "CNC",
        "price": "1500",
        "strategy": strategy,
    }
    async with api.client.post("/api/signals", json=signal) as response:
        body = await response.json()
    api.desk.fill(body["order"]["order_id"], Decimal("1500"))
    api.desk.tick(INFY, Decimal(to))


async def _get(api: Api, path: str) -> Any:
    async with api.client.get(path) as response:
        assert response.status == 200
        return await response.json()


async def test_health_says_when_the_desk_is_at_its_loss_limit(api: Api) -> None:
    api.desk.loss_limit = Decimal("1000")
    await _lose(api, "alpha", "1450")
    within = (await _get(api, "/api/health"))["loss_limit"]
    assert within == {
        "limit": "1000",
        "day_pnl": "-500.00",
        "reached": False,
        "strategies_at_limit": [],
    }
    api.desk.tick(INFY, Decimal("1399.99"))
    past = (await _get(api, "/api/health"))["loss_limit"]
    assert past["reached"] is True
    assert past["day_pnl"] == "-1000.10"


async def test_no_limit_is_never_reached(api: Api) -> None:
    await _lose(api, "alpha", "1000")
    shown = (await _get(api, "/api/health"))["loss_limit"]
    assert shown["limit"] is None
    assert shown["reached"] is False


async def test_a_strategy_past_its_own_limit_is_named(api: Api) -> None:
    api.desk.strategy_loss_limits = {"alpha": Decimal("300"), "beta": Decimal("300")}
    await _lose(api, "alpha", "1450")
    health = await _get(api, "/api/health")
    assert health["loss_limit"]["strategies_at_limit"] == ["alpha"]
    assert health["loss_limit"]["reached"] is False  # no desk-wide limit
    (row,) = await _get(api, "/api/strategies")
    assert row["strategy"] == "alpha"
    assert row["loss_limit"] == "300"
    assert row["at_loss_limit"] is True
