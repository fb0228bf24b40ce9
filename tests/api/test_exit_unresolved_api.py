"""``POST /api/positions/exit`` asked again while the earlier exit's placement is unresolved
(Kite's "Order request timed out", the order maybe appearing later) is a 409 ``conflict``
naming that order and saying not to exit again until it is resolved; nothing is placed. The
operator's second ``orderdesk exit NSE:INFY`` got HTTP 500 after ~10 s (a TimeoutError)."""

from __future__ import annotations

import json
from dataclasses import replace

from orderdesk.domain import OrderStatus, Product
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.config import ExitPolicy
from tests.api.conftest import engine_api
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import INFY, MemoryStore, RecordingNotifier, signal
from tests.engine.test_exit_unresolved import LateExits
from tests.support import eventually

MIS = Product.MIS
EXIT = {"instrument": "NSE:INFY", "product": "MIS"}


async def test_an_exit_while_the_earlier_is_unresolved_is_a_conflict_naming_it() -> None:
    broker = LateExits()
    config = replace(FAST, late_order_window=30.0, leg_timeout=0.05)
    desk = OrderDesk(
        broker, MemoryStore(), notifier=RecordingNotifier(), config=config, limits=RiskLimits()
    )
    async with desk:
        await settled(desk)
        await (await desk.submit(signal(quantity=10))).wait()
        broker.fill_market, broker.unsure, broker.orders_fail = False, 1, -1
        first = await desk.exit_position(INFY, product=MIS, policy=ExitPolicy())
        assert first is not None
        await eventually(lambda: first.status is OrderStatus.SUBMIT_UNKNOWN, what="unknown")
        placements = len(broker.placements)
        async with (
            engine_api(desk) as client,
            client.post("/api/positions/exit", json=EXIT) as response,
        ):
            text = await response.text()
            assert response.status == 409, text
        assert first.status is OrderStatus.SUBMIT_UNKNOWN
    reply = json.loads(text)
    assert reply["error"] == "conflict"
    assert reply["message"].startswith(
        f"exit of NSE:INFY MIS not placed: the earlier exit {first.order_id} is still "
        "SUBMIT_UNKNOWN"
    )
    assert "Do not exit again until it is resolved or given up" in reply["message"]
    assert len(broker.placements) == placements
    assert broker.net(INFY, MIS) == 10
