"""Kite's static-IP rule in the simulator (``--allowed-ips``), refereed by the official client.

On Linux all of 127/8 reaches the loopback interface, so a simulator that allows only
127.0.0.2 refuses the official client (which leaves from 127.0.0.1 and cannot choose), while a
client bound to 127.0.0.2 gets through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import pytest
import typer
from click.testing import CliRunner
from kiteconnect import KiteConnect
from kiteconnect.exceptions import PermissionException

from orderdesk.cli import app, sim_command
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.static_ip import parse_address, parse_allowed
from tests.sim.conftest import SimControl, login

assert sim_command.sim is not None  # registers ``sim`` on ``app``

ORDER = {
    "variety": "regular",
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "quantity": 1,
    "product": "CNC",
    "order_type": "LIMIT",
    "price": 1400,
}


@pytest.fixture
def guarded() -> Iterator[SimServer]:
    """A simulator that accepts order writes from 127.0.0.2 only."""
    config = SimConfig(
        port=0, seed=7, price_tick_interval=None, rate_limits=False, allowed_ips=("127.0.0.2",)
    )
    with SimServer.run_in_thread(config) as server:
        yield server


def test_order_writes_from_another_address_are_refused_naming_it(guarded: SimServer) -> None:
    """Place, modify and cancel from 127.0.0.1 are PermissionExceptions naming 127.0.0.1;
    nothing is created or changed, and the refusals are counted per kind of write."""
    simctl = SimControl(guarded.rest_root)
    simctl.prices({"NSE:INFY": 1500})
    kite = login(guarded)  # the login works from anywhere
    resting = simctl.external_order(**{k: v for k, v in ORDER.items() if k != "variety"})

    with pytest.raises(PermissionException) as placed:
        kite.place_order(**ORDER)
    with pytest.raises(PermissionException) as modified:
        kite.modify_order("regular", resting, price=1401)
    with pytest.raises(PermissionException) as cancelled:
        kite.cancel_order("regular", resting)

    for refusal in (placed, modified, cancelled):
        assert refusal.value.code == 403
        assert "IP (127.0.0.1) is not allowed" in str(refusal.value)
    [row] = kite.orders()
    assert (row["order_id"], row["status"], row["price"]) == (resting, "OPEN", 1400)
    state = simctl.state()
    assert state["static_ip"] == {
        "allowed": ["127.0.0.2"],
        "refused": {"place": 1, "modify": 1, "cancel": 1},
    }


def test_reads_and_the_websocket_work_from_any_address(guarded: SimServer) -> None:
    """Reads (profile, book, trades, quotes, margins) and the ticker's upgrade are not gated."""
    SimControl(guarded.rest_root).prices({"NSE:INFY": 1500})
    kite = login(guarded)
    assert kite.profile()["user_id"] == guarded.config.user_id
    assert kite.orders() == []
    assert kite.trades() == []
    assert kite.ltp(["NSE:INFY"])["NSE:INFY"]["last_price"] == 1500
    assert "equity" in kite.margins()

    async def upgrade() -> None:
        url = f"{guarded.ws_url}?api_key={kite.api_key}&access_token={kite.access_token}"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as socket:
            assert not socket.closed

    asyncio.run(upgrade())


def test_an_allowed_source_address_places_modifies_and_cancels(guarded: SimServer) -> None:
    """A client bound to 127.0.0.2 places, modifies and cancels; the official client reads
    the result."""
    SimControl(guarded.rest_root).prices({"NSE:INFY": 1500})
    kite = login(guarded)
    headers = {"X-Kite-Version": "3", "Authorization": f"token {kite.api_key}:{kite.access_token}"}
    form = {k: str(v) for k, v in ORDER.items() if k != "variety"}

    async def writes() -> str:
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            root = guarded.rest_root
            async with session.post(f"{root}/orders/regular", data=form) as reply:
                order_id = str((await reply.json())["data"]["order_id"])
            async with session.put(
                f"{root}/orders/regular/{order_id}", data={"price": "1401"}
            ) as reply:
                assert reply.status == 200, await reply.text()
            async with session.delete(f"{root}/orders/regular/{order_id}") as reply:
                assert reply.status == 200, await reply.text()
        return order_id

    order_id = asyncio.run(writes())
    [row] = kite.orders()
    assert (row["order_id"], row["status"], row["price"]) == (order_id, "CANCELLED", 1401)


def test_without_the_option_every_address_may_write(kite: KiteConnect) -> None:
    """The default accepts order writes from any address."""
    assert isinstance(kite.place_order(**ORDER), str)


def test_addresses_are_compared_as_addresses() -> None:
    """An IPv4-mapped IPv6 address is its IPv4 one; IPv6 is spelled canonically; a bad entry is
    named."""
    assert parse_address("::ffff:127.0.0.2") == parse_address("127.0.0.2")
    assert parse_allowed(["2402:0:0::1"]) == {parse_address("2402::1")}
    with pytest.raises(ValueError, match="not an IPv4") as bad:
        parse_allowed(["127.0.0.1", "10.0.0.300"])
    assert str(bad.value) == "'10.0.0.300' is not an IPv4 or IPv6 address"


def test_the_flag_refuses_a_bad_address_with_exit_code_2() -> None:
    """``--allowed-ips`` with something that is not an address is a usage error naming it."""
    result = CliRunner().invoke(
        typer.main.get_group(app),
        ["sim", "--allowed-ips", "127.0.0.1,nope"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 2
    assert "--allowed-ips" in result.output
    assert "'nope' is not an IPv4 or IPv6 address" in result.output
