"""One instrument's mutable market state, and what a move or a trade does to it.

:class:`PriceBook` holds the last price, the day's open, high, low and previous close, volume,
turnover, open interest and the times of the last trade and change, all prices in integer units
of the ticker's divisor for the instrument's segment, rounded to its tick. Readers never see the
book itself: :meth:`PriceBook.snapshot` freezes it into a
:class:`~orderdesk.sim.snapshot.TickSnapshot`, which the market caches until the book changes
(every change bumps ``version`` and drops the cached snapshot).

Market depth is synthesised from the last price and a hash of (seed, token, version), which costs
no random draws and is stable for as long as the book does not change. A book that walks takes
steps as volatile as its class of instrument is in a day (:data:`DAILY_VOLATILITY`: an index,
an equity or equity future, a currency, a commodity, an option without a model), scaled to one
step: ``daily × √(step seconds / session seconds)``, the session being its exchange's normal
market hours (:func:`session_seconds`), so a day of steps moves it by about its daily volatility
whatever its exchange's hours. The price band a quote reports is :func:`circuit_limits`.
"""

from __future__ import annotations

import math
import zlib
from datetime import date, datetime

from orderdesk.domain.calendar import DEFAULT_HOURS, SEGMENT_OF, Segment
from orderdesk.domain.values import Exchange
from orderdesk.sim.history import DayBar
from orderdesk.sim.instruments import Instrument, price_divisor
from orderdesk.sim.snapshot import TickSnapshot

_MASK64 = (1 << 64) - 1

DAILY_VOLATILITY = {
    "index": 0.010,
    "equity": 0.0175,
    "currency": 0.003,
    "commodity": 0.015,
    "option": 0.20,
}
"""Standard deviation of a day's returns by class of instrument. ``option`` is for an option
the simulator has no model for (a user's instrument file): its premium, a leveraged claim on its
underlying, moves a good deal more than the underlying does; the built-in options follow their
index through the model instead and never walk."""
STEP_SECONDS = 1.0
"""The time one random-walk step stands for unless the market is told otherwise."""
CIRCUIT_BAND = 0.10
"""The daily price band of cash and futures, as a fraction of the previous close."""

_NO_DEPTH = (0,) * 30
_DepthTable = tuple[tuple[tuple[int, ...], int, int], ...]
_VARIANTS = 16  # depth quantity patterns per instrument, cycled by book version

# NamedTuple's generated __new__ is Python code; tuple.__new__ builds the same object in C, which
# matters at one snapshot per instrument per price step.
_new_snapshot = tuple.__new__


def mix(*values: int) -> int:
    """A cheap, stable 64-bit hash (splitmix64 finaliser) of a few integers."""
    x = 0x9E3779B97F4A7C15
    for v in values:
        x = ((x ^ v) * 0xBF58476D1CE4E5B9) & _MASK64
        x ^= x >> 31
    x = (x * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 29)


