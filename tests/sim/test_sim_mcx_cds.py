"""MCX commodity and CDS currency futures on the default simulator: CRUDEOIL and GOLDM on MCX,
USDINR on CDS, three monthly contracts each, rolling forward with the simulated date; traded in
lots as on Kite (the dump's ``lot_size`` is 1), each lot worth its ``multiplier`` of the quoted
unit in positions, P&L and margins (KITE_API.md §5.1)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from kiteconnect import KiteConnect

from orderdesk.domain.calendar import TradingCalendar
from orderdesk.domain.contracts import contract_multiplier
from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig
from orderdesk.sim.instruments import CSV_HEADER, InstrumentMaster
from orderdesk.sim.market import MarketData
from orderdesk.sim.universe import FUTURES, builtin_instruments, futures_expiries, years_to_expiry

from .conftest import SimControl, day_charges, login

OPENING_CASH = 5_000_000
TERMS = {"CRUDEOIL": ("MCX", 1.0, 100), "GOLDM": ("MCX", 1.0, 10), "USDINR": ("CDS", 0.0025, 1000)}
"""name → exchange, tick size, multiplier (the lot in quoted units)."""


def _contract(name: str) -> Any:
    return next(c for c in FUTURES if c.name == name)


def _months(kite: KiteConnect, exchange: str, name: str) -> list[dict[str, Any]]:
    """A contract's rows in the exchange's dump, nearest month first."""
    rows = [r for r in kite.instruments(exchange) if r["name"] == name]
    return sorted(rows, key=lambda r: r["expiry"])


def _buy(kite: KiteConnect, exchange: str, symbol: str, lots: int) -> float:
    """``lots`` at market, NRML; the fill price."""
    order_id = kite.place_order(
        variety="regular",
        exchange=exchange,
        tradingsymbol=symbol,
        transaction_type="BUY",
        quantity=lots,
        product="NRML",
        order_type="MARKET",
        market_protection=-1,
    )
    (trade,) = kite.order_trades(order_id)
    price: float = trade["average_price"]
    return price


def test_the_default_dump_lists_mcx_and_cds_futures(kite: KiteConnect) -> None:
    """``instruments("MCX")`` and ``instruments("CDS")`` hold three months of each contract,
    in lots of 1, on the contract's tick, later months dearer by the carry."""
    for name, (exchange, tick, _) in TERMS.items():
        rows = _months(kite, exchange, name)
        assert [r["tradingsymbol"] for r in rows] == [
            f"{name}{r['expiry']:%y}{r['expiry']:%b}FUT".upper() for r in rows
        ]
        assert len(rows) == 3
        assert len({(r["expiry"].year, r["expiry"].month) for r in rows}) == 3
        for row in rows:
            assert (row["lot_size"], row["tick_size"], row["strike"]) == (1, tick, 0.0)
            assert (row["instrument_type"], row["segment"]) == ("FUT", f"{exchange}-FUT")
            assert row["instrument_token"] & 0xFF == {"MCX": 7, "CDS": 3}[exchange]
        prices = [r["last_price"] for r in rows]
        assert prices == sorted(prices)
        assert prices[0] < prices[-1]


def test_each_contract_expires_by_its_exchanges_rule() -> None:
    """CRUDEOIL on the 19th, GOLDM on the 5th (each moved back off a weekend or holiday), USDINR
    two trading days before the month's last trading day."""
    day = date(2026, 7, 16)
    calendar = TradingCalendar()
    assert futures_expiries(_contract("CRUDEOIL"), day, calendar) == [
        date(2026, 7, 17),  # the 19th is a Sunday
        date(2026, 8, 19),
        date(2026, 9, 18),  # a Saturday
    ]
    assert futures_expiries(_contract("GOLDM"), day, calendar) == [
        date(2026, 8, 5),
        date(2026, 9, 4),  # a Saturday
        date(2026, 10, 5),
    ]
    assert futures_expiries(_contract("USDINR"), day, calendar) == [
        date(2026, 7, 29),  # the 31st is a Friday
        date(2026, 8, 27),  # the 31st a Monday
        date(2026, 9, 28),  # the 30th a Wednesday
    ]
    holiday = TradingCalendar(holidays=frozenset({date(2026, 8, 19)}))
    assert futures_expiries(_contract("CRUDEOIL"), date(2026, 7, 18), holiday)[0] == date(
        2026, 8, 18
    )


