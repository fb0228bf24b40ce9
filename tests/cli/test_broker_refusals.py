"""The trading commands when the broker refuses what they asked: the exit code is 3 and the
output says so, so a script's `… && next` and an operator in a hurry do not read a refusal as
done. `place` of an order the broker rejects at once (markets closed, margin) printed
"submitted" and exited 0; `cancel-all` with cancels the broker refused said "cancel sent"."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from orderdesk.api.routes_orders import unknown_words
from orderdesk.cli import _register_commands, app
from orderdesk.domain import Order
from tests.api.fakes import FakeDesk
from tests.domain.builders import AT, signal, step

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")
CLOSED = "Markets are closed right now. Use GTT for placing long standing orders instead."


async def place(where: list[str], *extra: str) -> tuple[int, str]:
    command = ["place", "NSE:ITC", "BUY", "1", "--price", "430", *extra, *where]
    result = await asyncio.to_thread(runner.invoke, app, command)
    return result.exit_code, result.stdout


async def test_a_rejected_order_exits_3_and_says_so(served: tuple[FakeDesk, list[str]]) -> None:
    desk, where = served
    code, out = await place(where)
    assert code == 0, out
    assert "submitted" in out
    desk.reject_with = CLOSED
    code, out = await place(where)
    assert code == 3, out
    assert "rejected by the broker" in out
    assert "Markets are closed" in out
    code, out = await place(where, "--json")
    assert code == 3, out
    reply = json.loads(out)
    assert (reply["outcome"], reply["order"]["status"]) == ("submitted", "REJECTED")
    # The reply's own words, for a strategy that reads the outcome alone.
    assert reply["message"] == (
        f"not placed: the broker rejected order {reply['order']['order_id']} ({CLOSED}); the "
        "signal id now names this rejected order, so a corrected signal needs a new id"
    )


async def test_an_order_the_broker_took_says_it_may_still_be_rejected(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """Kite answers before its checks run: an order past a circuit limit read "submitted",
    exit 0, and was REJECTED a moment later. Exit 0 stays (the broker took it), and the
    command says a rejection may follow and where to see it; an order already OPEN does not."""
    desk, where = served
    desk.answers_before_checks = True
    code, out = await place(where)
    assert code == 0, out
    assert "submitted" in out
    assert "the broker took it and may still reject it" in out
    assert "`orderdesk orders` follows it" in out
    desk.answers_before_checks = False
    code, out = await place(where)
    assert (code, "may still reject it" in out) == (0, False)


async def test_cancels_the_broker_did_not_take_exit_3_naming_them(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """With no broker session every cancel fails and the orders stay working: `cancel-all` and
    `kill-switch on --cancel-open` said "cancel sent for N orders" and exited 0."""
    desk, where = served
    code, _ = await place(where)
    assert code == 0
    desk.refuse_cancels_with = "Incorrect `api_key` or `access_token`."
    result = await asyncio.to_thread(runner.invoke, app, ["cancel-all", *where])
    assert result.exit_code == 3, result.output
    assert "1 order not cancelled, still working" in result.stderr
    assert "Incorrect `api_key` or `access_token`." in result.stderr
    result = await asyncio.to_thread(
        runner.invoke, app, ["kill-switch", "on", "--cancel-open", *where]
    )
    assert result.exit_code == 3, result.output
    assert "ENGAGED" in result.stdout
    assert "not cancelled, still working" in result.stderr
    desk.refuse_cancels_with = None
    result = await asyncio.to_thread(runner.invoke, app, ["cancel-all", *where])
    assert result.exit_code == 0, result.output


def test_a_reply_of_unknown_outcome_says_to_send_the_same_signal_again() -> None:
    """A placement whose answer was lost is answered "submitted" with SUBMIT_UNKNOWN: the reply
    says the outcome is unknown and how to learn it, never to send it under a new id."""
    sent = signal(strategy="alpha", signal_id="a-7")
    order = Order.from_events([Order.create("od" + "7" * 18, sent, AT)])
    step(order, order.submit(AT))
    step(order, order.submit_unknown("ReadTimeout", AT))
    assert unknown_words(order) == (
        f"outcome unknown: the broker's answer to order {order.order_id} was lost (ReadTimeout); "
        "the desk looks for it in the broker's book and never sends it again unless it proves "
        "it absent. Send the same signal again (strategy 'alpha', signal id 'a-7') to learn its "
        "end; never under a new id"
    )