class PriceBook:
    """The mutable state of one instrument, prices in integer units (readers get snapshots)."""

    __slots__ = (
        "close",
        "day_version",
        "depth_table",
        "div",
        "high",
        "inst",
        "is_index",
        "kind",
        "last",
        "last_qty",
        "lot",
        "low",
        "ltt",
        "oi",
        "oi_high",
        "oi_low",
        "open",
        "seed",
        "sigma",
        "snap",
        "tick",
        "token",
        "ts",
        "turnover",
        "version",
        "volume",
    )

    def __init__(
        self,
        inst: Instrument,
        base: float,
        now: int,
        seed: int,
        step_seconds: float = STEP_SECONDS,
    ) -> None:
        self.inst = inst
        self.token = token = inst.instrument_token
        self.is_index = inst.is_index
        self.div = price_divisor(token)
        self.tick = max(round((inst.tick_size if inst.tick_size > 0 else 0.05) * self.div), 1)
        self.lot = lot = max(inst.lot_size, 1)
        kind = "index" if self.is_index else "equity"
        if inst.instrument_type in ("FUT", "CE", "PE"):
            kind = "derivative"
        self.kind = kind
        self.sigma = step_sigma(inst, step_seconds)
        self.last = self.open = self.high = self.low = self.close = self.on_grid(base * self.div)
        self.volume = self.turnover = self.last_qty = 0
        self.ltt = self.ts = now
        oi = 0
        if kind == "derivative":
            oi = lot * (1000 + mix(seed, token) % 50_000)
        self.oi = self.oi_high = self.oi_low = oi
        self.version = 0
        self.day_version = 0  # the version its day's bar was last recorded at
        self.snap: TickSnapshot | None = None
        self.seed = seed
        self.depth_table: _DepthTable | None = None  # built on first use: most books never quote

    def on_grid(self, units: float) -> int:
        """Units rounded to the tick grid, never below one tick."""
        tick = self.tick
        return max(round(units / tick), 1) * tick

    def print_price(self, units: int, now: int) -> None:
        self.last = units
        if units > self.high:
            self.high = units
        if units < self.low:
            self.low = units
        self.ts = now
        self.version += 1
        self.snap = None

    def snapshot(self) -> TickSnapshot:
        last = self.last
        if self.is_index:
            head = (
                self.token, last, 0, 0, 0, 0, 0, self.open, self.high, self.low, self.close,
                self.ltt, 0, 0, 0, self.ts,
            )  # fmt: skip
            return _new_snapshot(TickSnapshot, (self.token, False, self.div, head, _NO_DEPTH))
        table = self.depth_table
        if table is None:
            table = self.depth_table = _depth_table(self.seed, self.token, self.lot)
        q, buy_total, sell_total = table[self.version % _VARIANTS]
        t = self.tick
        depth: tuple[int, ...]
        if last > 5 * t:
            depth = (
                q[0], last - t, q[1], q[2], last - 2 * t, q[3], q[4], last - 3 * t, q[5],
                q[6], last - 4 * t, q[7], q[8], last - 5 * t, q[9],
                q[10], last, q[11], q[12], last + t, q[13], q[14], last + 2 * t, q[15],
                q[16], last + 3 * t, q[17], q[18], last + 4 * t, q[19],
            )  # fmt: skip
        else:
            # Near the floor some bid levels would be at or below zero: show them empty.
            levels: list[int] = []
            buy_total = 0
            for k in range(5):
                price = last - (k + 1) * t
                if price > 0:
                    levels += (q[2 * k], price, q[2 * k + 1])
                    buy_total += q[2 * k]
                else:
                    levels += (0, 0, 0)
            for k in range(5):
                levels += (q[10 + 2 * k], last + k * t, q[11 + 2 * k])
            depth = tuple(levels)
        volume = self.volume
        average = (self.turnover + volume // 2) // volume if volume else 0
        head = (
            self.token, last, self.last_qty, average, volume, buy_total * 7, sell_total * 7,
            self.open, self.high, self.low, self.close, self.ltt,
            self.oi, self.oi_high, self.oi_low, self.ts,
        )  # fmt: skip
        return _new_snapshot(TickSnapshot, (self.token, True, self.div, head, depth))


def _depth_table(seed: int, token: int, lot: int) -> _DepthTable:
    """Precomputed depth quantity patterns, so a snapshot costs no hashing."""
    table = []
    for variant in range(_VARIANTS):
        x = mix(seed, token, variant)
        q: list[int] = []
        for level in range(10):
            bits = x >> (6 * level)
            q += (lot * (1 + bits % 60), 1 + (bits >> 2) % 9)
        table.append((tuple(q), sum(q[0:10:2]), sum(q[10:20:2])))
    return tuple(table)


def volatility_class(inst: Instrument) -> str:
    """The :data:`DAILY_VOLATILITY` class of an instrument."""
    if inst.is_index:
        return "index"
    if inst.instrument_type in ("CE", "PE"):
        return "option"
    if inst.exchange in ("CDS", "BCD"):
        return "currency"
    if inst.exchange in ("MCX", "NCO"):
        return "commodity"
    return "equity"


def _open_seconds(segment: Segment) -> float:
    hours = DEFAULT_HOURS[segment]
    day = date(2026, 1, 1)
    span = datetime.combine(day, hours.closes) - datetime.combine(day, hours.opens)
    return span.total_seconds()


_SESSION_SECONDS = {str(e): _open_seconds(SEGMENT_OF.get(e, Segment.EQUITY)) for e in Exchange}


def session_seconds(exchange: str) -> float:
    """How long ``exchange``'s normal market is open on an ordinary day (NSE's hours for an
    exchange the trading calendar keeps none for)."""
    return _SESSION_SECONDS.get(exchange) or _open_seconds(Segment.EQUITY)


def step_sigma(inst: Instrument, step_seconds: float = STEP_SECONDS) -> float:
    """The standard deviation of one step's return: the class's daily volatility over the
    share of its exchange's session one step stands for."""
    daily = DAILY_VOLATILITY[volatility_class(inst)]
    return daily * math.sqrt(step_seconds / session_seconds(inst.exchange))


def trade(book: PriceBook, units: int, now: int, draw: float) -> None:
    """Print a move as a trade of a few lots; indices have no trades."""
    # print_price() inlined: this runs for every instrument on every step.
    book.last = units
    if units > book.high:
        book.high = units
    elif units < book.low:
        book.low = units
    book.ts = now
    book.version += 1
    book.snap = None
    if book.is_index:
        return
    quantity = book.lot * (1 + int(draw * 50))
    book.volume += quantity
    book.turnover += quantity * units
    book.last_qty = quantity
    book.ltt = now
    if book.oi:
        # Open interest drifts by up to ten lots either way with each print.
        book.oi = max(book.lot, book.oi + book.lot * (int(draw * 1000) % 21 - 10))
        book.oi_high = max(book.oi_high, book.oi)
        book.oi_low = min(book.oi_low, book.oi)


def day_bar(book: PriceBook) -> DayBar:
    """The book's day so far: open, high, low, last price, volume and OI."""
    return DayBar(book.open, book.high, book.low, book.last, book.volume, book.oi)


def circuit_limits(book: PriceBook) -> tuple[float, float]:
    """Kite's price band: ±10 % of the close for cash and futures, wide open for options."""
    if book.is_index:
        return 0.0, 0.0
    d = book.div
    if book.inst.instrument_type in ("CE", "PE"):
        return book.tick / d, book.on_grid(book.close * 5 + 20 * book.tick) / d
    return (
        book.on_grid(book.close * (1 - CIRCUIT_BAND)) / d,
        book.on_grid(book.close * (1 + CIRCUIT_BAND)) / d,
    )


def base_price(inst: Instrument) -> float:
    """The row's own price, or a stable made-up one for dump rows that list 0.0."""
    if inst.last_price > 0:
        return inst.last_price
    return 50.0 + zlib.crc32(inst.key.encode()) % 2950


__all__ = [
    "CIRCUIT_BAND",
    "DAILY_VOLATILITY",
    "STEP_SECONDS",
    "PriceBook",
    "base_price",
    "circuit_limits",
    "day_bar",
    "mix",
    "session_seconds",
    "step_sigma",
    "trade",
    "volatility_class",
]
