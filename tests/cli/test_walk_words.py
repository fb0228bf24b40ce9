"""Words an operator's week on the simulator found misleading: `days` called the days' P&L
summed a "lifetime P&L" though it leaves out the delivered stock's moves on the days it was
only held; `convert` headed the converted instrument's lines "positions — P&L", which reads as
the account's; and `session` after expiry told the expiry twice."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal

from typer.testing import CliRunner

from orderdesk.api.desk import SessionStatus
from orderdesk.cli import _register_commands, app
from orderdesk.domain import InstrumentKey
from orderdesk.domain.calendar import IST
from orderdesk.domain.day import Holding
from tests.api.fakes import FakeDesk

_register_commands()
runner = CliRunner()
INFY = InstrumentKey.parse("NSE:INFY")
THURSDAY = date(2026, 12, 10)
FRIDAY = date(2026, 12, 11)


async def cli(where: list[str], *args: str) -> tuple[int, str]:
    """The command's exit code and its output as one line (the console wraps long ones)."""
    result = await asyncio.to_thread(runner.invoke, app, [*args, *where])
    return result.exit_code, " ".join(result.output.split())


def held(close: str) -> Holding:
    return Holding(
        instrument=INFY,
        quantity=10,
        t1_quantity=0,
        average_price=Decimal("1400"),
        close_price=Decimal(close),
    )


async def test_the_days_total_is_named_a_sum_and_says_what_it_leaves_out(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """Days that opened holding delivered stock: the total is the sum of the days' P&L, not
    a lifetime P&L, and it says their moves on the days only held are not in it."""
    desk, where = served
    desk.open_day(THURSDAY, holdings=[held("1500")])
    desk.close_day()
    desk.next_day(FRIDAY, holdings=[held("1520")])
    code, out = await cli(where, "days")
    assert code == 0, out
    assert "lifetime" not in out
    assert "sum of the days' P&L" in out
    assert (
        "not in it: delivered stock's moves on the days it was only held (see `orderdesk holdings`)"
    ) in out


async def test_days_without_holdings_have_nothing_left_out_to_say(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """No day opened with delivered stock (a paper account): the sum is the whole story."""
    desk, where = served
    desk.open_day(THURSDAY)
    code, out = await cli(where, "days")
    assert code == 0, out
    assert "sum of the days' P&L 0.00 over 1 day" in out
    assert "not in it" not in out


async def test_convert_titles_its_table_with_the_converted_instrument(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """The lines after a conversion are the instrument's only: the title says so, not
    "positions", whose P&L reads as the account's."""
    desk, where = served
    desk.open_day(FRIDAY, holdings=[held("1500")])
    args = ("convert", "NSE:INFY", "--from", "MIS", "--to", "CNC", "--quantity", "1")
    code, out = await cli(where, *args)
    assert code == 0, out
    assert "NSE:INFY after the conversion — P&L" in out
    assert "positions — P&L" not in out


async def test_an_expired_session_tells_its_expiry_once(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """After 06:00 IST the session says when it expired, once: the reason (the engine's
    "the session expired at 2026-12-11 06:00 IST") only repeats it."""
    desk, where = served
    expiry = datetime(2026, 12, 11, 6, tzinfo=IST)
    desk.session_status = SessionStatus("valid", expires_at=expiry, since=None)
    desk.lose_session("the session expired at 2026-12-11 06:00 IST")
    code, out = await cli(where, "session")
    assert code == 5, out
    assert "expired at 06:00 IST on Fri 11 Dec" in out
    assert out.count("expired at") == 1
    assert "log in: `orderdesk login`" in out


async def test_a_refused_session_still_says_the_brokers_words(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """A refusal's reason is the broker's own and says more than its time: it stays."""
    desk, where = served
    desk.session_status = SessionStatus(
        "refused",
        expires_at=None,
        since=datetime(2026, 12, 11, 8, tzinfo=IST),
        reason="Incorrect `api_key` or `access_token`.",
    )
    code, out = await cli(where, "session")
    assert code == 5, out
    assert "refused by the broker at 08:00 IST on Fri 11 Dec" in out
    assert "Incorrect `api_key` or `access_token`." in out


async def test_the_orders_table_says_a_stops_type_and_trigger(
    served: tuple[FakeDesk, list[str]],
) -> None:
    """An SL-M read "—" under price, like a MARKET order, and its trigger showed nowhere."""
    _, where = served
    stop = ["place", "NSE:INFY", "SELL", "1", "--type", "SL-M", "--trigger", "1495"]
    code, out = await cli(where, *stop)
    assert code == 0, out
    code, out = await cli(where, "orders")
    assert code == 0, out
    assert "SL-M trigger 1,495.00" in out  # a price, as the price column shows one
