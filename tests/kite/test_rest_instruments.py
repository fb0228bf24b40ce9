"""The instrument master: CSV parsing, per-day caching from 08:30 IST, shared downloads."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from orderdesk.brokers.kite.errors import MalformedResponse
from orderdesk.brokers.kite.instruments import InstrumentCache, instrument_day, parse_instruments
from orderdesk.domain.reports import InstrumentInfo
from orderdesk.domain.values import Exchange, InstrumentKey
from tests.support import eventually

HEADER = (
    "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,"
    "lot_size,instrument_type,segment,exchange\n"
)
INFY_ROW = "408065,1594,INFY,INFOSYS,0.0,,0.0,0.05,1,EQ,NSE,NSE\n"
NCO_ROW = "1,1,GOLDM,GOLD,0.0,2026-01-30,0.0,1.0,1,FUT,NCO-FUT,NCO\n"


def test_rows_of_other_exchanges_are_counted_not_kept() -> None:
    """A row of an exchange orderdesk does not trade is skipped and counted."""
    parsed = parse_instruments(HEADER + INFY_ROW + NCO_ROW)
    assert [info.instrument for info in parsed.rows] == [InstrumentKey(Exchange.NSE, "INFY")]
    assert parsed.skipped == 1


def test_bad_number_names_line_and_column() -> None:
    """A tick size that is not a number is a malformed response naming line and column."""
    bad = INFY_ROW.replace("0.05", "five paise")
    with pytest.raises(MalformedResponse) as exc_info:
        parse_instruments(HEADER + bad)
    assert exc_info.value.field == "line 2.tick_size"


def test_missing_column_is_malformed() -> None:
    """A dump without the tick_size column is refused before any row is read."""
    with pytest.raises(MalformedResponse) as exc_info:
        parse_instruments("instrument_token,tradingsymbol\n1,INFY\n")
    assert "tick_size" in exc_info.value.reason


def test_instrument_day_turns_at_0830_ist() -> None:
    """08:29 IST still belongs to yesterday's dump; 08:30 IST starts today's."""
    before = datetime(2026, 3, 10, 2, 59, tzinfo=UTC)  # 08:29 IST
    after = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 08:30 IST
    assert instrument_day(before).day == 9
    assert instrument_day(after).day == 10


async def test_cache_refetches_on_a_new_day_and_shares_downloads() -> None:
    """Concurrent callers share one download; the next instrument day downloads again."""
    now = [datetime(2026, 3, 10, 4, 0, tzinfo=UTC)]
    cache = InstrumentCache(lambda: now[0])
    downloads = 0
    gate = asyncio.Event()

    async def fetch() -> list[InstrumentInfo]:
        nonlocal downloads
        downloads += 1
        await gate.wait()
        return parse_instruments(HEADER + INFY_ROW).rows

    waiting = [asyncio.create_task(cache.get(Exchange.NSE, fetch)) for _ in range(3)]
    await eventually(lambda: downloads == 1, what="the first download to start")
    gate.set()
    results = await asyncio.gather(*waiting)
    assert downloads == 1
    assert results[0] is results[1] is results[2]
    key = InstrumentKey(Exchange.NSE, "INFY")
    assert cache.lookup(key) is not None
    now[0] = datetime(2026, 3, 11, 4, 0, tzinfo=UTC)
    assert cache.lookup(key) is None  # yesterday's token may belong to another contract now
    await cache.get(Exchange.NSE, fetch)
    assert downloads == 2
