"""The instrument master: built-in universe, token layout, F&O expiries, and Kite's CSV dump."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from pathlib import Path

import pytest
from kiteconnect import KiteConnect

from orderdesk.domain.calendar import TradingCalendar
from orderdesk.holidays import NSE_HOLIDAYS
from orderdesk.sim.instruments import (
    CSV_HEADER,
    SEGMENT_IDS,
    InstrumentMaster,
    parse_csv,
    price_divisor,
)
from orderdesk.sim.universe import (
    builtin_instruments,
    monthly_expiries,
    monthly_expiry,
    weekly_expiries,
)

TODAY = date(2026, 7, 14)  # a Tuesday: the weekly expiry is today itself
NSE = TradingCalendar(holidays=NSE_HOLIDAYS)


@pytest.fixture
def master() -> InstrumentMaster:
    """The built-in universe alone, for a fixed reference date."""
    return InstrumentMaster(builtin_instruments(TODAY))


def test_same_date_gives_same_rows_and_tokens() -> None:
    """Loading twice for one reference date yields identical rows in identical order."""
    first = list(InstrumentMaster.load(today=TODAY))
    second = list(InstrumentMaster.load(today=TODAY))
    assert first == second


def test_every_token_carries_its_segment_in_the_low_byte(master: InstrumentMaster) -> None:
    """token == exchange_token << 8 | segment id, with INDICES rows on segment 9."""
    for inst in master:
        assert inst.instrument_token >> 8 == inst.exchange_token, inst
        head = "INDICES" if inst.segment == "INDICES" else inst.exchange
        assert inst.instrument_token & 0xFF == SEGMENT_IDS[head], inst


def test_well_known_names_have_kites_tokens(master: InstrumentMaster) -> None:
    """INFY, SBIN and the indices resolve by key, token and symbol to Kite's real tokens."""
    infy = master.by_key("NSE:INFY")
    assert infy is not None
    assert infy.instrument_token == 408065
    assert (infy.tick_size, infy.lot_size, infy.instrument_type) == (0.05, 1, "EQ")
    assert master.by_token(408065) is infy
    assert master.by_symbol("NSE", "INFY") is infy
    nifty = master.by_key("NSE:NIFTY 50")
    assert nifty is not None
    assert (nifty.instrument_token, nifty.segment, nifty.is_index) == (256265, "INDICES", True)
    sensex = master.by_key("BSE:SENSEX")
    assert sensex is not None
    assert sensex.instrument_token == 265
    bse_infy = master.by_key("BSE:INFY")
    assert bse_infy is not None
    assert bse_infy.instrument_token & 0xFF == 4
    equities = [i for i in master if i.instrument_type == "EQ" and not i.is_index]
    assert 20 <= len({i.tradingsymbol for i in equities}) <= 40
    assert master.by_key("NSE:NOSUCH") is None
    assert master.by_token(1) is None


def test_index_derivatives_carry_real_contract_terms(master: InstrumentMaster) -> None:
    """2026's contracts: NIFTY lots of 65 with freeze 1800, BANKNIFTY lots of 30 with freeze
    900; tick by kind."""
    terms = {"NIFTY": (65, 1800), "BANKNIFTY": (30, 900)}
    nfo = [i for i in master if i.exchange == "NFO"]
    assert {i.name for i in nfo} == set(terms)
    for inst in nfo:
        assert (inst.lot_size, inst.freeze_quantity) == terms[inst.name]
        if inst.instrument_type == "FUT":
            assert (inst.segment, inst.tick_size, inst.strike) == ("NFO-FUT", 0.1, 0.0)
        else:
            assert inst.instrument_type in ("CE", "PE")
            assert (inst.segment, inst.tick_size) == ("NFO-OPT", 0.05)
            assert inst.strike > 0
        assert inst.last_price > 0


