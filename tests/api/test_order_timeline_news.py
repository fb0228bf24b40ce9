"""One order's timeline over the API holds the broker's news the desk has applied, though that
news rides with the log's next commit (``orderdesk.store.writer``)."""

from __future__ import annotations

import aiohttp

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.engine import OrderDesk
from orderdesk.store import AsyncEventWriter
from tests.api.conftest import AUTH, TOKEN
from tests.engine.conftest import FAST
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier, signal


async def test_the_timeline_holds_the_answer_still_riding() -> None:
    store = MemoryStore()
    async with (
        AsyncEventWriter(store, news_hold=3600.0) as writer,
        OrderDesk(
            FakeBroker(), store, writer=writer, notifier=RecordingNotifier(), config=FAST
        ) as desk,
    ):
        handle = await desk.submit(signal(signal_id="t1"))
        order_id = handle.order.order_id
        assert "OrderAccepted" not in {row.type for row in store.read(stream=order_id)}
        server = await serve_api(create_app(EngineDesk(desk), token=TOKEN), "127.0.0.1", 0)
        try:
            async with (
                aiohttp.ClientSession(base_url=server.url, headers=AUTH) as client,
                client.get(f"/api/orders/{order_id}/events") as response,
            ):
                assert response.status == 200, await response.text()
                timeline = await response.json()
        finally:
            await server.stop()
    assert [event["type"] for event in timeline][:3] == [
        "OrderCreated",
        "OrderSubmitting",
        "OrderAccepted",
    ]
