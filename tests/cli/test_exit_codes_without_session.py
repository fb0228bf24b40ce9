"""The exit codes of `cancel`, `modify` and `cancel-all` when the broker cannot act: a real desk
on the simulator, its API on 127.0.0.1:0, the CLI against it.

Without a broker session they exit 5 ("log in, then run it again"), whether the desk knew the
session was gone (`session_expired`) or the broker refused it on the command itself
(`broker_session`); they exited 3, "refused", so a script waiting for the login never ran them
again. A broker that fails to answer (its 5xx) is an error to try again, exit 1, in words that
say nothing was changed, and nothing was: they exited 3 with the broker's bare "Service
unavailable"."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.api_token import load_or_create_token
from orderdesk.cli import _register_commands, app
from orderdesk.client import DeskClient, DeskClientError
from orderdesk.domain import OrderStatus, OrderType, Product, Side, Signal
from orderdesk.domain.values import InstrumentKey
from orderdesk.engine import OrderDesk, RiskLimits
from orderdesk.engine.errors import SessionExpired
from orderdesk.store.location import sqlite_url
from tests.engine.conftest import settled
from tests.scenarios.harness import BrokerView, SimAddress, open_desk, running_sim
from tests.support import eventually

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")
INFY = InstrumentKey.parse("NSE:INFY")


def buy(signal_id: str) -> Signal:
    return Signal(
        instrument=INFY,
        side=Side.BUY,
        quantity=2,
        order_type=OrderType.LIMIT,
        price=Decimal(1490),
        product=Product.CNC,
        signal_id=signal_id,
    )


@dataclass
class Served:
    """The desk on the simulator, the simulator's own books, and how the CLI reaches the API."""

    desk: OrderDesk
    view: BrokerView
    sim: SimAddress
    where: list[str]
    url: str
    token: str

    async def cli(self, *args: str) -> tuple[int, dict[str, Any]]:
        """Run one command with --json; its exit code and the JSON it wrote (stderr on an
        error, stdout otherwise)."""
        command = [*args, "--json", *self.where]
        result = await asyncio.to_thread(runner.invoke, app, command)
        text = result.stderr if result.exit_code else result.stdout
        # From the line its JSON starts on: the desk runs in this process, and a log record it
        # writes meanwhile (a command's retry) may reach the stream the runner captures first.
        lines = text.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith(("{", "[")))
        return result.exit_code, json.loads("\n".join(lines[start:]))

    async def resting(self, signal_id: str) -> str:
        """A LIMIT buy of 2 INFY at 1,490 (the market at 1,500), working at the broker."""
        handle = await self.desk.submit(buy(signal_id))
        await handle.wait(lambda h: h.status is OrderStatus.OPEN, timeout=10)
        return handle.order_id

    async def row(self, order_id: str) -> dict[str, Any]:
        """The order's row in the simulator's book, read without the adapter."""
        (row,) = (await self.view.books()).by_tag(order_id)
        return row


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    """An in-process simulator (INFY at 1,500), a desk on it with the daemon's default price
    band, the API over that desk on 127.0.0.1:0, and a config naming its token."""
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\nconfig_dir = "{tmp_path / "conf"}"\n'
    )
    token = load_or_create_token(tmp_path / "conf")
    limits = RiskLimits(price_band_percent=Decimal(10))
    async with (
        running_sim(seed=11, rate_limits=False) as (_, address),
        open_desk(address, sqlite_url(tmp_path / "desk.db"), tmp_path, limits=limits) as desk,
    ):
        view = BrokerView(address)
        await view.control("prices", {"NSE:INFY": 1500})
        # The stream up and the start-up catch-up over: until then the desk polls the book, and
        # a poll after a test expires the tokens would find the session refused before the
        # command it means to test does.
        await settled(desk)
        server = await serve_api(create_app(EngineDesk(desk), token=token), "127.0.0.1", 0)
        try:
            where = ["--config", str(config), "--url", server.url]
            yield Served(desk, view, address, where, server.url, token)
        finally:
            await server.stop()


