"""Strategy code's two ways in: embedding the desk (``Runtime.submit``, through the approval
queue like the API) and a process of its own (``DeskClient`` with the domain ``Signal``)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from orderdesk import DeskClient, InstrumentKey, OrderStatus, OrderType, Product, Side, Signal
from orderdesk.approvals import ApprovalState, NotApproved
from orderdesk.client import DeskUnavailable
from orderdesk.config import ApiSettings, Settings, StrategySettings, TradingDaySettings
from orderdesk.domain.errors import ValidationError
from orderdesk.runtime import open_runtime
from tests.support import eventually

INFY = InstrumentKey.parse("NSE:INFY")


def settings(tmp_path: Path) -> Settings:
    """A paper desk with one strategy that waits for approval and one that does not."""
    return Settings(
        broker="paper",
        data_dir=tmp_path / "data",
        config_dir=tmp_path / "config",
        api=ApiSettings(port=0),
        trading_day=TradingDaySettings(enabled=False),
        strategies={"careful": StrategySettings(approval=True)},
        paper={"prices": {"NSE:INFY": "1500"}},  # type: ignore[call-arg]
    )


def market_buy(strategy: str, signal_id: str, quantity: int = 2) -> Signal:
    return Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.MARKET,
        product=Product.CNC,
        strategy=strategy,
        signal_id=signal_id,
    )


async def test_runtime_submit_waits_for_the_approval_its_strategy_asks_for(
    tmp_path: Path,
) -> None:
    """A signal of an `approval = true` strategy is parked, not placed, until the operator
    approves it; then submit returns the order's handle."""
    async with open_runtime(settings(tmp_path)) as runtime:
        submitted = asyncio.create_task(runtime.submit(market_buy("careful", "c-1")))
        parked = await eventually(runtime.approvals.pending, what="the parked signal")
        assert runtime.desk.orders() == []
        assert not submitted.done()

        await runtime.approvals.approve(parked[0].approval_id)
        handle = await submitted
        await handle.wait(timeout=10)

    assert handle.status is OrderStatus.FILLED
    assert handle.order.signal.strategy == "careful"


async def test_runtime_submit_raises_not_approved_when_the_operator_rejects(
    tmp_path: Path,
) -> None:
    """A rejected signal places nothing and submit raises NotApproved with the reason."""
    async with open_runtime(settings(tmp_path), serve=False) as runtime:
        submitted = asyncio.create_task(runtime.submit(market_buy("careful", "c-2")))
        parked = await eventually(runtime.approvals.pending, what="the parked signal")
        runtime.approvals.reject(parked[0].approval_id, "not today")
        with pytest.raises(NotApproved) as exc_info:
            await submitted
        orders = runtime.desk.orders()

    assert exc_info.value.state is ApprovalState.REJECTED
    assert "not today" in str(exc_info.value)
    assert orders == []


async def test_runtime_submit_places_at_once_without_approval(tmp_path: Path) -> None:
    """A strategy without `approval` goes straight to the desk."""
    async with open_runtime(settings(tmp_path), serve=False) as runtime:
        handle = await runtime.submit(market_buy("quick", "q-1"))
        await handle.wait(timeout=10)

    assert handle.status is OrderStatus.FILLED


@pytest.mark.parametrize("name", ["square_off", "external"])
async def test_runtime_submit_refuses_the_names_of_the_desks_own_orders(
    tmp_path: Path, name: str
) -> None:
    """Embedded strategy code may not call itself what the desk calls its own square-off or
    adopted orders, as the API may not: nothing is placed."""
    async with open_runtime(settings(tmp_path), serve=False) as runtime:
        with pytest.raises(ValidationError, match="the name of the desk's own orders"):
            await runtime.submit(market_buy(name, "r-1"))
        assert runtime.desk.orders() == []


async def test_desk_client_takes_the_domain_signal_and_waits_on_the_event_stream(
    tmp_path: Path,
) -> None:
    """DeskClient.submit takes a Signal; DeskClient.wait returns once the order is done, woken
    by the desk's event stream when the change comes after the wait began."""
    config = settings(tmp_path)
    async with open_runtime(config) as runtime, DeskClient.from_settings(config) as client:
        resting = Signal(
            instrument=INFY,
            side=Side.BUY,
            quantity=3,
            order_type=OrderType.LIMIT,
            product=Product.CNC,
            price=Decimal("1450"),
            strategy="quick",
            signal_id="q-2",
        )
        reply = await client.submit(resting)
        assert reply.order is not None
        order_id = reply.order.order_id
        opened = await client.wait(order_id, lambda o: o.status is OrderStatus.OPEN, timeout=10)
        done = asyncio.create_task(client.wait(order_id, timeout=10))
        await client.cancel(order_id)
        finished = await done
        again = await client.submit(resting)
        assert client.base_url == runtime.dashboard_url.rstrip("/")  # type: ignore[union-attr]

    assert opened.status is OrderStatus.OPEN
    assert finished.status is OrderStatus.CANCELLED
    assert finished.price == Decimal("1450")
    assert again.order is not None
    assert again.order.order_id == order_id


async def test_desk_client_without_any_desk_says_which_config_has_no_token(
    tmp_path: Path,
) -> None:
    """Before any desk ran with the config dir, from_settings names it and `orderdesk run`."""
    with pytest.raises(DeskUnavailable) as exc_info:
        DeskClient.from_settings(settings(tmp_path))

    assert str(tmp_path / "config") in str(exc_info.value)
    assert "orderdesk run" in str(exc_info.value)
