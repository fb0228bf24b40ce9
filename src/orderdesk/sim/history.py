"""Historical candles (KITE_API.md §7): one minute series per instrument and trading day, of
which every other interval is an aggregate, anchored to what the market's quote shows.

A day's bar (open, high, low, close, volume, OI) is known in one of three ways, newest first:

- **the current trading day**: the live book, as ``/quote`` shows it (open, high, low, last
  price, volume, OI), once the day's session has opened;
- **a day the simulator's market lived through**: its bar as the market recorded it at the next
  rollover (:class:`RecordedDays`); a day on which nothing moved or traded is flat at its price,
  with no volume;
- **a day before the simulator started**: synthetic, drawn backwards from the next day's open.

Each day closes where the next one opens, as the market starts a day at the previous close, so
the session before the current one closes at the quote's ``ohlc.close``.

A day's session is its instrument's segment's (:attr:`Source.segment`; the trading calendar's
hours for it, a special session's own on such a day): NSE's 09:15-15:30 for equity and
derivatives, 09:00-17:00 for currency, 09:00-23:30 for commodities. A day's bar is split top-down
into the session's hour blocks (09:15, 10:15, … 15:15 for NSE, the last one 15 minutes long;
09:00 … 23:00 for MCX, the last one 30 minutes long) and each block into minutes: a Brownian
bridge from the open to the close, scaled into the bar's range, whose highest and lowest pieces
reach the bar's high and low, with the volume shared out in whole lots. Minutes therefore
aggregate exactly to their block (the ``60minute`` candle) and blocks to the day; the 3, 5, 10,
15 and 30-minute candles aggregate minutes, and nest in the blocks because each of those
intervals divides 60. Every draw is seeded by (seed, token, day, block), so a candle repeats
exactly whatever range asked for it.

The current day is split over the minutes elapsed so far, and so re-drawn as it goes on: at any
instant its candles agree with each other and with the quote, but a minute served earlier may
read differently later (Kite's would not). Days after the current one, and minutes after the
clock, have no candles.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from orderdesk.domain.calendar import Segment, TradingCalendar

CANDLE_TIME = "%Y-%m-%dT%H:%M:%S+0530"
"""Kite's candle timestamp: ISO with the IST offset (KITE_API.md §1)."""
BLOCK_MINUTES = 60

# A synthetic day's standard deviation of returns. Only the look of old candles depends on it.
_DAY_SIGMA = {"index": 0.01, "equity": 0.015, "derivative": 0.04}
_OI_SIGMA = 0.05
_WICK = 0.3
"""A piece's wicks reach at most this share of its bar's range (scaled by its duration)."""
_ONE_MINUTE = timedelta(minutes=1)


class DayBar(NamedTuple):
    """A candle's values, prices in the ticker's integer units (``1/divisor``)."""

    open: int
    high: int
    low: int
    close: int
    volume: int
    oi: int


class Series(NamedTuple):
    """What the generator needs to know of one instrument's book."""

    token: int
    divisor: int
    tick: int
    """The tick size in price units."""
    lot: int
    kind: str
    """``index``, ``equity`` or ``derivative``."""
    seed: int


class RecordedDays:
    """The bars of the days the market lived through, kept at each rollover.

    Bars are stored under the trading day whose rollover ended their day: the market knows the
    day it starts, and the calendar tells which day came before it. Only instruments that moved
    or traded are kept; the others were flat all day.
    """

    __slots__ = ("_ended_at",)

    def __init__(self) -> None:
        self._ended_at: dict[date, dict[int, DayBar]] = {}

    def __repr__(self) -> str:
        return f"RecordedDays({len(self._ended_at)} days)"

    def record(self, new_day: date, bars: dict[int, DayBar]) -> None:
        """The bars of the day that ended when ``new_day`` began."""
        if bars:
            self._ended_at[new_day] = bars

    def ended_at(self, new_day: date, token: int) -> DayBar | None:
        """The bar recorded for ``token`` when ``new_day`` began, if it moved that day."""
        bars = self._ended_at.get(new_day)
        return None if bars is None else bars.get(token)

    def clear(self) -> None:
        """Forget every day (``/_sim/reset``)."""
        self._ended_at.clear()


@dataclass(frozen=True, slots=True)
class Source:
    """One instrument's history as the market knows it at one instant."""

    series: Series
    live: DayBar
    """The current day's book."""
    previous_close: int
    """The quote's ``ohlc.close``: the session before the current one closed here."""
    recorded: RecordedDays
    started: datetime
    """When the market began (naive IST): days before it are synthetic."""
    now: datetime
    segment: Segment | None = None
    """Whose market hours the day's session follows (``None``: NSE's)."""


class _Day(NamedTuple):
    day: date
    bar: DayBar
    opens: datetime
    minutes: int
    """Session minutes with candles: the whole session, or those elapsed on the current day."""


