"""Deterministic identifiers: the same seed gives the same order, trade and GTT ids.

Order ids look like Kite's newer 19-digit ones and grow by seeded random strides, so they are
opaque and increasing but never guessable by simple arithmetic in a test.
"""

from __future__ import annotations

import random


class IdGenerator:
    """Issues order, exchange-order, trade and GTT ids from one seeded stream."""

    __slots__ = ("_exchange", "_gtt", "_order", "_rng", "_trade")

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._order = 0
        self._exchange = 0
        self._trade = 0
        self._gtt = 0
        self.reset(seed)

    def reset(self, seed: int) -> None:
        """Start the streams again from ``seed``."""
        self._rng.seed(seed)
        self._order = 1_950_000_000_000_000_000 + self._rng.randrange(10**15)
        self._exchange = 1_300_000_000_000_000 + self._rng.randrange(10**9)
        self._trade = 10_000_000 + self._rng.randrange(10**6)
        self._gtt = 100_000 + self._rng.randrange(10**4)

    def order_id(self) -> str:
        """A new 19-digit order id."""
        self._order += self._rng.randint(1, 1 << 20)
        return str(self._order)

    def exchange_order_id(self) -> str:
        """A new 16-digit exchange order id."""
        self._exchange += self._rng.randint(1, 1 << 10)
        return str(self._exchange)

    def trade_id(self) -> str:
        """A new 8-digit trade id."""
        self._trade += 1
        return str(self._trade)

    def gtt_id(self) -> int:
        """A new GTT trigger id (Kite sends these as integers)."""
        self._gtt += 1
        return self._gtt


__all__ = ["IdGenerator"]
