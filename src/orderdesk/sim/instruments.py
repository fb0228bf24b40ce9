"""The instrument master: every tradable (and index) row the simulator knows, as Kite lists it.

Kite identifies an instrument two ways: ``EXCHANGE:TRADINGSYMBOL`` (what people type) and the
``instrument_token`` (what the ticker speaks). The token carries its segment in the low byte,
``exchange_token << 8 | segment_id``, and the ticker chooses the price divisor from that byte, so
the helpers for both live here beside the row type.

:meth:`InstrumentMaster.load` merges the built-in universe (:mod:`orderdesk.sim.universe`) with
a CSV in Kite's dump format: a user's ``--instruments`` file, which wins every conflict, or — when
none is given — the upstream samples in ``../shared/kite-mocks`` if that folder happens to exist,
which lose every conflict. :meth:`InstrumentMaster.to_csv` writes the dump back exactly as the
official client's ``instruments()`` parses it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from orderdesk.domain.calendar import TradingCalendar

CSV_HEADER = (
    "instrument_token",
    "exchange_token",
    "tradingsymbol",
    "name",
    "last_price",
    "expiry",
    "strike",
    "tick_size",
    "lot_size",
    "instrument_type",
    "segment",
    "exchange",
)

# Segment ids as the ticker encodes them in a token's low byte (KITE_API.md §10).
SEGMENT_IDS: dict[str, int] = {
    "NSE": 1,
    "NFO": 2,
    "CDS": 3,
    "BSE": 4,
    "BFO": 5,
    "BCD": 6,
    "MCX": 7,
    "MCXSX": 8,
    "INDICES": 9,
    "NCO": 12,
}
INDICES_SEGMENT_ID = SEGMENT_IDS["INDICES"]
EXCHANGES = frozenset({"NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX", "NCO"})

_MOCKS_CSV = Path(__file__).resolve().parents[3].parent / "shared/kite-mocks/instruments_all.csv"


def make_token(exchange_token: int, segment_id: int) -> int:
    """The instrument token Kite derives from an exchange token and a segment id."""
    return (exchange_token << 8) | segment_id


def segment_of(token: int) -> int:
    """The segment id in a token's low byte."""
    return token & 0xFF


def price_divisor(token: int) -> int:
    """What the ticker divides integer prices by for this token's segment.

    Currency derivatives on NSE carry seven decimals, BSE's (and, in the official Python client
    5.2.2, NCO's) four; everything else is in paise.
    """
    segment = token & 0xFF
    if segment == 3:
        return 10_000_000
    if segment in (6, 12):
        return 10_000
    return 100


@dataclass(frozen=True, slots=True)
class Instrument:
    """One row of Kite's instrument dump, plus the exchange's freeze limit where one applies."""

    instrument_token: int
    exchange_token: int
    tradingsymbol: str
    name: str
    last_price: float
    expiry: str
    """``""`` or ``YYYY-MM-DD``."""
    strike: float
    tick_size: float
    lot_size: int
    instrument_type: str
    segment: str
    exchange: str
    freeze_quantity: int | None = None
    """Largest quantity one order may carry (NFO index derivatives); ``None`` = no limit."""

    @property
    def key(self) -> str:
        """``EXCHANGE:TRADINGSYMBOL``, the key of ``/quote`` and of order placement."""
        return f"{self.exchange}:{self.tradingsymbol}"

    @property
    def is_index(self) -> bool:
        """True for index rows (segment INDICES): quoted and ticked, never traded."""
        return self.instrument_token & 0xFF == INDICES_SEGMENT_ID

    def csv_row(self) -> list[str]:
        """The row in Kite's column order; floats print like the real dump (``0.0``)."""
        return [
            str(self.instrument_token),
            str(self.exchange_token),
            self.tradingsymbol,
            self.name,
            repr(float(self.last_price)),
            self.expiry,
            repr(float(self.strike)),
            repr(float(self.tick_size)),
            str(self.lot_size),
            self.instrument_type,
            self.segment,
            self.exchange,
        ]