def test_later_months_follow_the_nearest_carried_over_the_months_between() -> None:
    """Only the nearest month walks; each later month trades at it carried from one expiry to
    the other, ``F_near·e^(r·(t − t_near))``."""
    today = date(2026, 7, 16)
    master = InstrumentMaster(builtin_instruments(today))
    market = MarketData(master, 5, clock=lambda: datetime(2026, 7, 16, 11))
    for _ in range(200):
        market.step()
    for contract in FUTURES:
        rows = sorted((i for i in master if i.name == contract.name), key=lambda i: i.expiry)
        near = market.last_price(rows[0].instrument_token)
        near_years = years_to_expiry(date.fromisoformat(rows[0].expiry), today)
        assert near != rows[0].last_price  # it walked
        for later in rows[1:]:
            years = years_to_expiry(date.fromisoformat(later.expiry), today)
            carried = near * math.exp(contract.rate * (years - near_years))
            price = market.last_price(later.instrument_token)
            assert price == pytest.approx(carried, abs=contract.tick / 2 + 1e-9), later


def test_positions_pnl_and_margins_count_the_lot(kite: KiteConnect, simctl: SimControl) -> None:
    """Two lots of crude bought at 5600 and marked at 5610 make 2 × 10 × 100 = 2000; one lot
    of USDINR up 5 paise makes 50; the margin calculator and the funds value a lot at
    price × multiplier."""
    crude = _months(kite, "MCX", "CRUDEOIL")[0]["tradingsymbol"]
    usdinr = _months(kite, "CDS", "USDINR")[0]["tradingsymbol"]
    simctl.prices({f"MCX:{crude}": 5600, f"CDS:{usdinr}": 88.0})
    (margin,) = kite.order_margins(
        [
            {
                "exchange": "MCX",
                "tradingsymbol": crude,
                "transaction_type": "BUY",
                "variety": "regular",
                "product": "NRML",
                "order_type": "LIMIT",
                "quantity": 2,
                "price": 5600,
            }
        ]
    )
    value = 2 * 5600 * 100
    assert margin["span"] == pytest.approx(value * 0.10)
    assert margin["exposure"] == pytest.approx(value * 0.03)

    assert _buy(kite, "MCX", crude, 2) == 5600
    assert _buy(kite, "CDS", usdinr, 1) == 88.0
    simctl.prices({f"MCX:{crude}": 5610, f"CDS:{usdinr}": 88.05})
    rows = {r["tradingsymbol"]: r for r in kite.positions()["net"]}
    oil, dollar = rows[crude], rows[usdinr]
    assert (oil["quantity"], oil["multiplier"], oil["average_price"]) == (2, 100, 5600)
    assert oil["buy_value"] == pytest.approx(value)
    assert oil["pnl"] == pytest.approx(2000)
    assert oil["unrealised"] == pytest.approx(2000)
    assert (dollar["quantity"], dollar["multiplier"]) == (1, 1000)
    assert dollar["pnl"] == pytest.approx(50)

    equity = kite.margins("equity")
    blocked = (value + 88.0 * 1000) * 0.13
    assert equity["utilised"]["span"] + equity["utilised"]["exposure"] == pytest.approx(blocked)


def test_multipliers_follow_the_contract_a_symbol_names() -> None:
    """MCX and currency symbols are priced per quoted unit, everything else per share."""
    assert contract_multiplier("MCX", "CRUDEOIL26AUGFUT") == 100
    assert contract_multiplier("MCX", "CRUDEOILM26AUGFUT") == 10
    assert contract_multiplier("MCX", "GOLDM26AUGFUT") == 10
    assert contract_multiplier("MCX", "LEADMINI17DECFUT") == 1000  # kite-mocks' positions.json
    assert contract_multiplier("CDS", "USDINR26JULFUT") == 1000
    assert contract_multiplier("NFO", "NIFTY26JULFUT") == 1
    assert contract_multiplier("NSE", "INFY") == 1
    assert contract_multiplier("MCX", "SOMETHINGNEW26JULFUT") == 1