async def test_without_a_session_cancel_modify_and_cancel_all_exit_5(served: Served) -> None:
    """After the session is gone (the broker refused it on a placement), `cancel`, `modify
    --price 1491` and `cancel-all` exit 5 saying to log in, send nothing, and the order works
    on; after the login `cancel` goes through."""
    order_id = await served.resting("rest-1")
    await served.view.faults(expire_tokens=True)
    with pytest.raises(SessionExpired):
        await served.desk.submit(buy("after-expiry"))

    cancel = await served.cli("cancel", order_id)
    modify = await served.cli("modify", order_id, "--price", "1491")
    every = await served.cli("cancel-all")

    for code, body in (cancel, modify, every):
        assert (code, body["error"], body["exit_code"]) == (5, "session_expired", 5), body
        assert "log in" in body["message"]
    await served.view.faults(expire_tokens=False)
    row = await served.row(order_id)
    assert (row["status"], Decimal(str(row["price"]))) == ("OPEN", Decimal(1490))
    assert served.desk.order(order_id).status is OrderStatus.OPEN

    await served.desk.renew_session(served.sim.access_token)
    code, body = await served.cli("cancel", order_id)
    assert code == 0, body
    await eventually(
        lambda: served.desk.order(order_id).status is OrderStatus.CANCELLED,
        timeout=10,
        what="cancelled after the login",
    )


async def test_a_session_the_broker_refuses_on_the_command_exits_5(served: Served) -> None:
    """The desk still takes its session for valid and the broker refuses it on the cancel
    (`broker_session`): exit 5 saying to log in; the refusal ends the desk's session there, so
    the next cancel is refused by the desk itself (`session_expired`), which the client reads
    as retry-after-login too; the order works on."""
    order_id = await served.resting("rest-2")
    await served.view.faults(expire_tokens=True)

    code, body = await served.cli("cancel", order_id)
    async with DeskClient(served.url, served.token) as client:
        with pytest.raises(DeskClientError) as refused:
            await client.cancel(order_id)

    assert (code, body["error"], body["exit_code"]) == (5, "broker_session", 5), body
    assert "log in" in body["message"]
    assert (refused.value.error, refused.value.retry_after_login) == ("session_expired", True)
    await served.view.faults(expire_tokens=False)
    assert (await served.row(order_id))["status"] == "OPEN"
    assert served.desk.order(order_id).status is OrderStatus.OPEN


async def test_a_broker_5xx_on_cancel_or_modify_exits_1_and_changes_nothing(
    served: Served,
) -> None:
    """With every broker request answered 503, `cancel` and `modify` exit 1 (not refused),
    saying the broker failed to answer and nothing was changed; the order is as it was at the
    broker and at the desk, and the same cancel goes through once the broker answers."""
    order_id = await served.resting("rest-3")
    await served.view.faults(error_5xx=1.0)

    cancel = await served.cli("cancel", order_id)
    modify = await served.cli("modify", order_id, "--price", "1491")

    await served.view.faults(error_5xx=0.0)
    for code, body in (cancel, modify):
        assert (code, body["error"], body["exit_code"]) == (1, "broker_unavailable", 1), body
        assert "the broker failed to answer" in body["message"]
        assert "Service unavailable (simulated)." in body["message"]
        assert "nothing was carried out: try again" in body["message"]
    row = await served.row(order_id)
    assert (row["status"], Decimal(str(row["price"]))) == ("OPEN", Decimal(1490))
    order = served.desk.order(order_id)
    assert (order.status, order.price, order.modifications) == (
        OrderStatus.OPEN,
        Decimal(1490),
        0,
    )
    # The order's reason says which command the broker failed, not that the order failed.
    assert order.reason in (
        "modify refused: Service unavailable (simulated).",
        "cancel refused: Service unavailable (simulated).",
    )

    code, body = await served.cli("cancel", order_id)
    assert code == 0, body
    await eventually(
        lambda: served.desk.order(order_id).status is OrderStatus.CANCELLED,
        timeout=10,
        what="cancelled once the broker answers",
    )