class InstrumentMaster:
    """An indexed set of instruments: by key, by token, and as Kite's CSV dump.

    Tokens and keys are unique; a duplicate of either is a ``ValueError`` (:meth:`load` resolves
    conflicts between sources before building one). The rows never change, but a row can be
    taken off the list: at each trading day's rollover the contracts that expired before it are
    delisted (:meth:`delist_expired`), and from then on no lookup, iteration or dump shows them,
    as Kite's next morning dump no longer carries them, and new contracts can be listed
    (:meth:`list_more`). :meth:`relist_all` goes back to the rows as loaded (``/_sim/reset``).
    """

    __slots__ = ("_by_key", "_by_token", "_csv", "_items", "_listed", "_loaded")

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self._items = self._loaded = tuple(instruments)
        _refuse_duplicates(self._items, tokens=set(), keys=set())
        self._listed: tuple[Instrument, ...] = ()
        self._by_token: dict[int, Instrument] = {}
        self._by_key: dict[str, Instrument] = {}
        self._csv: dict[str | None, str] = {}
        self._list(self._items)

    def _list(self, rows: tuple[Instrument, ...]) -> None:
        self._listed = rows
        self._by_token = {inst.instrument_token: inst for inst in rows}
        self._by_key = {inst.key: inst for inst in rows}
        self._csv = {}

    @classmethod
    def load(
        cls,
        csv_path: Path | None = None,
        include_builtin: bool = True,
        *,
        today: date | None = None,
        calendar: TradingCalendar | None = None,
    ) -> InstrumentMaster:
        """The built-in universe plus a CSV: the user's file, else the mocks' dump if present.

        ``today`` fixes the derivative expiries and strikes (default: today's date in IST), and
        ``calendar`` the holidays an expiry moves away from (default: weekends only), so the same
        date and calendar always yield the same rows and tokens. A user file wins conflicts over
        the built-in rows (an MCX or CDS future it lists months of replaces the built-in months
        of that contract); the optional mocks' dump loses them.
        """
        from orderdesk.sim.universe import builtin_instruments, builtins_beside, ist_today

        builtin = (
            builtin_instruments(today or ist_today(), calendar or TradingCalendar())
            if include_builtin
            else []
        )
        if csv_path is not None:
            rows = read_csv(csv_path)
            return cls(_merge(rows, builtins_beside(builtin, rows)))
        extra = read_csv(_MOCKS_CSV) if _MOCKS_CSV.is_file() else []
        return cls(_merge(builtin, extra))

    def by_key(self, key: str) -> Instrument | None:
        """The instrument for ``"NSE:INFY"``, or ``None``."""
        return self._by_key.get(key)

    def by_token(self, token: int) -> Instrument | None:
        """The instrument with this token, or ``None``."""
        return self._by_token.get(token)

    def by_symbol(self, exchange: str, tradingsymbol: str) -> Instrument | None:
        """The instrument traded as ``tradingsymbol`` on ``exchange``, or ``None``."""
        return self._by_key.get(f"{exchange}:{tradingsymbol}")

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._listed)

    def __len__(self) -> int:
        return len(self._listed)

    def __repr__(self) -> str:
        return f"InstrumentMaster({len(self._listed)} instruments)"

    def delist_expired(self, day: date) -> list[Instrument]:
        """Take every contract whose expiry is before ``day`` off the list; returns them."""
        cutoff = day.isoformat()  # ISO dates compare as text
        gone = [inst for inst in self._listed if inst.expiry and inst.expiry < cutoff]
        if gone:
            ended = {inst.instrument_token for inst in gone}
            self._list(tuple(i for i in self._listed if i.instrument_token not in ended))
        return gone

    def list_more(self, rows: Iterable[Instrument]) -> list[Instrument]:
        """List new contracts (a later day's series); returns them. A token any row ever had,
        or a key listed now, is a ``ValueError`` and lists nothing."""
        added = tuple(rows)
        tokens = {inst.instrument_token for inst in self._items}
        _refuse_duplicates(added, tokens=tokens, keys=set(self._by_key))
        if added:
            self._items += added
            self._list(self._listed + added)
        return list(added)

    def next_exchange_token(self, exchange: str, floor: int) -> int:
        """An exchange token above every one ``exchange`` has had (at least ``floor``)."""
        used = (inst.exchange_token for inst in self._items if inst.exchange == exchange)
        return max(max(used, default=floor - 1) + 1, floor)

    def relist_all(self) -> None:
        """Every row listed again, as loaded; rows listed since are gone."""
        if self._listed is not self._loaded:
            self._items = self._loaded
            self._list(self._loaded)

    def to_csv(self, exchange: str | None = None) -> str:
        """Kite's dump (header first), all rows or one exchange's; built once, then cached."""
        cached = self._csv.get(exchange)
        if cached is None:
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")  # as Kite's dump
            writer.writerow(CSV_HEADER)
            writer.writerows(
                inst.csv_row()
                for inst in self._listed
                if exchange is None or inst.exchange == exchange
            )
            cached = self._csv[exchange] = out.getvalue()
        return cached


