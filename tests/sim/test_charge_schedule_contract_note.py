"""``POST /charges/orders`` through the official client at the rates in force since
2026-04-01: Budget 2026's STT on NFO sales, and CTT with MCX's own charges on MCX, for a listed
contract (told by its instrument row) and for one the simulator does not list (told by its
exchange and symbol). Figures are worked by hand in tests/domain/test_charge_schedule_2026.py."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from kiteconnect import KiteConnect

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

from .conftest import SimControl, login

EXPIRY = "2026-01-29"
NIFTY_FUT = "TESTIDX26JANFUT"
NIFTY_CALL = "TESTIDX26JAN100CE"
CRUDE = "CRUDEOIL26JANFUT"  # 100 barrels a lot, priced per barrel
CRUDE_CALL = "CRUDEOIL26JAN5400CE"  # not listed: the note reads it off the symbol
CSV = (
    "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,"
    "lot_size,instrument_type,segment,exchange\n"
    f"24320002,95002,{NIFTY_FUT},TESTIDX,25000.0,{EXPIRY},0.0,0.05,65,FUT,NFO-FUT,NFO\n"
    f"24320258,95001,{NIFTY_CALL},TESTIDX,100.0,{EXPIRY},100.0,0.05,65,CE,NFO-OPT,NFO\n"
    f"60000007,234375,{CRUDE},CRUDEOIL,5400.0,{EXPIRY},0.0,1.0,1,FUT,MCX-FUT,MCX\n"
)


@pytest.fixture
def sim_config(sim_config: SimConfig, tmp_path: Path) -> SimConfig:
    csv_path = tmp_path / "instruments.csv"
    csv_path.write_text(CSV)
    sim_config.market_hours = "nse"
    sim_config.holidays = frozenset()
    sim_config.instruments = csv_path
    return sim_config


@pytest.fixture
def kite(sim_thread: SimServer, simctl: SimControl) -> KiteConnect:
    # A day before the contracts expire. The clock only ever goes back from the sim's start
    # (the real now), so no day's rollover runs to list or delist a series under the test.
    simctl.set_clock("2026-01-07 10:00:00")
    return login(sim_thread)


def sold(exchange: str, symbol: str, quantity: int, price: int, **terms: Any) -> dict[str, Any]:
    """A contract note entry: an executed NRML sale."""
    return {
        "order_id": "260107000000001",
        "exchange": exchange,
        "tradingsymbol": symbol,
        "transaction_type": "SELL",
        "variety": "regular",
        "product": "NRML",
        "order_type": "MARKET",
        "quantity": quantity,
        "average_price": price,
    } | terms


def charged(row: dict[str, Any]) -> dict[str, Any]:
    """A note row's charges as Decimals (GST as its total)."""
    charges = row["charges"]
    return {
        key: charges[key]
        if key == "transaction_tax_type"
        else Decimal(str(charges[key]["total"] if key == "gst" else charges[key]))
        for key in charges
    }


def test_nfo_sales_pay_the_2026_stt(kite: KiteConnect) -> None:
    listed = {i["tradingsymbol"] for i in kite.instruments()}
    assert {NIFTY_FUT, NIFTY_CALL, CRUDE} <= listed
    future, option = map(
        charged,
        kite.get_virtual_contract_note(
            [sold("NFO", NIFTY_FUT, 65, 25000), sold("NFO", NIFTY_CALL, 65, 100)]
        ),
    )
    assert future["transaction_tax_type"] == "stt"
    assert future["transaction_tax"] == Decimal("812.5")  # 0.05 % of 1,625,000 (was 325)
    assert future["total"] == Decimal("871.19025")
    assert option["transaction_tax"] == Decimal("9.75")  # 0.15 % of 6,500 premium (was 6.5)
    assert option["total"] == Decimal("36.044471")


def test_mcx_contracts_pay_ctt_and_mcx_charges(kite: KiteConnect) -> None:
    future, bought, option = map(
        charged,
        kite.get_virtual_contract_note(
            [
                sold("MCX", CRUDE, 1, 5400),  # 1 lot = 100 barrels: turnover 540,000
                sold("MCX", CRUDE, 1, 5400, transaction_type="BUY"),
                sold("MCX", CRUDE_CALL, 1, 150),  # premium 100 × 150 = 15,000
            ]
        ),
    )
    assert future == {
        "transaction_tax": Decimal("54"),  # CTT 0.01 % (NSE futures' STT would be 270)
        "transaction_tax_type": "ctt",
        "exchange_turnover_charge": Decimal("11.34"),  # MCX 0.0021 %
        "sebi_turnover_charge": Decimal("0.54"),
        "brokerage": Decimal("20"),
        "stamp_duty": Decimal("0"),
        "gst": Decimal("5.7384"),  # 18 % of 31.88
        "total": Decimal("91.6184"),
    }
    assert (bought["transaction_tax"], bought["stamp_duty"]) == (0, Decimal("10.8"))
    assert bought["total"] == Decimal("48.4184")  # 11.34 + 0.54 + 20 + 10.8 + 5.7384
    assert option["transaction_tax_type"] == "ctt"
    assert option["transaction_tax"] == Decimal("7.5")  # CTT 0.05 % of premium
    assert option["exchange_turnover_charge"] == Decimal("6.27")  # MCX 0.0418 % of premium
    assert option["brokerage"] == 20
    assert option["total"] == Decimal("38.5163")