def candles(
    source: Source,
    calendar: TradingCalendar,
    start: datetime,
    end: datetime,
    minutes: int,
    *,
    with_oi: bool,
) -> list[list[Any]]:
    """Kite's ``[ts, open, high, low, close, volume(, oi)]`` rows of ``minutes``-long candles
    (0: day candles) that start between ``start`` and ``end`` (day candles: on those dates)."""
    series = source.series
    rows: list[list[Any]] = []
    for day in _days(source, calendar, start.date(), end.date()):
        if minutes == 0:
            rows.append(_row(datetime.combine(day.day, time()), day.bar, series.divisor, with_oi))
            continue
        rows.extend(
            _row(when, bar, series.divisor, with_oi)
            for when, bar in _intraday(series, day, minutes)
            if start <= when <= end
        )
    return rows


def _row(when: datetime, bar: DayBar, divisor: int, with_oi: bool) -> list[Any]:
    row: list[Any] = [
        when.strftime(CANDLE_TIME),
        bar.open / divisor,
        bar.high / divisor,
        bar.low / divisor,
        bar.close / divisor,
        bar.volume,
    ]
    if with_oi:
        row.append(bar.oi)
    return row


# -- days -----------------------------------------------------------------------------------------


def _days(source: Source, calendar: TradingCalendar, first: date, last: date) -> list[_Day]:
    """The trading days from ``first`` to ``last`` that have a bar, oldest first.

    The chain runs backwards from the current day, each day closing at the next one's open, so
    a day's bar does not depend on the range asked for.
    """
    hours = _Hours(calendar, source.segment)
    current = calendar.trading_day_of(source.now)
    first_lived = hours.first_lived_day(source.started)
    newest_first: list[_Day] = []
    next_open, next_oi = source.previous_close, source.live.oi
    earlier = [day for day in calendar.trading_days(first, current) if day < current]
    for day in reversed(earlier):
        bar = source.recorded.ended_at(calendar.next_trading_day(day), source.series.token)
        if bar is None and day >= first_lived:
            bar = DayBar(next_open, next_open, next_open, next_open, 0, next_oi)
        elif bar is None:
            bar = _synthetic_day(source.series, day, next_open, next_oi)
        next_open, next_oi = bar.open, bar.oi
        if day <= last:
            newest_first.append(_Day(day, bar, hours.opens(day), hours.session_minutes(day)))
    found = newest_first[::-1]
    live_minutes = hours.elapsed_minutes(current, source.now)
    if first <= current <= last and live_minutes > 0:
        found.append(_Day(current, source.live, hours.opens(current), live_minutes))
    return found