def _refuse_duplicates(rows: Iterable[Instrument], *, tokens: set[int], keys: set[str]) -> None:
    """``ValueError`` for a row whose token or key is taken (by ``tokens``, ``keys`` or an
    earlier row); the sets gain the rows'."""
    for inst in rows:
        if inst.instrument_token in tokens:
            raise ValueError(f"duplicate instrument_token {inst.instrument_token}")
        if inst.key in keys:
            raise ValueError(f"duplicate instrument {inst.key}")
        tokens.add(inst.instrument_token)
        keys.add(inst.key)


def _merge(primary: Iterable[Instrument], secondary: Iterable[Instrument]) -> list[Instrument]:
    """Primary rows in order, then the secondary rows whose key and token are both still free."""
    rows = list(primary)
    keys = {inst.key for inst in rows}
    tokens = {inst.instrument_token for inst in rows}
    for inst in secondary:
        if inst.key not in keys and inst.instrument_token not in tokens:
            rows.append(inst)
            keys.add(inst.key)
            tokens.add(inst.instrument_token)
    return rows


def read_csv(path: Path) -> list[Instrument]:
    """Rows of a Kite-format CSV; a malformed row is a ``ValueError`` naming file and line.

    An optional ``freeze_quantity`` column is read when present. Within one file a later row
    with an already-seen key or token is dropped, as the first one is what lookups would find.
    """
    text = path.read_text(encoding="utf-8-sig")
    return parse_csv(text, source=str(path))


def parse_csv(text: str, *, source: str = "<csv>") -> list[Instrument]:
    """Rows of Kite's CSV dump given as text (see :func:`read_csv`)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_HEADER if c not in (reader.fieldnames or ())]
    if missing:
        raise ValueError(f"{source}: missing columns {', '.join(missing)}")
    rows: list[Instrument] = []
    for line, raw in enumerate(reader, start=2):
        try:
            rows.append(_row(raw))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source}:{line}: {exc}") from None
    return _merge(rows, [])


def _row(raw: dict[str, str]) -> Instrument:
    token = int(raw["instrument_token"])
    exchange_token = int(raw["exchange_token"] or token >> 8)
    expiry = raw["expiry"].strip()
    if expiry:
        date.fromisoformat(expiry)  # refuse anything Kite would not write
    exchange = raw["exchange"].strip()
    segment = raw["segment"].strip()
    freeze = (raw.get("freeze_quantity") or "").strip()
    return Instrument(
        instrument_token=token,
        exchange_token=exchange_token,
        tradingsymbol=raw["tradingsymbol"].strip(),
        name=raw["name"].strip(),
        last_price=float(raw["last_price"] or 0.0),
        expiry=expiry,
        strike=float(raw["strike"] or 0.0),
        tick_size=float(raw["tick_size"] or 0.0),
        lot_size=int(raw["lot_size"] or 1),
        instrument_type=raw["instrument_type"].strip(),
        segment=segment,
        exchange=exchange,
        freeze_quantity=int(freeze) if freeze else None,
    )


__all__ = [
    "CSV_HEADER",
    "EXCHANGES",
    "INDICES_SEGMENT_ID",
    "SEGMENT_IDS",
    "Instrument",
    "InstrumentMaster",
    "make_token",
    "parse_csv",
    "price_divisor",
    "read_csv",
    "segment_of",
]