def test_a_users_file_with_a_contract_replaces_its_built_in_months(tmp_path: Path) -> None:
    """An instrument file listing CRUDEOIL months makes CRUDEOIL's chain on its own (no
    built-in month at another level for it to follow); GOLDM and USDINR stay built in."""
    csv_path = tmp_path / "instruments.csv"
    csv_path.write_text(
        ",".join(CSV_HEADER) + "\n"
        f"{445003 << 8 | 7},445003,CRUDEOIL27JANFUT,CRUDEOIL,5000.0,2027-01-19,0.0,1.0,1,FUT,"
        "MCX-FUT,MCX\n"
    )
    master = InstrumentMaster.load(csv_path, today=date(2026, 12, 7))
    crude = [i.tradingsymbol for i in master if i.name == "CRUDEOIL"]
    assert crude == ["CRUDEOIL27JANFUT"]
    assert len([i for i in master if i.name == "GOLDM"]) == 3
    assert len([i for i in master if i.name == "USDINR"]) == 3


@pytest.fixture
def days_sim() -> Iterator[SimServer]:
    """Trading days kept, prices still until a test moves them."""
    config = SimConfig(
        port=0,
        seed=9,
        price_tick_interval=None,
        rate_limits=False,
        market_hours="nse",
        opening_cash=Decimal(OPENING_CASH),
    )
    with SimServer.run_in_thread(config) as server:
        yield server


def test_the_nearest_month_expires_settles_and_a_new_month_is_listed(
    days_sim: SimServer,
) -> None:
    """A lot of the nearest crude month held to its expiry settles at its last price the next
    morning (cash moves by the move × 100, less the day's charges); that morning's dump no
    longer lists it and lists a new third month, priced off the new nearest month."""
    simctl = SimControl(days_sim.rest_root)
    kite = login(days_sim)
    before = _months(kite, "MCX", "CRUDEOIL")
    near, second = before[0], before[1]
    expiry = near["expiry"]
    simctl.set_clock(f"{expiry.isoformat()} 10:00:00")
    kite = login(days_sim)
    key = f"MCX:{near['tradingsymbol']}"
    simctl.prices({key: 5600})
    paid = _buy(kite, "MCX", near["tradingsymbol"], 1)
    simctl.prices({key: 5650})
    charged = float(day_charges(kite))

    following = days_sim.config.calendar.next_trading_day(expiry)
    simctl.set_clock(f"{following.isoformat()} 09:30:00")
    kite = login(days_sim)
    assert kite.positions()["net"] == []
    cash = kite.margins()["equity"]["available"]["cash"]
    assert cash == pytest.approx(OPENING_CASH + (5650 - paid) * 100 - charged, abs=0.01)

    after = _months(kite, "MCX", "CRUDEOIL")
    assert [r["tradingsymbol"] for r in after[:2]] == [r["tradingsymbol"] for r in before[1:]]
    assert len(after) == 3
    fresh = after[2]
    assert fresh["expiry"] > second["expiry"]
    assert fresh["instrument_token"] not in {r["instrument_token"] for r in before}
    quotes = kite.ltp([f"MCX:{r['tradingsymbol']}" for r in after])
    near_now = quotes[f"MCX:{after[0]['tradingsymbol']}"]["last_price"]
    fresh_now = quotes[f"MCX:{fresh['tradingsymbol']}"]["last_price"]
    gap = years_to_expiry(fresh["expiry"], following) - years_to_expiry(
        after[0]["expiry"], following
    )
    assert fresh_now == pytest.approx(
        near_now * math.exp(_contract("CRUDEOIL").rate * gap), abs=0.51
    )
    assert _buy(kite, "MCX", fresh["tradingsymbol"], 1) == fresh_now
