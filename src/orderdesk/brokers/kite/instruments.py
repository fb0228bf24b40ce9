"""The instrument master: Kite's daily CSV dump, parsed once per trading day and kept in memory.

Kite regenerates the dump every morning (about 08:30 IST) and re-uses instrument tokens after
contracts expire, so the cache is keyed on exchange plus trading symbol, never on the token, and
a dump belongs to the *instrument day*: the IST date, counted from 08:30. A dump fetched at 07:00
IST is still the previous day's and is replaced after 08:30.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from orderdesk.brokers.kite.errors import MalformedResponse
from orderdesk.brokers.kite.mapping import EXCHANGES
from orderdesk.domain.calendar import IST
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.reports import InstrumentInfo
from orderdesk.domain.values import Exchange, InstrumentKey

DUMP_READY = timedelta(hours=8, minutes=30)
"""When (IST) Kite's new dump is ready; before that the previous day's dump is current."""

COLUMNS = (
    "instrument_token",
    "tradingsymbol",
    "name",
    "expiry",
    "strike",
    "tick_size",
    "lot_size",
    "instrument_type",
    "segment",
    "exchange",
)


def instrument_day(now: datetime) -> date:
    """The dump a UTC-aware ``now`` should be served from."""
    return (now.astimezone(IST) - DUMP_READY).date()


@dataclass(frozen=True, slots=True)
class ParsedDump:
    """The rows orderdesk can trade, plus how many rows of other exchanges were left out."""

    rows: list[InstrumentInfo]
    skipped: int


def parse_instruments(text: str, *, endpoint: str = "instruments") -> ParsedDump:
    """Parse Kite's instruments CSV.

    Rows of exchanges orderdesk does not trade (e.g. ``NCO``) and symbols the domain cannot
    name are counted in ``skipped``; a row whose numbers do not parse is a
    :class:`MalformedResponse` naming the line and the column.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or ())]
    if missing:
        raise MalformedResponse(endpoint, "header", f"missing columns {', '.join(missing)}")
    rows: list[InstrumentInfo] = []
    skipped = 0
    for line, record in enumerate(reader, start=2):
        exchange = EXCHANGES.get(record["exchange"])
        if exchange is None:
            skipped += 1
            continue
        try:
            key = InstrumentKey(exchange, record["tradingsymbol"])
        except ValidationError:
            skipped += 1
            continue
        column = "instrument_token"
        try:
            token = int(record[column])
            column = "tick_size"
            tick = Decimal(record[column])
            column = "lot_size"
            lot = int(record[column])
            column = "strike"
            strike = Decimal(record[column] or "0")
        except (ValueError, InvalidOperation, TypeError):
            raise MalformedResponse(
                endpoint, f"line {line}.{column}", f"not a number: {record[column]!r}"
            ) from None
        rows.append(
            InstrumentInfo(
                instrument=key,
                instrument_token=token,
                name=record["name"],
                instrument_type=record["instrument_type"],
                segment=record["segment"],
                tick_size=tick,
                lot_size=lot,
                expiry=record["expiry"],
                strike=strike,
            )
        )
    return ParsedDump(rows, skipped)


@dataclass(slots=True)
class _Entry:
    day: date
    rows: list[InstrumentInfo]


@dataclass(slots=True)
class InstrumentCache:
    """Dumps per exchange (``None`` = all exchanges) for the current instrument day.

    Concurrent callers asking for the same dump share one download.
    """

    now: Callable[[], datetime]
    _entries: dict[Exchange | None, _Entry] = field(default_factory=dict)
    _by_key: dict[InstrumentKey, InstrumentInfo] = field(default_factory=dict)
    _locks: dict[Exchange | None, asyncio.Lock] = field(default_factory=dict)

    def cached(self, exchange: Exchange | None) -> list[InstrumentInfo] | None:
        """The dump for ``exchange`` if it is today's, else ``None``."""
        entry = self._entries.get(exchange)
        if entry is None or entry.day != instrument_day(self.now()):
            return None
        return entry.rows

    def store(
        self, exchange: Exchange | None, rows: Iterable[InstrumentInfo]
    ) -> list[InstrumentInfo]:
        day = instrument_day(self.now())
        if any(entry.day != day for entry in self._entries.values()):
            # A new day: yesterday's rows may name tokens that now belong to other contracts.
            self._entries.clear()
            self._by_key.clear()
        kept = list(rows)
        self._entries[exchange] = _Entry(day, kept)
        for info in kept:
            self._by_key[info.instrument] = info
        return kept

    async def get(
        self, exchange: Exchange | None, fetch: Callable[[], Awaitable[list[InstrumentInfo]]]
    ) -> list[InstrumentInfo]:
        """Today's dump for ``exchange``, calling ``fetch`` only when there is none yet."""
        rows = self.cached(exchange)
        if rows is not None:
            return rows
        lock = self._locks.setdefault(exchange, asyncio.Lock())
        async with lock:
            rows = self.cached(exchange)
            if rows is None:
                rows = self.store(exchange, await fetch())
        return rows

    def lookup(self, key: InstrumentKey) -> InstrumentInfo | None:
        """The cached row for ``key`` (from any dump fetched today), if there is one."""
        info = self._by_key.get(key)
        if info is None:
            return None
        return info if self.cached(info.instrument.exchange) or self.cached(None) else None


__all__ = ["DUMP_READY", "InstrumentCache", "ParsedDump", "instrument_day", "parse_instruments"]
