"""The price feed: one seeded book per instrument, read by ``/quote*``, the ticker and matching.

Equities and indices take independent random-walk steps; the built-in NIFTY and BANKNIFTY
derivatives follow their index instead (futures keep their basis, options are re-valued with the
model in :mod:`orderdesk.sim.universe`), so a chain stays coherent as the index moves. Every draw
comes from one ``random.Random(seed)``: the same seed and the same calls give the same prices.

At each trading day's rollover (:meth:`MarketData.start_day`) the last price becomes the
previous close that quotes and ticks report, open/high/low start again from it and the day's
volume is zero; options re-value against the days now left to their expiry.

The market trades only while ``session_open()`` says so (the server passes the exchange's
market hours when ``--market-hours nse`` keeps NSE's days; always, otherwise): outside the session
and on holidays a random-walk :meth:`MarketData.step` moves nothing, so prices, volume and last
trade times stand still until the next session opens (KITE_API.md §14.1). ``/_sim/prices``
(:meth:`MarketData.set_prices`) is the operator's hand and works at any hour.

At each rollover the day's bar of every book that moved or traded is kept
(:class:`~orderdesk.sim.history.RecordedDays`), so historical candles
(:mod:`orderdesk.sim.history`) show the days the market lived as they were quoted.

Everything a tick or a quote reports is derived from the book at one moment and frozen into a
:class:`TickSnapshot`, so a ``/quote`` and a tick taken between two price changes agree to the
paisa. Market depth is synthesised from the last price and a hash of (seed, token, version), which
costs no random draws and is stable for as long as the book does not change.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from orderdesk.sim.history import DayBar, RecordedDays, Series, Source
from orderdesk.sim.instruments import Instrument, InstrumentMaster, price_divisor
from orderdesk.sim.universe import (
    IST,
    UNDERLYINGS,
    future_value,
    option_value,
    years_to_expiry,
)

PriceListener = Callable[[list[int]], None]
Level = tuple[float, int, int]
"""One depth level: ``(price, quantity, orders)``."""

KITE_TIME = "%Y-%m-%d %H:%M:%S"
_MASK64 = (1 << 64) - 1

# Per-step standard deviation of returns: a step is "one tick of time", about a second.
_STEP_SIGMA = {"index": 0.0003, "equity": 0.0006, "derivative": 0.004}
_CIRCUIT_BAND = 0.10


def _ist_now() -> datetime:
    return datetime.now(UTC).astimezone(IST).replace(tzinfo=None)


def _always_open() -> bool:
    return True


def _epoch(ist: datetime) -> int:
    return int(ist.replace(tzinfo=IST).timestamp())


def kite_time(epoch: int) -> str:
    """An epoch second as Kite's naive IST text, ``YYYY-MM-DD HH:MM:SS``."""
    return datetime.fromtimestamp(epoch, IST).strftime(KITE_TIME)


def _mix(*values: int) -> int:
    """A cheap, stable 64-bit hash (splitmix64 finaliser) of a few integers."""
    x = 0x9E3779B97F4A7C15
    for v in values:
        x = ((x ^ v) * 0xBF58476D1CE4E5B9) & _MASK64
        x ^= x >> 31
    x = (x * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 29)


