"""What the kill switch and the cancels say at the shell, over a real desk (the fake broker)
served on 127.0.0.1:0: `kill-switch on --cancel-open` names the orders it kept and why (a cover
order's stop leg, a protective stop), `kill-switch off` prints a clean line, and `cancel` /
`cancel-all` warn that cancelling a cover order's stop leg exits that position at market."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from orderdesk.api import create_app, serve_api
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.api_token import load_or_create_token
from orderdesk.cli import _register_commands, app
from orderdesk.domain import OrderStatus, OrderType
from orderdesk.engine import OrderDesk
from tests.engine.conftest import FAST
from tests.engine.cover_legs import long_with_cover_order, resting, sell_stop
from tests.engine.fakes import FakeBroker, MemoryStore, signal

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")


@dataclass
class Served:
    desk: OrderDesk
    broker: FakeBroker
    where: list[str]

    async def cli(self, *args: str) -> Result:
        """One command against the served desk, run beside the event loop the desk needs."""
        return await asyncio.to_thread(
            runner.invoke, app, [*args, *self.where], env={"COLUMNS": "200"}
        )


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    """The API over an engine desk on the fake broker, and the CLI's --config/--url for it."""
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\nconfig_dir = "{tmp_path / "conf"}"\n'
    )
    broker = FakeBroker()
    async with OrderDesk(broker, MemoryStore(), config=FAST) as desk:
        token = load_or_create_token(tmp_path / "conf")
        server = await serve_api(create_app(EngineDesk(desk), token=token), "127.0.0.1", 0)
        try:
            yield Served(desk, broker, ["--config", str(config), "--url", server.url])
        finally:
            await server.stop()


async def test_cancel_open_names_the_orders_it_kept_and_why(
    served: Served,
) -> None:
    """Long INFY with its stop, a buy limit and a cover order: the kill switch cancels the
    buy limit only and prints "kept: …" for the stop and the cover order's leg; --json lists
    them under "kept"."""
    desk = served.desk
    await (await desk.submit(signal(quantity=100, signal_id="long"))).wait()
    stop = await sell_stop(desk, "stop", 100)
    adding = await resting(desk, order_type=OrderType.LIMIT, price=Decimal("1490"))
    cover_id, leg_id = await long_with_cover_order(desk, served.broker)

    engaged = await served.cli("kill-switch", "on", "--cancel-open", "--reason", "drill")

    assert engaged.exit_code == 0, engaged.output
    lines = engaged.stdout.splitlines()
    assert lines[:2] == ["kill switch ENGAGED (drill)", "cancel asked for 1 open order"]
    assert f"kept: {stop.order_id}: protective stop of the MIS long 100 in NSE:INFY" in lines[2]
    assert lines[3].startswith(f"kept: {leg_id}: stop leg of cover order {cover_id}")
    assert "at market" in lines[3]
    await adding.wait()
    assert adding.status is OrderStatus.CANCELLED
    assert desk.order(stop.order_id).is_working
    assert desk.order(leg_id).is_working

    again = await served.cli("kill-switch", "on", "--cancel-open", "--json")
    reply = json.loads(again.stdout)
    assert reply["cancelled"] == []
    assert [k["order_id"] for k in reply["kept"]] == [stop.order_id, leg_id]
    assert "only reduce" in reply["kept"][0]["reason"]


async def test_releasing_prints_a_clean_line(served: Served) -> None:
    """`kill-switch off` prints "kill switch released", not "kill switch released ()"."""
    assert (await served.cli("kill-switch", "on", "--reason", "drill")).exit_code == 0
    released = await served.cli("kill-switch", "off")
    assert released.exit_code == 0, released.output
    assert released.stdout.strip() == "kill switch released"


async def test_cancelling_a_cover_orders_leg_says_it_exits_at_market(served: Served) -> None:
    """`cancel` of a cover order's stop leg, `cancel` of a filled cover order (which cancels
    its leg) and `cancel-all` each say that this exits the position at market."""
    desk, broker = served.desk, served.broker
    first_entry, _ = await long_with_cover_order(desk, broker, "cover-1")
    _, second_leg = await long_with_cover_order(desk, broker, "cover-2")
    third_entry, third_leg = await long_with_cover_order(desk, broker, "cover-3")

    by_entry = await served.cli("cancel", first_entry)
    assert by_entry.exit_code == 0, by_entry.output
    assert (
        f"note: {first_entry} is a filled cover order: the cancel went to its stop leg; that "
        "exits the NFO:NIFTY26DECFUT position at market" in by_entry.stdout
    )
    by_leg = await served.cli("cancel", second_leg)
    assert by_leg.exit_code == 0, by_leg.output
    assert f"note: {second_leg} is the stop leg of cover order" in by_leg.stdout
    assert "exits the NFO:NIFTY26DECFUT position at market" in by_leg.stdout

    everything = await served.cli("cancel-all")
    assert everything.exit_code == 0, everything.output
    assert (
        f"note: {third_leg} is the stop leg of cover order {third_entry}; that exits the "
        "NFO:NIFTY26DECFUT position at market" in everything.stdout
    )
    as_json = json.loads((await served.cli("orders", "--json")).stdout)
    assert {o["order_id"]: o["leg_of"] for o in as_json}[third_leg] == third_entry
