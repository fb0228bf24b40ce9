"""The price feed: one seeded book per instrument, read by ``/quote*``, the ticker and matching.

Equities and indices take independent random-walk steps, each as volatile as its class of
instrument is in a day (:data:`~orderdesk.sim.price_book.DAILY_VOLATILITY`, scaled to one step of
``step_seconds`` within its exchange's session); the built-in NIFTY and BANKNIFTY derivatives
follow their index instead (:mod:`orderdesk.sim.derivative_links`: futures at the index carried
to expiry, so the basis shrinks to a few points on the last day; options re-valued with the model
in :mod:`orderdesk.sim.universe`), so a chain stays coherent as the index moves, and the later
months of an MCX or CDS future follow its nearest one. Every draw comes from one
``random.Random(seed)``: the same seed and the same calls give the same prices.

At each trading day's rollover (:meth:`MarketData.start_day`) the last price becomes the
previous close that quotes and ticks report, open/high/low start again from it and the day's
volume is zero; futures and options re-value against the days now left to their expiry.

An instrument trades only while ``session_open(exchange)`` says its exchange is open (the server
passes each exchange's market hours when ``--market-hours nse`` keeps trading days; always,
otherwise): outside its session and on holidays a random-walk :meth:`MarketData.step` moves
nothing there, so prices, volume and last trade times stand still until the next session opens
(KITE_API.md §14.1), while an exchange still open trades on. ``/_sim/prices``
(:meth:`MarketData.set_prices`) is the operator's hand and works at any hour.

At each rollover the day's bar of every book that moved or traded is kept
(:class:`~orderdesk.sim.history.RecordedDays`), so historical candles
(:mod:`orderdesk.sim.history`) show the days the market lived as they were quoted, each over
its own exchange's session.

Each instrument's state is a :class:`~orderdesk.sim.price_book.PriceBook`; what a tick or a quote
reports is frozen from it into a :class:`~orderdesk.sim.snapshot.TickSnapshot`, so a ``/quote``
and a tick taken between two price changes agree to the paisa.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from orderdesk.sim.derivative_links import Link, derivative_links, model_units
from orderdesk.sim.history import DayBar, RecordedDays, Series, Source
from orderdesk.sim.instruments import Instrument, InstrumentMaster
from orderdesk.sim.market_hours import segment_of
from orderdesk.sim.price_book import (
    STEP_SECONDS,
    PriceBook,
    base_price,
    circuit_limits,
    day_bar,
    trade,
)
from orderdesk.sim.snapshot import Level, TickSnapshot, kite_time
from orderdesk.sim.universe import IST

PriceListener = Callable[[list[int]], None]


def _ist_now() -> datetime:
    return datetime.now(UTC).astimezone(IST).replace(tzinfo=None)


def _always_open(_exchange: str) -> bool:
    return True


def _epoch(ist: datetime) -> int:
    return int(ist.replace(tzinfo=IST).timestamp())


class MarketData:
    """Last prices and day statistics for every instrument of a master, seeded.

    ``clock`` returns the simulated naive IST "now" (the server passes its ``SimClock.now``);
    it stamps ticks and quotes and fixes the options' time to expiry at each :meth:`reset`.
    ``session_open(exchange)`` says whether that exchange's market trades now (default: always).
    ``step_seconds`` is the time one :meth:`step` stands for (the server's price tick interval),
    which scales each instrument's daily volatility to a step.
    """

    def __init__(
        self,
        master: InstrumentMaster,
        seed: int,
        *,
        clock: Callable[[], datetime] | None = None,
        session_open: Callable[[str], bool] | None = None,
        step_seconds: float = STEP_SECONDS,
    ) -> None:
        if not step_seconds > 0:
            raise ValueError(f"step_seconds must be positive, got {step_seconds!r}")
        self._master = master
        self._step_seconds = step_seconds
        self._clock = clock or _ist_now
        self._session_open = session_open or _always_open
        self.recorded = RecordedDays()
        """The bars of the days this market lived through (historical candles read them)."""
        self.started_at: datetime
        """When the market (re)started: the days before it are synthetic history."""
        self._listeners: list[PriceListener] = []
        self._rng = random.Random(seed)
        self._seed = seed
        self._books: dict[int, PriceBook] = {}
        self._exchanges: frozenset[str] = frozenset()
        """The exchanges of the books, each asked once a step whether it trades."""
        self._walkers: list[PriceBook] = []
        self._links: dict[int, Link] = {}
        self._derived: list[tuple[PriceBook, Link]] = []
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
        step = self._step_seconds
        self._books = {
            inst.instrument_token: PriceBook(inst, base_price(inst), stamp, seed, step)
            for inst in self._master
        }
        self._exchanges = frozenset(b.inst.exchange for b in self._books.values())
        self._links = derivative_links(self._master, now.date())
        self._derived = [(self._books[t], link) for t, link in self._links.items()]
        self._walkers = [b for t, b in self._books.items() if t not in self._links]
        # Derivatives start where the model puts them against their underlying's starting level.
        for book, link in self._derived:
            price = self._model(book, link)
            book.last = book.open = book.high = book.low = book.close = price

    def _model(self, book: PriceBook, link: Link) -> int:
        return model_units(book, link, self._books[link.underlying])

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
        self._links = derivative_links(self._master, day)
        self._open_books()  # every listed instrument has a book from here on
        self._exchanges = frozenset(b.inst.exchange for b in self._books.values())
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
                bars[token] = day_bar(book)
                book.day_version = book.version
        return bars

    def _open_books(self) -> None:
        """Books for the listed instruments that have none (contracts listed today)."""
        stamp = _epoch(self._clock())
        for inst in self._master:
            if inst.instrument_token in self._books:
                continue
            book = self._books[inst.instrument_token] = PriceBook(
                inst, base_price(inst), stamp, self._seed, self._step_seconds
            )
            link = self._links.get(inst.instrument_token)
            if link is not None:
                units = self._model(book, link)
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
        resolved: list[tuple[PriceBook, int]] = []
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
        its exchange's session an instrument does not trade: no step is taken for it (and no
        random number drawn), so its walk resumes at the next open where it stopped.
        """
        closed = frozenset(e for e in self._exchanges if not self._session_open(e))
        if closed and closed == self._exchanges:
            return []
        walkers, derived = self._walkers, self._derived
        if closed:
            walkers = [b for b in walkers if b.inst.exchange not in closed]
            derived = [(b, link) for b, link in derived if b.inst.exchange not in closed]
        now = _epoch(self._clock())
        rng = self._rng
        gauss = rng.gauss
        draw = rng.random
        changed: list[int] = []
        for book in walkers:
            old = book.last
            tick = book.tick
            units = max(round(old * (1.0 + gauss(0.0, book.sigma)) / tick), 1) * tick
            if units != old:
                trade(book, units, now, draw())
                changed.append(book.token)
        moved = set(changed)
        for book, link in derived:
            if link.underlying not in moved:
                continue
            units = self._model(book, link)
            if units != book.last:
                trade(book, units, now, draw())
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

    def _resolve(self, keys: Iterable[str]) -> list[tuple[str, PriceBook]]:
        found: list[tuple[str, PriceBook]] = []
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
            lower, upper = circuit_limits(book)
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
            live=day_bar(book),
            previous_close=book.close,
            recorded=self.recorded,
            started=self.started_at,
            now=self._clock(),
            segment=segment_of(book.inst.exchange),
        )


def _level(level: Level) -> dict[str, Any]:
    return {"price": level[0], "quantity": level[1], "orders": level[2]}


__all__ = ["MarketData", "PriceListener"]