class TickSnapshot(NamedTuple):
    """Everything a full tick and a full quote carry, at one moment, in the ticker's integers.

    ``head`` is the first sixteen fields of a full packet in wire order (token, last price, last
    quantity, average price, volume, total buy and sell quantity, open, high, low, close, last
    trade time, OI, OI day high, OI day low, exchange timestamp); ``depth`` is the thirty depth
    integers (quantity, price, orders for five bids then five asks). Prices are integer units of
    ``1/divisor`` and times are epoch seconds, so the encoder packs them as they are; the
    properties give the float views a quote shows. A tuple rather than a dataclass because one is
    built per instrument per price step on the ticker's hot path; it is immutable all the same.
    """

    instrument_token: int
    tradable: bool
    divisor: int
    head: tuple[int, ...]
    depth: tuple[int, ...]

    @property
    def last_price(self) -> float:
        """Last traded price."""
        return self.head[1] / self.divisor

    @property
    def last_quantity(self) -> int:
        """Quantity of the last trade."""
        return self.head[2]

    @property
    def average_price(self) -> float:
        """The day's volume-weighted average price (0 before the first trade)."""
        return self.head[3] / self.divisor

    @property
    def volume(self) -> int:
        """The day's traded quantity."""
        return self.head[4]

    @property
    def buy_quantity(self) -> int:
        """Total quantity bid."""
        return self.head[5]

    @property
    def sell_quantity(self) -> int:
        """Total quantity offered."""
        return self.head[6]

    @property
    def ohlc(self) -> dict[str, float]:
        """Open, high, low and the previous close, as Kite's ``ohlc`` object."""
        d = self.divisor
        h = self.head
        return {"open": h[7] / d, "high": h[8] / d, "low": h[9] / d, "close": h[10] / d}

    @property
    def close(self) -> float:
        """The previous session's close."""
        return self.head[10] / self.divisor

    @property
    def change(self) -> float:
        """Absolute change against the previous close."""
        return (self.head[1] - self.head[10]) / self.divisor

    @property
    def last_trade_time(self) -> int:
        """Epoch second of the last trade."""
        return self.head[11]

    @property
    def oi(self) -> int:
        """Open interest (derivatives)."""
        return self.head[12]

    @property
    def oi_day_high(self) -> int:
        """The day's highest open interest."""
        return self.head[13]

    @property
    def oi_day_low(self) -> int:
        """The day's lowest open interest."""
        return self.head[14]

    @property
    def exchange_timestamp(self) -> int:
        """Epoch second of the last change."""
        return self.head[15]

    def _side(self, start: int) -> list[Level]:
        d, depth = self.divisor, self.depth
        return [(depth[i + 1] / d, depth[i], depth[i + 2]) for i in range(start, start + 15, 3)]

    @property
    def bids(self) -> list[Level]:
        """Five bid levels, best first."""
        return self._side(0)

    @property
    def asks(self) -> list[Level]:
        """Five ask levels, best first."""
        return self._side(15)


# NamedTuple's generated __new__ is Python code; tuple.__new__ builds the same object in C, which
# matters at one snapshot per instrument per price step.
_new_snapshot = tuple.__new__


class _Link(NamedTuple):
    """How a derivative follows its index."""

    underlying: int
    strike: float
    years: float
    volatility: float
    kind: str


_NO_DEPTH = (0,) * 30
_DepthTable = tuple[tuple[tuple[int, ...], int, int], ...]
_VARIANTS = 16  # depth quantity patterns per instrument, cycled by book version


class _Book:
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

    def __init__(self, inst: Instrument, base: float, now: int, seed: int) -> None:
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
        self.sigma = _STEP_SIGMA[kind]
        self.last = self.open = self.high = self.low = self.close = self.on_grid(base * self.div)
        self.volume = self.turnover = self.last_qty = 0
        self.ltt = self.ts = now
        oi = 0
        if kind == "derivative":
            oi = lot * (1000 + _mix(seed, token) % 50_000)
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
        x = _mix(seed, token, variant)
        q: list[int] = []
        for level in range(10):
            bits = x >> (6 * level)
            q += (lot * (1 + bits % 60), 1 + (bits >> 2) % 9)
        table.append((tuple(q), sum(q[0:10:2]), sum(q[10:20:2])))
    return tuple(table)


