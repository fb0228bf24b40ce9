"""The operator's walk on the simulator: a LIMIT signal held back by a 429 storm, the kill
switch engaged with cancel_open over the API, the storm off: the order was withdrawn unsent
(the switch's answer names it) and the broker's book never holds it. It used to end OPEN."""

from __future__ import annotations

import aiohttp
import pytest

from orderdesk.domain import OrderStatus
from tests.scenarios.test_rate_limit_storm import Served, place, printed_json, served

__all__ = ["served"]  # the fixture, imported for this module's test
pytestmark = pytest.mark.usefixtures("isolated_config")


async def test_the_kill_switch_withdraws_a_signal_held_back_by_a_storm(served: Served) -> None:
    await served.view.faults(rate_limit_storm=1)
    reply = printed_json((await place(served, "--json")).stdout)
    order_id = reply["order"]["order_id"]
    assert reply["order"]["status"] == "SUBMITTING"
    headers = {"Authorization": f"Bearer {served.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            served.url + "/api/kill-switch",
            json={"engaged": True, "cancel_open": True, "reason": "drill"},
            headers=headers,
        ) as answer,
    ):
        assert answer.status == 200, await answer.text()
        engaged = await answer.json()
    assert order_id in engaged["cancelled"]
    order = served.desk.order(order_id)
    assert order.status is OrderStatus.CANCELLED
    # Nothing of the desk's is left to send it: the storm's end cannot place it.
    assert served.desk.placement.sending == {}
    await served.view.calm()
    await served.desk.reconcile()
    books = await served.view.books()
    assert order_id not in books.tag_counts()
    assert order.status is OrderStatus.CANCELLED