async def _place(served: Served, *extra: str) -> Any:
    """`orderdesk place` of a MARKET buy of 2 INFY (no price band to read a price for), as a
    table (no --json), without a signal id: the command chooses one."""
    command = ["place", "NSE:INFY", "BUY", "2", "--type", "MARKET", "--product", "CNC"]
    return await asyncio.to_thread(runner.invoke, app, [*command, *extra, *served.where])


async def test_a_placement_of_unknown_outcome_shows_the_signal_id_to_send_again(
    served: Served,
) -> None:
    """The broker answers the placement 5xx, which proves nothing (the order may be there):
    `place` said "submitted" and hid the id it chose, so running it again placed a second
    order. It says the outcome is unknown and names the id; sent again with it, nothing new."""
    await served.view.faults(error_5xx=1.0)
    result = await _place(served)
    await served.view.faults(error_5xx=0.0)

    assert result.exit_code == 0, result.output
    assert "sent, outcome unknown: the desk is finding it out" in result.stdout
    assert "outcome unknown (Service unavailable (simulated).)" in result.stdout  # its reason
    assert "UnknownOutcome" not in result.stdout  # in words, not the adapter's class name
    (order,) = served.desk.orders()
    assert order.signal.signal_id is not None
    assert f"--signal-id {order.signal.signal_id}" in result.stdout
    again = await _place(served, "--signal-id", order.signal.signal_id)
    assert again.exit_code == 0, again.output
    assert "nothing new placed" in again.stdout
    assert len(served.desk.orders()) == 1


async def test_a_placement_whose_session_the_broker_refuses_names_its_signal_id(
    served: Served,
) -> None:
    """The broker refuses the session on the placement: exit 5, and the message names the id
    the command chose, which the login's resend needs. The signal is recorded, not sent: it is
    not among the open orders (`orders --open` listed it while `status` did not count it)."""
    await served.view.faults(expire_tokens=True)
    refused = await _place(served)
    as_json = await _place(served, "--json")
    await served.view.faults(expire_tokens=False)

    assert refused.exit_code == 5, refused.output
    (recorded,) = served.desk.orders()  # the second was refused by the desk: nothing recorded
    assert f"--signal-id {recorded.signal.signal_id}" in refused.stderr
    body = json.loads(as_json.stderr)
    assert (body["exit_code"], body["error"]) == (5, "session_expired")
    assert body["signal_id"] not in (None, recorded.signal.signal_id)
    assert f"--signal-id {body['signal_id']}" in body["message"]
    code, listed = await served.cli("orders", "--open")
    assert (code, listed) == (0, [])
    code, everything = await served.cli("orders")
    assert [(o["status"], o["open"]) for o in everything] == [("INITIALIZED", False)]


async def test_modify_changes_the_type_of_a_working_order(served: Served) -> None:
    """`modify --type` (README: a modify names quantity, price, trigger or type) was missing
    from the CLI, though PATCH takes order_type: a resting LIMIT buy at 1,490 turned MARKET
    fills at the market's 1,500."""
    order_id = await served.resting("to-market")
    code, body = await served.cli("modify", order_id, "--type", "MARKET")
    assert code == 0, body
    await eventually(
        lambda: served.desk.order(order_id).status is OrderStatus.FILLED,
        timeout=10,
        what="filled at market",
    )
    row = await served.row(order_id)
    assert (row["order_type"], row["status"]) == ("MARKET", "COMPLETE")
    code, body = await served.cli("modify", order_id)
    assert (code, body["error"]) == (3, "refused"), body
    assert body["message"] == "say what to change: --quantity, --price, --trigger or --type"