class MarketData:
    """Last prices and day statistics for every instrument of a master, seeded.

    ``clock`` returns the simulated naive IST "now" (the server passes its ``SimClock.now``);
    it stamps ticks and quotes and fixes the options' time to expiry at each :meth:`reset`.
    ``session_open`` says whether the market trades now (default: always).
    """

    def __init__(
        self,
        master: InstrumentMaster,
        seed: int,
        *,
        clock: Callable[[], datetime] | None = None,
        session_open: Callable[[], bool] | None = None,
    ) -> None:
        self._master = master
        self._clock = clock or _ist_now
        self._session_open = session_open or _always_open
        self.recorded = RecordedDays()
        """The bars of the days this market lived through (historical candles read them)."""
        self.started_at: datetime
        """When the market (re)started: the days before it are synthetic history."""
        self._listeners: list[PriceListener] = []
        self._rng = random.Random(seed)
        self._seed = seed
        self._books: dict[int, _Book] = {}
        self._walkers: list[_Book] = []
        self._links: dict[int, _Link] = {}
        self._derived: list[tuple[_Book, _Link]] = []
        self._build(seed)

    def __repr__(self) -> str:
        return f"MarketData({len(self._books)} instruments, seed={self._seed})"

    def __contains__(self, token: object) -> bool:
        return token in self._books

    # -- set-up -------------------------------------------------------------------------------

    def _build(self, seed: int) -> None:
        self._seed = seed
        self._rng.seed(seed)
        now = self._clock()
        self.started_at = now
        self.recorded.clear()
        stamp = _epoch(now)
        self._books = {
            inst.instrument_token: _Book(inst, _base_price(inst), stamp, seed)
            for inst in self._master
        }
        self._links = _links(self._master, now.date())
        self._derived = [(self._books[t], link) for t, link in self._links.items()]
        self._walkers = [b for t, b in self._books.items() if t not in self._links]
        # Options start where the model puts them against the index's starting level.
        for book, link in self._derived:
            if link.kind != "FUT":
                price = self._model(book, link)
                book.last = book.open = book.high = book.low = book.close = price

    def _model(self, book: _Book, link: _Link) -> int:
        under = self._books[link.underlying]
        spot = under.last / under.div
        value = option_value(spot, link.strike, link.years, link.volatility, link.kind == "CE")
        return book.on_grid(value * book.div)

    def reset(self, seed: int) -> None:
        """Back to the start-of-day state for ``seed``; listeners hear of every moved price."""
        before = {t: b.last for t, b in self._books.items()}
        self._build(seed)
        self._notify([t for t, b in self._books.items() if b.last != before.get(t)])

    def start_day(self, day: date) -> None:
        """A new trading day: every close is the last price, the day's statistics start again.

        Listeners hear of every listed instrument (nothing traded, but ticks must show the new
        close). Delisted contracts stop following their index; their books stay for clients
        still subscribed to them. Contracts listed since get books, priced where the model puts
        them against their index now.
        """
        listed = [inst.instrument_token for inst in self._master]
        self.recorded.record(day, self._day_bars())
        self._links = _links(self._master, day)
        self._open_books()  # every listed instrument has a book from here on
        for token in listed:
            book = self._books[token]
            book.close = book.open = book.high = book.low = book.last
            book.volume = book.turnover = book.last_qty = 0
            book.oi_high = book.oi_low = book.oi
            book.version += 1
            book.day_version = book.version
            book.snap = None
        self._derived = [(self._books[t], link) for t, link in self._links.items()]
        self._walkers = [self._books[t] for t in listed if t not in self._links]
        self._notify(listed)

    def _day_bars(self) -> dict[int, DayBar]:
        """The ending day's bar of every book that moved or traded since it was last recorded
        (a contract delisted this morning included: its last day counts)."""
        bars: dict[int, DayBar] = {}
        for token, book in self._books.items():
            if book.version != book.day_version:
                bars[token] = _bar(book)
                book.day_version = book.version
        return bars

    def _open_books(self) -> None:
        """Books for the listed instruments that have none (contracts listed today)."""
        stamp = _epoch(self._clock())
        for inst in self._master:
            if inst.instrument_token in self._books:
                continue
            book = self._books[inst.instrument_token] = _Book(
                inst, _base_price(inst), stamp, self._seed
            )
            link = self._links.get(inst.instrument_token)
            if link is not None:
                under = self._books[link.underlying]
                spot = under.last / under.div
                units = (
                    book.on_grid(future_value(spot, link.years) * book.div)
                    if link.kind == "FUT"
                    else self._model(book, link)
                )
                book.last = book.open = book.high = book.low = book.close = units

    # -- listeners ----------------------------------------------------------------------------

    def add_price_listener(self, cb: PriceListener) -> None:
        """Call ``cb(tokens)`` after every batch of price changes (set, step, reset)."""
        self._listeners.append(cb)

    def _notify(self, tokens: list[int]) -> None:
        if tokens:
            for cb in self._listeners:
                cb(tokens)

    # -- moving prices ------------------------------------------------------------------------

    def set_prices(self, prices: dict[str, float]) -> list[int]:
        """Set last prices by ``"EXCH:SYMBOL"``; returns the tokens named, in order.

        Every named instrument counts as changed, even at an unchanged price, so matching runs
        for it. All keys are checked first: an unknown one raises ``KeyError`` naming it and
        nothing moves. Prices keep the precision the ticker carries (paise for most segments).
        """
        resolved: list[tuple[_Book, int]] = []
        for key, value in prices.items():
            inst = self._master.by_key(key)
            if inst is None:
                raise KeyError(key)
            book = self._books[inst.instrument_token]
            if not math.isfinite(value) or round(value * book.div) <= 0:
                raise ValueError(f"price for {key} must be positive, got {value!r}")
            resolved.append((book, round(value * book.div)))
        now = _epoch(self._clock())
        changed: list[int] = []
        for book, units in resolved:
            book.print_price(units, now)
            if book.token not in changed:
                changed.append(book.token)
        self._notify(changed)
        return changed

    def settle(self, prices: Mapping[int, float]) -> None:
        """Contracts at their final settlement price (0 for a worthless option), moving no
        more; listeners hear of them."""
        if not prices:
            return
        now = _epoch(self._clock())
        settled: list[int] = []
        for token, price in prices.items():
            book = self._books.get(token)
            if book is None:
                continue
            # Not on the tick grid's floor of one tick: a worthless option settles at nothing.
            book.print_price(round(price / (book.tick / book.div)) * book.tick, now)
            book.snap = None
            settled.append(token)
        done = set(settled)
        self._derived = [(b, link) for b, link in self._derived if b.token not in done]
        self._walkers = [b for b in self._walkers if b.token not in done]
        self._notify(settled)

    def step(self) -> list[int]:
        """One seeded random-walk step for every instrument; returns the tokens that moved.

        Each move is printed as a trade of a few lots (volume, last quantity, OI drift). Outside
        the session nothing trades: no step is taken (and no random number drawn), so the walk
        resumes at the next open where it stopped.
        """
        if not self._session_open():
            return []
        now = _epoch(self._clock())
        rng = self._rng
        gauss = rng.gauss
        draw = rng.random
        changed: list[int] = []
        ratios: dict[int, float] = {}
        for book in self._walkers:
            old = book.last
            tick = book.tick
            units = max(round(old * (1.0 + gauss(0.0, book.sigma)) / tick), 1) * tick
            if units != old:
                ratios[book.token] = units / old
                _trade(book, units, now, draw())
                changed.append(book.token)
        for book, link in self._derived:
            ratio = ratios.get(link.underlying)
            if ratio is None:
                continue
            units = (
                book.on_grid(book.last * ratio) if link.kind == "FUT" else self._model(book, link)
            )
            if units != book.last:
                _trade(book, units, now, draw())
                changed.append(book.token)
        self._notify(changed)
        return changed

    def record_trade(self, token: int, quantity: int, price: float) -> None:
        """Count a simulated fill in the day's volume (the matching engine calls this).

        It does not move the last price and does not notify listeners: fills happen inside a
        price notification, and a second one from here would re-enter the matcher.
        """
        book = self._books.get(token)
        if book is None or quantity <= 0:
            return
        book.volume += quantity
        book.turnover += quantity * round(price * book.div)
        book.last_qty = quantity
        book.ltt = _epoch(self._clock())
        book.version += 1
        book.snap = None

    # -- reading ------------------------------------------------------------------------------

    def last_price(self, token: int) -> float:
        """The last price of ``token``; ``KeyError`` for an unknown one."""
        book = self._books[token]
        return book.last / book.div

    def snapshot(self, token: int) -> TickSnapshot:
        """Everything a full tick needs, frozen at this moment (cached until the book moves)."""
        book = self._books[token]
        snap = book.snap
        if snap is None:
            snap = book.snap = book.snapshot()
        return snap

    def _resolve(self, keys: Iterable[str]) -> list[tuple[str, _Book]]:
        found: list[tuple[str, _Book]] = []
        for key in keys:
            inst = self._master.by_key(key)
            if inst is not None:
                found.append((key, self._books[inst.instrument_token]))
        return found

    def ltp(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``/quote/ltp`` data: known keys only."""
        return {
            key: {"instrument_token": book.token, "last_price": book.last / book.div}
            for key, book in self._resolve(keys)
        }

    def ohlc(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``/quote/ohlc`` data: known keys only."""
        out: dict[str, dict[str, Any]] = {}
        for key, book in self._resolve(keys):
            s = self.snapshot(book.token)
            out[key] = {"instrument_token": book.token, "last_price": s.last_price, "ohlc": s.ohlc}
        return out

    def quote(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``/quote`` data (full quote with depth): known keys only."""
        out: dict[str, dict[str, Any]] = {}
        for key, book in self._resolve(keys):
            s = self.snapshot(book.token)
            lower, upper = _circuit(book)
            out[key] = {
                "instrument_token": book.token,
                "timestamp": kite_time(s.exchange_timestamp),
                "last_trade_time": kite_time(s.last_trade_time),
                "last_price": s.last_price,
                "last_quantity": s.last_quantity,
                "buy_quantity": s.buy_quantity,
                "sell_quantity": s.sell_quantity,
                "volume": s.volume,
                "average_price": s.average_price,
                "oi": s.oi,
                "oi_day_high": s.oi_day_high,
                "oi_day_low": s.oi_day_low,
                "net_change": s.change,
                "lower_circuit_limit": lower,
                "upper_circuit_limit": upper,
                "ohlc": s.ohlc,
                "depth": {
                    "buy": [_level(level) for level in s.bids],
                    "sell": [_level(level) for level in s.asks],
                },
            }
        return out

    def instrument(self, token: int) -> Instrument:
        """The instrument behind a token this market prices; ``KeyError`` otherwise."""
        return self._books[token].inst

    def history(self, token: int) -> Source:
        """What historical candles of ``token`` are drawn from, now; ``KeyError`` if unknown."""
        book = self._books[token]
        return Source(
            series=Series(token, book.div, book.tick, book.lot, book.kind, self._seed),
            live=_bar(book),
            previous_close=book.close,
            recorded=self.recorded,
            started=self.started_at,
            now=self._clock(),
        )


def _trade(book: _Book, units: int, now: int, draw: float) -> None:
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


def _bar(book: _Book) -> DayBar:
    """The book's day so far: open, high, low, last price, volume and OI."""
    return DayBar(book.open, book.high, book.low, book.last, book.volume, book.oi)


def _level(level: Level) -> dict[str, Any]:
    return {"price": level[0], "quantity": level[1], "orders": level[2]}


def _circuit(book: _Book) -> tuple[float, float]:
    """Kite's price band: ±10 % of the close for cash and futures, wide open for options."""
    if book.is_index:
        return 0.0, 0.0
    d = book.div
    if book.inst.instrument_type in ("CE", "PE"):
        return book.tick / d, book.on_grid(book.close * 5 + 20 * book.tick) / d
    return (
        book.on_grid(book.close * (1 - _CIRCUIT_BAND)) / d,
        book.on_grid(book.close * (1 + _CIRCUIT_BAND)) / d,
    )


def _base_price(inst: Instrument) -> float:
    """The row's own price, or a stable made-up one for dump rows that list 0.0."""
    if inst.last_price > 0:
        return inst.last_price
    return 50.0 + zlib.crc32(inst.key.encode()) % 2950


def _links(master: InstrumentMaster, today: date) -> dict[int, _Link]:
    """The built-in underlyings' live derivatives, keyed by token."""
    links: dict[int, _Link] = {}
    for u in UNDERLYINGS:
        index = master.by_key(u.index_key)
        if index is None:
            continue
        for inst in master:
            if inst.exchange != "NFO" or inst.name != u.name or not inst.expiry:
                continue
            if inst.instrument_type not in ("FUT", "CE", "PE"):
                continue
            expiry = date.fromisoformat(inst.expiry)
            if expiry < today:
                continue
            links[inst.instrument_token] = _Link(
                index.instrument_token,
                inst.strike,
                years_to_expiry(expiry, today),
                u.volatility,
                inst.instrument_type,
            )
    return links


__all__ = ["KITE_TIME", "Level", "MarketData", "PriceListener", "TickSnapshot", "kite_time"]
