"""The session and trading-day commands against a real `orderdesk run` on the paper broker
that keeps trading days: session, days, holdings, authorise-holdings, positions/orders --day,
audit export --day."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.api.schemas import DayOut
from orderdesk.cli import _register_commands, app, day_commands
from orderdesk.config import TradingDaySettings
from tests.daemon import running_daemon
from tests.support import wait_until

_register_commands()
runner = CliRunner()


@dataclass(frozen=True)
class Desk:
    config: Path
    url: str
    db: Path
    today: str


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """`orderdesk run` on paper with trading days kept, taking orders at any hour; yields its
    config, API URL, event store and trading day."""
    root = tmp_path_factory.mktemp("days")
    config = root / "orderdesk.toml"
    config.write_text(
        f"""
broker = "paper"
data_dir = "{root / "data"}"
config_dir = "{root / "conf"}"

[paper]
cash = "1000000"
prices = {{ "NSE:INFY" = "1500" }}
market_hours = "always"

[api]
port = 0
"""
    )
    today = TradingDaySettings().calendar().trading_day_of(datetime.now(UTC)).isoformat()
    with running_daemon(config) as url:
        yield Desk(config, url, root / "data" / "events.db", today)


def place(desk: Desk, *args: str) -> str:
    """``orderdesk place`` with ``args``: its JSON (the paper broker takes regular orders at any
    hour here, ``market_hours = "always"``, so the test runs at night too)."""
    code, out = cli(desk, "place", *args, "--json")
    assert code == 0, out
    return out


def cli(desk: Desk, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--config", str(desk.config), "--url", desk.url])
    return result.exit_code, result.output


def test_session_is_usable_with_todays_trading_day(desk: Desk) -> None:
    """`session` exits 0 on a usable session and names the trading day the desk opened."""
    code, out = cli(desk, "session", "--json")
    assert code == 0, out
    status = json.loads(out)
    assert (status["state"], status["trading_day"]) == ("valid", desk.today)
    code, out = cli(desk, "session")
    assert code == 0, out
    assert f"trading day {desk.today}" in out


def test_days_positions_and_orders_of_today(desk: Desk) -> None:
    """A filled buy shows in `days` (live, with the days' sum), `positions --day` and
    `orders --day` for today."""
    out = place(desk, "NSE:INFY", "BUY", "2", "--price", "1600")
    order_id = json.loads(out)["order"]["order_id"]

    def filled() -> bool:
        _, listing = cli(desk, "orders", "--day", desk.today, "--json")
        return any(
            o["order_id"] == order_id and o["status"] == "FILLED" for o in json.loads(listing)
        )

    wait_until(filled, timeout=10, what="the buy to fill")
    code, out = cli(desk, "days", "--json")
    assert code == 0, out
    [today] = json.loads(out)
    assert (today["day"], today["fills"]) == (desk.today, 1)
    # Live until it closes: after the day's close time (this test runs at any hour) the day,
    # opened late, is closed at the desk's next look, which may come before this listing.
    assert today["live"] is (today["closed_at"] is None)
    code, table = cli(desk, "days")
    assert code == 0, table
    assert "sum of the days' P&L" in " ".join(table.split())  # the console wraps the line
    code, positions = cli(desk, "positions", "--day", desk.today)
    assert code == 0, positions
    # After the day's close time (this test runs at any hour) the day, opened late, is
    # closed late at the desk's next look; until then its unpriced position says it is
    # estimated ("now"). Closing is one-way, so a listing at the close means `days` says closed.
    if f"positions of {desk.today} (at its close)" in positions:
        _, out = cli(desk, "days", "--json")
        [closed] = json.loads(out)
        assert closed["closed_at"] is not None, (closed, positions)
    else:
        assert f"positions of {desk.today} (now" in positions
    code, out = cli(desk, "positions", "--day", desk.today, "--json")
    [position] = json.loads(out)
    assert (position["instrument"], position["quantity"]) == ("NSE:INFY", 2)
    code, out = cli(desk, "orders", "--day", desk.today, "--open", "--json")
    assert code == 0, out
    assert order_id not in [o["order_id"] for o in json.loads(out)]


def test_days_of_a_range_and_their_total(desk: Desk) -> None:
    """--since/--until list the days between them with their sum instead of every day's;
    a range that ends before it starts is a usage error."""
    code, out = cli(desk, "days", "--since", desk.today, "--json")
    assert code == 0, out
    assert [d["day"] for d in json.loads(out)] == [desk.today]
    code, table = cli(desk, "days", "--since", desk.today)
    assert code == 0, table
    assert f"1 trading day from {desk.today} to today" in table
    code, table = cli(desk, "days", "--until", "2020-01-01")
    assert code == 0, table
    assert (
        "P&L 0.00 over 0 days (of it booked realised by the days' closes, each from its "
        "opening prices: 0.00)"
    ) in " ".join(table.split())  # the console wraps the line
    code, out = cli(desk, "days", "--since", "2026-12-08", "--until", "2026-12-07")
    assert code == 2
    assert "--until 2026-12-07 is before --since 2026-12-08" in out


def test_a_day_not_in_the_log_is_refused(desk: Desk) -> None:
    """`positions --day` for a day the desk never kept exits 3 naming it; a malformed day is a
    usage error."""
    code, out = cli(desk, "positions", "--day", "2020-01-01")
    assert code == 3
    assert "2020-01-01" in out
    code, _ = cli(desk, "orders", "--day", "2026-13-01")
    assert code == 2


def test_holdings_says_the_paper_broker_keeps_none(desk: Desk) -> None:
    """`holdings` on the paper broker, which keeps no delivered stock, says so and exits 3
    rather than showing an empty table that would read as "holds nothing"."""
    for args in (("holdings", "--json"), ("holdings",)):
        code, out = cli(desk, *args)
        assert code == 3, out
        assert "the paper broker does not offer holdings" in out


def test_authorise_holdings_where_it_cannot_work(desk: Desk) -> None:
    """A quantity that is not a number is a usage error before the desk is asked (exit 2);
    the paper broker has no holdings to authorise and says so (exit 3, ``not_offered``). The
    working path, on the simulator playing an account without DDPI, is a daemon test."""
    code, out = cli(desk, "authorise-holdings", "NSE:INFY=ten")
    assert code == 2, out
    assert "'NSE:INFY=ten': QTY is a whole number" in out
    code, out = cli(desk, "authorise-holdings", "--json")
    assert code == 3, out
    error = json.loads(out)
    assert error["error"] == "not_offered"
    assert "holdings authorisation" in error["message"]


def test_audit_export_of_today_starts_at_its_checkpoint(desk: Desk) -> None:
    """`audit export --day` on the daemon's own log starts with today's DayOpened row."""
    result = runner.invoke(
        app, ["audit", "export", "--format", "jsonl", "--db", str(desk.db), "--day", desk.today]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["type"] == "DayOpened"
    assert rows[0]["payload"]["day"] == desk.today


def test_trades_and_charges_on_the_paper_broker(desk: Desk) -> None:
    """`trades` lists today's fills with their day; `charges` prices them by the desk's schedule
    of Zerodha's charges, as the simulator does (a CNC buy: STT, no brokerage); `funds`
    answers."""
    out = place(desk, "NSE:INFY", "BUY", "1", "--price", "1600")
    order_id = json.loads(out)["order"]["order_id"]
    wait_until(
        lambda: order_id in [t["order_id"] for t in json.loads(cli(desk, "trades", "--json")[1])],
        timeout=10,
        what="the buy's trade",
    )
    code, out = cli(desk, "trades", "--day", desk.today, "--json")
    assert code == 0, out
    assert {t["day"] for t in json.loads(out)} == {desk.today}
    code, out = cli(desk, "charges", "--json")
    assert code == 0, out
    charged = {o["order_id"]: o for o in json.loads(out)["orders"]}
    bought = charged[order_id]
    value = Decimal(bought["average_price"]) * bought["quantity"]
    assert Decimal(bought["transaction_tax"]) == value / 1000  # 0.1 % STT on delivery
    assert Decimal(bought["brokerage"]) == 0
    code, out = cli(desk, "funds")
    assert code == 0, out
    assert "equity" in out


def test_the_total_names_what_its_realised_is_and_counts_estimated_days() -> None:
    """A carried option realises on its last day only its move since the close before, so the
    days' realised summed is no realised P&L from cost: it is named for what it is; and a day
    closed on estimates is counted as such, not summed silently."""

    def day(number: int, pnl: str, realised: str, *, estimated: bool = False) -> DayOut:
        opened = datetime(2026, 12, number, 3, 45, tzinfo=UTC)
        return DayOut(
            day=date(2026, 12, number),
            live=False,
            opened_at=opened,
            closed_at=opened,
            pnl=Decimal(pnl),
            realised=Decimal(realised),
            orders=1,
            fills=1,
            lapsed=0,
            carried_positions=0,
            holdings=0,
            estimated=estimated,
        )

    rows = [
        day(7, "-228.25", "0"),
        day(8, "-6353.75", "-6353.75"),
        day(31, "0", "0", estimated=True),
    ]
    assert day_commands._total(rows) == (
        "sum of the days' P&L -6,582.00 over 3 days (of it booked realised by the days' "
        "closes, each from its opening prices: -6,353.75); 1 day of it estimated"
    )


def test_a_live_day_whose_close_waits_says_its_pnl_is_an_estimate() -> None:
    """A desk restarted after a close it missed, before the login: the day's P&L counts its
    open positions at no price, so the row says it is an estimate (it read a plain 0.00)."""
    waiting = DayOut(
        day=date(2026, 12, 7),
        live=True,
        opened_at=datetime(2026, 12, 7, 3, 45, tzinfo=UTC),
        closed_at=None,
        pnl=Decimal(0),
        realised=Decimal(0),
        orders=1,
        fills=1,
        lapsed=0,
        carried_positions=1,
        holdings=0,
        estimated=True,
        close_waits=True,
    )
    assert day_commands._state(waiting) == (
        "live, estimated: some positions have no price yet; its close waits for the broker (log in)"
    )
    exact = waiting.model_copy(update={"estimated": False})
    assert day_commands._state(exact) == "live; its close waits for the broker (log in)"


def test_doctor_says_a_paper_desk_open_at_any_hour_is_open(desk: Desk) -> None:
    """A paper desk told to fill at any hour (``market_hours = "always"``) is open to the
    doctor at any hour: on a weekend it said "closed until Monday 09:15" while its orders
    filled."""
    code, out = cli(desk, "doctor", "--json")
    assert code == 0, out
    answer = json.loads(out)
    assert (answer["market_open"], answer["market_until"]) == (True, None)
    assert answer["verdict"] == "ready to trade"
    market = next(c for c in answer["checks"] if c["name"] == "market")
    assert (market["status"], market["summary"]) == (
        "ok",
        "open at any hour: the broker fills outside NSE's",
    )
