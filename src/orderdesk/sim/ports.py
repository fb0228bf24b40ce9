"""What the core (orders, portfolio, margins, GTT) needs from the market side, as Protocols.

The instrument master and the price feed are built by the market modules; the core depends only
on these shapes, so each side can be tested without the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol


class InstrumentLike(Protocol):
    """The instrument fields the order book reads."""

    @property
    def instrument_token(self) -> int: ...
    @property
    def tradingsymbol(self) -> str: ...
    @property
    def exchange(self) -> str: ...
    @property
    def tick_size(self) -> float: ...
    @property
    def lot_size(self) -> int: ...
    @property
    def instrument_type(self) -> str: ...
    @property
    def segment(self) -> str: ...
    @property
    def strike(self) -> float: ...
    @property
    def freeze_quantity(self) -> int | None: ...


class InstrumentLookup(Protocol):
    """Find an instrument by exchange and trading symbol, or by token."""

    def by_symbol(self, exchange: str, tradingsymbol: str) -> InstrumentLike | None: ...
    def by_token(self, token: int) -> InstrumentLike | None: ...


class PriceSource(Protocol):
    """Last prices, and the place where fills are reported back as trades."""

    def last_price(self, token: int) -> float: ...
    def record_trade(self, token: int, quantity: int, price: float) -> None: ...


class QuoteSource(PriceSource, Protocol):
    """Last prices and full quotes: the exchange reads the day's circuit limits from the
    quote's ``lower_circuit_limit`` and ``upper_circuit_limit``, as a client would."""

    def quote(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]: ...


class MarketControl(Protocol):
    """The market's test levers (``/_sim/prices``, ``/_sim/reset``)."""

    def set_prices(self, prices: dict[str, float]) -> list[int]: ...
    def step(self) -> list[int]: ...
    def reset(self, seed: int) -> None: ...


class TickerControl(Protocol):
    """The ticker's test lever (the ``ws_drop_now`` fault)."""

    def drop_all(self) -> int: ...


__all__ = [
    "InstrumentLike",
    "InstrumentLookup",
    "MarketControl",
    "PriceSource",
    "QuoteSource",
    "TickerControl",
]
