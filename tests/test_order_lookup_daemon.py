"""A strategy that lost the reply to its submission, against a real `orderdesk run` daemon:
it finds its order by (strategy, signal id), and waits for the desk to be quiet."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from orderdesk.api.schemas import SignalIn
from orderdesk.api_token import read_token
from orderdesk.client import DeskClient
from orderdesk.domain import OrderType, Side
from tests.daemon import paper_config, running_daemon


def test_a_lost_reply_is_found_by_signal_id_and_the_desk_turns_quiet(tmp_path: Path) -> None:
    """The engine's order names its signal id and tag; the lookup finds it (and nothing for a
    signal never sent); once the placements are answered the health says quiet."""
    config = paper_config(tmp_path)
    signal = SignalIn(
        instrument="NSE:INFY",
        side=Side.BUY,
        quantity=3,
        order_type=OrderType.LIMIT,
        product="CNC",
        price=Decimal("1490"),
        strategy="alpha",
        signal_id="lost-reply-1",
        tag="morning",
    )

    async def scenario(url: str, token: str) -> None:
        async with DeskClient(url, token) as desk:
            await desk.submit(signal)  # the reply is "lost": the strategy only knows its id
            health = await desk.wait_quiet(timeout=10)
            found = await desk.order_for_signal("alpha", "lost-reply-1")
            never = await desk.order_for_signal("alpha", "never-sent")
            again = await desk.submit(signal)
        assert health.quiet
        assert health.in_flight_orders == 0
        assert found is not None
        assert (found.strategy, found.signal_id, found.tag) == ("alpha", "lost-reply-1", "morning")
        assert found.status.value in ("OPEN", "ACCEPTED")
        assert never is None
        assert again.order is not None
        assert again.order.order_id == found.order_id

    with running_daemon(config) as url:
        token = read_token(tmp_path / "conf")
        assert token is not None
        asyncio.run(scenario(url, token))
