"""`orderdesk exit` of stock held as holdings: an exit closes positions and never sells
holdings, so with no position to close it says the stock is held and how to sell it, rather
than "no position in NSE:INFY (in any product)" as if the account held none.

The operator walk that found it: INFY held as holdings (and positions listing "CNC -50 (50
from holdings)" after a sale), `orderdesk exit NSE:INFY` answered "nothing to exit: no
position in NSE:INFY (in any product)" and exited 0.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app
from orderdesk.domain import InstrumentKey
from orderdesk.domain.day import Holding
from orderdesk.domain.values import OrderType, Product, Side
from orderdesk.errors import NotOffered
from tests.api.fakes import FakeDesk
from tests.domain.builders import signal

_register_commands()
runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_config")

INFY = InstrumentKey.parse("NSE:INFY")
FRIDAY = date(2026, 12, 11)
TEN = Holding(
    instrument=INFY,
    quantity=8,
    t1_quantity=2,
    average_price=Decimal("1400"),
    close_price=Decimal("1500"),
)


async def cli(where: list[str], *args: str) -> tuple[int, str]:
    """The command's exit code and its output as one line (the console wraps long ones)."""
    result = await asyncio.to_thread(runner.invoke, app, [*args, *where])
    return result.exit_code, " ".join(result.output.split())


async def sell_held(desk: FakeDesk, quantity: int) -> None:
    """A CNC sale of ``quantity`` out of the holdings, filled at 1510."""
    order = await desk.submit(
        signal(side=Side.SELL, quantity=quantity, price=Decimal("1510"), signal_id="sale")
    )
    desk.fill(order.order_id, Decimal("1510"))


async def test_the_walk_an_exit_of_holdings_says_they_are_held_and_how_to_sell_them(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """10 INFY held, no position: the words name the holding and the `place` that sells it
    (which the CLI takes as written); nothing is asked of the desk's exit."""
    desk, where = served
    desk.open_day(FRIDAY, holdings=[TEN])
    code, out = await cli(where, "exit", "NSE:INFY")
    assert code == 0, out
    assert (
        "nothing to exit: NSE:INFY is held as holdings (10): `orderdesk exit` closes "
        "positions; sell holdings with `orderdesk place NSE:INFY SELL 10 --product CNC "
        "--type MARKET` (or a limit order with --price)"
    ) in out
    assert desk.exits == []
    code, out = await cli(
        where, "place", "NSE:INFY", "SELL", "10", "--product", "CNC", "--type", "MARKET"
    )
    assert code == 0, out
    placed = desk.orders()[-1].signal
    assert (placed.side, placed.quantity, placed.product, placed.order_type) == (
        Side.SELL,
        10,
        Product.CNC,
        OrderType.MARKET,
    )


async def test_after_a_sale_of_some_the_rest_is_named(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """4 of the 10 sold today (positions: CNC -4, 4 from holdings): the 6 left are named,
    without --product and with --product CNC (the desk's exit then found nothing), in the
    --json answer's detail too."""
    desk, where = served
    desk.open_day(FRIDAY, holdings=[TEN])
    await sell_held(desk, 4)
    words = "NSE:INFY is held as holdings (6)"
    code, out = await cli(where, "exit", "NSE:INFY")
    assert code == 0, out
    assert f"nothing to exit: {words}" in out
    assert "SELL 6 --product CNC" in out
    code, out = await cli(where, "exit", "NSE:INFY", "--product", "CNC", "--json")
    assert code == 0, out
    assert json.loads(out)["detail"].startswith(words)
    assert [e["product"] for e in desk.exits] == ["CNC"]


async def test_with_all_of_it_sold_the_sale_is_named_not_no_position(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """All 10 sold today (positions: CNC -10, 10 from holdings): nothing is held to sell, and
    the words say the sale is why the account holds no position, not that it never did."""
    desk, where = served
    desk.open_day(FRIDAY, holdings=[TEN])
    await sell_held(desk, 10)
    code, out = await cli(where, "exit", "NSE:INFY")
    assert code == 0, out
    assert (
        "nothing to exit: no CNC position in NSE:INFY beyond the 10 sold out of holdings "
        "(buying them back is no exit)"
    ) in out


async def test_without_holdings_the_words_are_as_before(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """A day opened holding nothing, and a strategy's exit (holdings are the account's): the
    words are the usual "no position"."""
    desk, where = served
    desk.open_day(FRIDAY)
    code, out = await cli(where, "exit", "NSE:INFY")
    assert code == 0, out
    assert "nothing to exit: no position in NSE:INFY (in any product)" in out
    desk.open_day(date(2026, 12, 14), holdings=[TEN])
    code, out = await cli(where, "exit", "NSE:INFY", "--strategy", "late")
    assert code == 0, out
    assert "nothing to exit: strategy late holds no position in NSE:INFY (in any product)" in out


async def test_a_broker_without_holdings_leaves_the_words_as_before(
    served: tuple[FakeDesk, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The paper broker keeps no holdings (the API's 501 ``not_offered``): the exit still
    answers "no position", exit 0, rather than failing on the holdings it cannot read."""
    desk, where = served
    desk.open_day(FRIDAY)

    def not_offered() -> list[Holding]:
        raise NotOffered("paper", "holdings")

    monkeypatch.setattr(desk, "holdings", not_offered)
    code, out = await cli(where, "exit", "NSE:INFY")
    assert code == 0, out
    assert "nothing to exit: no position in NSE:INFY (in any product)" in out