def test_expiries_are_future_tuesdays_and_monthlies_are_the_last(
    master: InstrumentMaster,
) -> None:
    """Every NFO expiry is a Tuesday (NSE's day since 1 September 2025) on or after the
    reference date; futures use monthlies, the last Tuesday of their month."""
    for inst in master:
        if inst.expiry and inst.exchange == "NFO":
            expiry = date.fromisoformat(inst.expiry)
            assert expiry.weekday() == 1
            assert expiry >= TODAY
            if inst.instrument_type == "FUT":
                assert expiry + timedelta(weeks=1) > monthly_expiry(expiry.year, expiry.month)
                assert expiry.month != (expiry + timedelta(weeks=1)).month
    futures = sorted(i.tradingsymbol for i in master if i.instrument_type == "FUT")
    assert "NIFTY26JULFUT" in futures
    assert "BANKNIFTY26SEPFUT" in futures
    weekly = master.by_key("NFO:NIFTY2671425000CE")
    assert weekly is not None
    assert weekly.expiry == "2026-07-14"
    monthly = master.by_key("NFO:NIFTY26JUL25000PE")
    assert monthly is not None
    assert monthly.expiry == "2026-07-28"


def test_expiry_calendar_rolls_after_the_last_tuesday() -> None:
    """The day after a monthly expiry, the next month's contract comes first."""
    assert monthly_expiry(2026, 12) == date(2026, 12, 29)
    assert monthly_expiries(date(2026, 7, 29), 2) == [date(2026, 8, 25), date(2026, 9, 29)]
    assert monthly_expiries(date(2026, 7, 28), 1) == [date(2026, 7, 28)]
    assert weekly_expiries(date(2026, 7, 15), 2) == [date(2026, 7, 21), date(2026, 7, 28)]


def test_an_expiry_on_a_holiday_moves_to_the_trading_day_before() -> None:
    """NSE's 2026 holidays on Tuesdays: Holi (3 March) and Mahavir Jayanti (31 March, the
    month's last Tuesday) and Guru Nanak's day (24 November, likewise) move their expiries to
    the Monday before."""
    assert monthly_expiry(2026, 3, NSE) == date(2026, 3, 30)
    assert monthly_expiry(2026, 11, NSE) == date(2026, 11, 23)
    assert monthly_expiry(2026, 7, NSE) == date(2026, 7, 28)  # no holiday: unmoved
    assert weekly_expiries(date(2026, 3, 1), 3, NSE) == [
        date(2026, 3, 2),
        date(2026, 3, 10),
        date(2026, 3, 17),
    ]
    # On the Monday a holiday Tuesday's expiry moved to, that Monday is the first expiry;
    # the day after, the next week's is.
    assert weekly_expiries(date(2026, 3, 2), 1, NSE) == [date(2026, 3, 2)]
    assert weekly_expiries(date(2026, 3, 3), 1, NSE) == [date(2026, 3, 10)]
    monday = InstrumentMaster(builtin_instruments(date(2026, 3, 24), NSE))
    march = monday.by_key("NFO:NIFTY26MARFUT")
    assert march is not None
    assert march.expiry == "2026-03-30"


def test_strikes_surround_the_index_level(master: InstrumentMaster) -> None:
    """Option strikes step by 50 (NIFTY) / 100 (BANKNIFTY) on both sides of the spot."""
    for name, index_key, step in (
        ("NIFTY", "NSE:NIFTY 50", 50),
        ("BANKNIFTY", "NSE:NIFTY BANK", 100),
    ):
        index = master.by_key(index_key)
        assert index is not None
        strikes = sorted({i.strike for i in master if i.name == name and i.strike})
        assert min(strikes) < index.last_price < max(strikes)
        assert all(b - a == step for a, b in itertools.pairwise(strikes))


def test_csv_parses_with_the_official_client(master: InstrumentMaster) -> None:
    """The official client's own CSV parser reads every row back with the same values."""
    rows = KiteConnect("key")._parse_instruments(master.to_csv().encode())
    assert len(rows) == len(master)
    for row, inst in zip(rows, master, strict=True):
        assert row["instrument_token"] == inst.instrument_token
        assert row["tradingsymbol"] == inst.tradingsymbol
        assert row["last_price"] == inst.last_price
        assert row["strike"] == inst.strike
        assert row["lot_size"] == inst.lot_size
        expected = date.fromisoformat(inst.expiry) if inst.expiry else ""
        assert row["expiry"] == expected
    assert master.to_csv().splitlines()[0] == ",".join(CSV_HEADER)


