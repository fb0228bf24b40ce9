"""What a tick and a quote report about one instrument at one moment: :class:`TickSnapshot`.

Everything a tick or a quote reports is derived from an instrument's book
(:class:`~orderdesk.sim.price_book.PriceBook`) at one moment and frozen into a snapshot, so a
``/quote`` and a tick taken between two price changes agree to the paisa. The snapshot keeps the
ticker's integers in wire order (the encoder in :mod:`orderdesk.sim.ticks` packs them as they
are); its properties give the float views a quote shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from orderdesk.domain.calendar import IST

Level = tuple[float, int, int]
"""One depth level: ``(price, quantity, orders)``."""

KITE_TIME = "%Y-%m-%d %H:%M:%S"


def kite_time(epoch: int) -> str:
    """An epoch second as Kite's naive IST text, ``YYYY-MM-DD HH:MM:SS``."""
    return datetime.fromtimestamp(epoch, IST).strftime(KITE_TIME)


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


__all__ = ["KITE_TIME", "Level", "TickSnapshot", "kite_time"]
