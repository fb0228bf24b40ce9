"""A strategy process for the multi-process test: submits signals to a desk over HTTP.

``python -m tests.strategy_worker URL TOKEN STRATEGY COUNT`` sends COUNT signals, each twice at
once (as a strategy retrying after a timeout would), and prints one JSON line: the order id the
desk answered for every signal id.
"""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal

from orderdesk.api.schemas import SignalIn
from orderdesk.client import DeskClient


async def main(url: str, token: str, strategy: str, count: int) -> dict[str, list[str]]:
    answers: dict[str, list[str]] = {}
    async with DeskClient(url, token) as desk:

        async def send(i: int) -> None:
            signal_id = f"{strategy}-{i}"
            body = SignalIn(
                instrument="NSE:INFY" if i % 2 else "NSE:TCS",
                side="BUY" if i % 3 else "SELL",
                quantity=1 + i % 5,
                order_type="LIMIT",
                product="MIS",
                price=Decimal("1500") if i % 2 else Decimal("4000"),
                strategy=strategy,
                signal_id=signal_id,
            )
            replies = await asyncio.gather(desk.submit(body), desk.submit(body))
            answers[signal_id] = [r.order.order_id for r in replies if r.order is not None]

        await asyncio.gather(*(send(i) for i in range(count)))
    return answers


if __name__ == "__main__":
    url, token, strategy, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    print(json.dumps(asyncio.run(main(url, token, strategy, count))))