class _Hours(NamedTuple):
    """One segment's sessions on the calendar's days."""

    calendar: TradingCalendar
    segment: Segment | None

    def opens(self, day: date) -> datetime:
        return datetime.combine(day, self.calendar.market_hours(day, self.segment)[0])

    def closes(self, day: date) -> datetime:
        return datetime.combine(day, self.calendar.market_hours(day, self.segment)[1])

    def session_minutes(self, day: date) -> int:
        return (self.closes(day) - self.opens(day)) // _ONE_MINUTE

    def elapsed_minutes(self, day: date, now: datetime) -> int:
        """How many of ``day``'s session minutes have begun by ``now`` (the running one
        counts)."""
        since_open = now - self.opens(day)
        if since_open < timedelta():
            return 0
        return min(since_open // _ONE_MINUTE + 1, self.session_minutes(day))

    def first_lived_day(self, started: datetime) -> date:
        """The first trading day whose session the market saw open (partly, if it began
        inside)."""
        day = self.calendar.trading_day_of(started)
        return day if started < self.closes(day) else self.calendar.next_trading_day(day)


def _synthetic_day(series: Series, day: date, close: int, next_oi: int) -> DayBar:
    """A made-up day that closes at ``close`` (the next day's open), seeded by the day."""
    rng = random.Random(f"{series.seed}:{series.token}:{day.isoformat()}")
    sigma = _DAY_SIGMA[series.kind]
    tick = series.tick
    open_ = max(round(close * math.exp(-rng.gauss(0.0, sigma)) / tick), 1) * tick
    top, bottom = max(open_, close), min(open_, close)
    high = math.ceil(top * (1 + abs(rng.gauss(0.0, sigma)) / 2) / tick) * tick
    low = max(math.floor(bottom * (1 - abs(rng.gauss(0.0, sigma)) / 2) / tick) * tick, 0)
    low = min(low, bottom)
    volume = 0 if series.kind == "index" else series.lot * rng.randrange(10_000, 200_000)
    oi = 0
    if next_oi:
        lot = series.lot
        oi = max(lot, round(next_oi * math.exp(rng.gauss(0.0, _OI_SIGMA)) / lot) * lot)
    return DayBar(open_, high, low, close, volume, oi)


# -- inside a day ---------------------------------------------------------------------------------


def _intraday(series: Series, day: _Day, minutes: int) -> list[tuple[datetime, DayBar]]:
    """``day``'s candles of ``minutes`` minutes, each with its start time."""
    blocks = _blocks(series, day)
    if minutes == BLOCK_MINUTES:
        return blocks
    singles: list[tuple[datetime, DayBar]] = []
    for index, (opens, block) in enumerate(blocks):
        length = min(BLOCK_MINUTES, day.minutes - index * BLOCK_MINUTES)
        rng = random.Random(f"{series.seed}:{series.token}:{day.day.isoformat()}:{index}")
        pieces = split(block, [1] * length, series.tick, series.lot, rng)
        singles.extend((opens + k * _ONE_MINUTE, piece) for k, piece in enumerate(pieces))
    if minutes == 1:
        return singles
    return [
        (singles[k][0], aggregate([bar for _, bar in singles[k : k + minutes]]))
        for k in range(0, len(singles), minutes)
    ]


def _blocks(series: Series, day: _Day) -> list[tuple[datetime, DayBar]]:
    """The day's bar split into hour blocks from the session's open (the last one shorter)."""
    full, rest = divmod(day.minutes, BLOCK_MINUTES)
    lengths = [BLOCK_MINUTES] * full + ([rest] if rest else [])
    rng = random.Random(f"{series.seed}:{series.token}:{day.day.isoformat()}:hours")
    pieces = split(day.bar, lengths, series.tick, series.lot, rng)
    return [
        (day.opens + index * BLOCK_MINUTES * _ONE_MINUTE, piece)
        for index, piece in enumerate(pieces)
    ]


def aggregate(bars: Sequence[DayBar]) -> DayBar:
    """One candle of consecutive ones: first open, highest high, lowest low, last close, the
    volumes summed, the last OI."""
    return DayBar(
        bars[0].open,
        max(bar.high for bar in bars),
        min(bar.low for bar in bars),
        bars[-1].close,
        sum(bar.volume for bar in bars),
        bars[-1].oi,
    )


def split(
    bar: DayBar, durations: Sequence[int], tick: int, lot: int, rng: random.Random
) -> list[DayBar]:
    """``bar`` as consecutive pieces of the given durations whose :func:`aggregate` is ``bar``.

    The pieces' opens and closes follow a Brownian bridge from the bar's open to its close,
    scaled as wide as the bar's range allows, on the tick grid; each piece gets wicks of its own
    inside the range, and the highest and the lowest piece reach the bar's high and low.
    """
    count = len(durations)
    if count <= 1:
        return [bar] * count
    points = _bridge(bar, durations, tick, rng)
    total = sum(durations)
    reach = (bar.high - bar.low) * _WICK
    highs: list[int] = []
    lows: list[int] = []
    for index, duration in enumerate(durations):
        wick = reach * math.sqrt(duration / total)
        opens, closes = points[index], points[index + 1]
        highs.append(min(bar.high, max(opens, closes) + round(rng.random() * wick / tick) * tick))
        lows.append(max(bar.low, min(opens, closes) - round(rng.random() * wick / tick) * tick))
    highs[highs.index(max(highs))] = bar.high
    lows[lows.index(min(lows))] = bar.low
    volumes = _share(bar.volume, durations, lot, rng)
    return [
        DayBar(points[i], highs[i], lows[i], points[i + 1], volumes[i], bar.oi)
        for i in range(count)
    ]


def _bridge(bar: DayBar, durations: Sequence[int], tick: int, rng: random.Random) -> list[int]:
    """Prices at the pieces' boundaries: from the open to the close, inside the range."""
    times = [0, *itertools.accumulate(durations)]
    total = times[-1]
    walk = [0.0, *itertools.accumulate(rng.gauss(0.0, math.sqrt(d)) for d in durations)]
    drift = walk[-1]
    bends = [w - drift * t / total for w, t in zip(walk, times, strict=True)]
    line = [bar.open + (bar.close - bar.open) * t / total for t in times]
    scale = _room(bends, line, bar.low, bar.high)
    points = [
        min(bar.high, max(bar.low, round((base + scale * bend) / tick) * tick))
        for base, bend in zip(line, bends, strict=True)
    ]
    points[0], points[-1] = bar.open, bar.close
    return points


def _room(bends: Sequence[float], line: Sequence[float], low: int, high: int) -> float:
    """The largest scale that keeps ``line + scale * bends`` within ``[low, high]``."""
    scale = math.inf
    for bend, base in zip(bends, line, strict=True):
        if bend > 0:
            scale = min(scale, (high - base) / bend)
        elif bend < 0:
            scale = min(scale, (low - base) / bend)
    return 0.0 if math.isinf(scale) else max(scale, 0.0)


def _share(volume: int, durations: Sequence[int], lot: int, rng: random.Random) -> list[int]:
    """``volume`` shared out over the pieces, roughly by duration, in whole lots if it is."""
    if volume <= 0:
        return [0] * len(durations)
    unit = lot if lot > 1 and volume % lot == 0 else 1
    units = volume // unit
    weights = [d * (0.5 + rng.random()) for d in durations]
    total = sum(weights)
    cuts = [round(units * acc / total) for acc in itertools.accumulate(weights)]
    cuts[-1] = units
    return [(cut - before) * unit for before, cut in zip([0, *cuts], cuts, strict=False)]


__all__ = [
    "BLOCK_MINUTES",
    "CANDLE_TIME",
    "DayBar",
    "RecordedDays",
    "Series",
    "Source",
    "aggregate",
    "candles",
    "split",
]
