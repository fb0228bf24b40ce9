"""The paper broker's book on disk, so a restarted desk finds the broker where it left it.

A real broker keeps its order book, trades, positions and funds while the desk is down; a paper
broker that forgot them on every restart made the desk's start-up reconciliation report every
order and position as a mismatch. So the paper book is written to ``paper-broker.json`` in the
desk's data directory after every change (replaced atomically: a reader, or a crash, sees the
old file or the new one), and read back when the broker is created.

What is kept: every order of the trading day with its history and trades, the positions the day
opened with, the day's position conversions, the cash (now, and as the day began), the last
prices, and how far the day's milestones have been applied
(:mod:`orderdesk.brokers.paper.days`). Today's positions are not stored: they are rebuilt from
the opening ones, the trades and the conversions, the way they were built in the first place.
Order and trade numbers continue after the highest ever given. Prices named in ``[paper] prices``
override the kept ones (the config is how a paper desk's market is set), once the days missed
meanwhile have ended at the kept ones: they are the new day's prices.

``[paper] cash`` is the cash of a new book only: a kept book goes on with the cash it has (the
broker warns at start when the configured cash is not the one the book started with). To start
afresh: stop the desk, delete ``paper-broker.json`` and the desk's event log (the desk's books
would otherwise still hold the old orders and positions), or use a fresh data directory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import msgspec

from orderdesk.domain.conversion import PositionConversion
from orderdesk.domain.reports import Fill, OrderStatusReport
from orderdesk.domain.values import InstrumentKey, Product, Side
from orderdesk.errors import ConfigError

STATE_FILE_NAME = "paper-broker.json"
FORMAT = 1


class SavedOrder(msgspec.Struct, frozen=True):
    history: list[OrderStatusReport]
    """Every report of the order, oldest first; the last is where it stands."""
    fills: list[Fill]
    triggered: bool = False
    held: bool = False
    """An AMO waiting for its session's open."""
    ttl_minutes: int | None = None
    """A TTL order's minutes, from its placement."""


class CarriedPosition(msgspec.Struct, frozen=True):
    """A position the trading day opened with (brought forward at a rollover)."""

    instrument: str
    product: Product
    quantity: int
    price: Decimal
    """Where it was booked: the previous close."""
    multiplier: Decimal = Decimal(1)
    carry_price: Decimal | None = None
    """What it cost when it was opened."""


class SavedConversion(msgspec.Struct, frozen=True):
    """A position conversion of the book's trading day, and where it fell among the trades."""

    instrument: str
    side: Side
    quantity: int
    old_product: Product
    new_product: Product
    overnight: bool
    before_trade: int
    """The number the next trade took: the conversion came after every trade numbered below
    it (a restart applies it there)."""

    @classmethod
    def of(cls, conversion: PositionConversion, before_trade: int) -> SavedConversion:
        return cls(
            instrument=str(conversion.instrument),
            side=conversion.side,
            quantity=conversion.quantity,
            old_product=conversion.old_product,
            new_product=conversion.new_product,
            overnight=conversion.overnight,
            before_trade=before_trade,
        )

    def conversion(self) -> PositionConversion:
        return PositionConversion(
            instrument=InstrumentKey.parse(self.instrument),
            side=self.side,
            quantity=self.quantity,
            old_product=self.old_product,
            new_product=self.new_product,
            overnight=self.overnight,
        )


class SavedBook(msgspec.Struct, frozen=True):
    cash: Decimal
    prices: dict[str, Decimal]
    """Last prices by ``EXCHANGE:SYMBOL``."""
    orders: list[SavedOrder]
    format: int = FORMAT
    closes: dict[str, Decimal] = msgspec.field(default_factory=dict)
    """The previous trading day's last prices by ``EXCHANGE:SYMBOL`` (taken at the rollover;
    a book kept before they were has none)."""
    seen: datetime | None = None
    """The instant up to which trading-day milestones have been applied (a book kept before
    the paper broker kept days has none: it is taken to be of its latest order's day)."""
    carried: list[CarriedPosition] = msgspec.field(default_factory=list)
    """The positions the book's trading day opened with; its orders' fills come on top."""
    conversions: list[SavedConversion] = msgspec.field(default_factory=list)
    """The day's position conversions, in the order they were made."""
    opening_cash: Decimal | None = None
    """The ``[paper] cash`` the book was started with (a book kept before it was has none)."""
    day_cash: Decimal | None = None
    """The cash the book's trading day began with, after the rollover's charges (a book kept
    before it was has none: it is the cash before the day's trades)."""
    next_order: int = 1
    next_trade: int = 1
    """The numbers the next order and trade take: a rollover empties the books, and a number
    is never given twice."""


_ENCODER = msgspec.json.Encoder(decimal_format="string")


def state_path(data_dir: Path) -> Path:
    """Where the paper book of a desk with this data directory is kept."""
    return data_dir / STATE_FILE_NAME


def load(path: Path) -> SavedBook | None:
    """The kept book, or None when there is none yet; :class:`ConfigError` for one unreadable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"paper broker: cannot read {path}: {exc}") from None
    try:
        book = msgspec.json.decode(raw, type=SavedBook)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ConfigError(
            f"paper broker: {path} is not a paper book ({exc}); move it away to start afresh"
        ) from None
    if book.format != FORMAT:
        raise ConfigError(f"paper broker: {path} has format {book.format}, not {FORMAT}")
    return book


def save(path: Path, book: SavedBook) -> None:
    """Replace the kept book with ``book`` atomically (0600: it is one person's account)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".paper-broker-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(_ENCODER.encode(book))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def next_number(ids: list[str], prefix: str) -> int:
    """The number after the highest of ``ids`` (``P000000000000007`` → 8), or 1."""
    numbers = [
        int(i[len(prefix) :]) for i in ids if i.startswith(prefix) and i[len(prefix) :].isdigit()
    ]
    return max(numbers, default=0) + 1


__all__ = [
    "STATE_FILE_NAME",
    "CarriedPosition",
    "SavedBook",
    "SavedOrder",
    "load",
    "next_number",
    "save",
    "state_path",
]