def test_csv_by_exchange_keeps_only_that_exchange(master: InstrumentMaster) -> None:
    """The NFO dump holds the derivatives only; an exchange with no rows gives the header."""
    nfo = KiteConnect("key")._parse_instruments(master.to_csv("NFO").encode())
    assert nfo
    assert {row["exchange"] for row in nfo} == {"NFO"}
    assert master.to_csv("BFO").splitlines() == [",".join(CSV_HEADER)]


def test_mocks_dump_round_trips_byte_for_byte(kite_mocks: Path) -> None:
    """Reading the upstream dump and writing it back gives the very same text."""
    text = (kite_mocks / "instruments_all.csv").read_text(encoding="utf-8")
    master = InstrumentMaster(parse_csv(text))
    assert master.to_csv() == (kite_mocks / "instruments_all.csv").read_bytes().decode()
    assert master.by_key("NFO:BANKNIFTY18JAN23500CE") is not None


def test_default_load_adds_the_mocks_but_builtins_win(
    kite_mocks: Path, master: InstrumentMaster
) -> None:
    """Without --instruments the mocks' rows join the universe without displacing any built-in."""
    merged = InstrumentMaster.load(today=TODAY)
    mocks = parse_csv((kite_mocks / "instruments_all.csv").read_text())
    assert merged.by_key("NSE:CDSL") is not None
    assert len(merged) == len(master) + len(mocks)
    assert list(merged)[: len(master)] == list(master)


def test_user_file_overrides_builtin_rows(tmp_path: Path) -> None:
    """A user's CSV replaces a built-in row with the same key and keeps the rest."""
    path = tmp_path / "mine.csv"
    path.write_text(
        ",".join(CSV_HEADER) + "\n"
        "408065,1594,INFY,INFOSYS LTD,1234.5,,0.0,0.05,1,EQ,NSE,NSE\n"
        "2953219,11536,USDINR26JULFUT,USDINR,83.25,2026-07-29,0.0,0.0025,1,FUT,CDS-FUT,CDS\n"
    )
    master = InstrumentMaster.load(path, today=TODAY)
    infy = master.by_key("NSE:INFY")
    assert infy is not None
    assert (infy.name, infy.last_price) == ("INFOSYS LTD", 1234.5)
    cds = master.by_key("CDS:USDINR26JULFUT")
    assert cds is not None
    assert price_divisor(cds.instrument_token) == 10_000_000
    assert master.by_key("NSE:SBIN") is not None
    only = InstrumentMaster.load(path, include_builtin=False)
    assert len(only) == 2


def test_malformed_row_names_file_and_line(tmp_path: Path) -> None:
    """A row that would crash the official client is refused with its file and line."""
    path = tmp_path / "bad.csv"
    path.write_text(
        ",".join(CSV_HEADER) + "\n"
        "408065,1594,INFY,INFOSYS,1500.0,,0.0,0.05,1,EQ,NSE,NSE\n"
        "779521,3045,SBIN,SBI,abc,,0.0,0.05,1,EQ,NSE,NSE\n"
    )
    with pytest.raises(ValueError, match="could not convert") as exc_info:
        InstrumentMaster.load(path)
    assert f"{path}:3:" in str(exc_info.value)


def test_duplicate_tokens_are_refused() -> None:
    """Building a master from rows that share a token is a ValueError."""
    rows = parse_csv(
        ",".join(CSV_HEADER) + "\n408065,1594,INFY,INFOSYS,1500.0,,0.0,0.05,1,EQ,NSE,NSE\n"
    )
    with pytest.raises(ValueError, match="duplicate") as exc_info:
        InstrumentMaster([*rows, rows[0]])
    assert "408065" in str(exc_info.value)


def test_price_divisor_by_segment() -> None:
    """CDS divides by 10^7, BCD (and NCO, as py 5.2.2 does) by 10^4, the rest by 100."""
    assert price_divisor(408065) == 100
    assert price_divisor((1 << 8) | 3) == 10_000_000
    assert price_divisor((1 << 8) | 6) == 10_000
    assert price_divisor((1 << 8) | 12) == 10_000
    assert price_divisor(256265) == 100
