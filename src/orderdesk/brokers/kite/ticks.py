"""Kite's binary market-data packets, decoded into tuple-like tick objects.

A binary WebSocket frame is ``[u16 count]`` followed by ``count`` times ``[u16 length][packet]``,
big-endian throughout (KITE_API.md §10). Packets are told apart by length alone, exactly as the
official client does: 8 (ltp), 28 and 32 (index quote and full), 44 (quote) and 184 (full with
five levels of depth a side). Packets of any other length are skipped, as the official client
skips them.

Design choice, measured in ``bench/bench_ticks.py``: the hot path does one precompiled
``struct.Struct.unpack_from`` per packet and wraps the resulting tuple in a ``NamedTuple``
subclass with ``tuple.__new__`` — no per-field Python code, no division, no datetime. Prices
therefore stay **integers in the instrument's smallest unit** (paise for equities; 10⁻⁷ rupee
for CDS, 10⁻⁴ for BCD and NCO) and exchange times stay **epoch seconds**. Everything richer is
computed lazily on the tick:

- :meth:`to_decimal` gives an exact ``Decimal`` price for the domain (``scaleb`` on the integer,
  so there is no float anywhere on that path);
- ``exchange_time`` / ``last_trade_time_utc`` give UTC-aware datetimes;
- :meth:`to_kite_dict` gives the official Python client's dict (same keys, same float
  divisions, same percentage ``change``) with UTC-aware datetimes where the official client
  returns naive local ones, so the two can be compared field for field.

The tick classes are ``NamedTuple`` subclasses rather than the frozen slotted dataclasses used
elsewhere: a dataclass ``__init__`` runs Python code per field, which costs more than the whole
``unpack_from``; a tuple is already immutable and slot-free.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, NamedTuple, TypeAlias

__all__ = [
    "DepthLevel",
    "FullTick",
    "IndexFullTick",
    "IndexQuoteTick",
    "LtpTick",
    "Mode",
    "QuoteTick",
    "Tick",
    "TickFrameError",
    "parse_frame",
    "parse_packet",
    "price_exponent",
]


class Mode(StrEnum):
    """Streaming modes, spelled as the ticker protocol spells them."""

    LTP = "ltp"
    QUOTE = "quote"
    FULL = "full"


class TickFrameError(ValueError):
    """A binary frame whose length prefixes run past its end (a truncated or corrupt frame)."""


INDICES_SEGMENT = 9

# Decimal exponent of the price unit by segment id (token & 0xFF). The official Python client
# 5.2.2 divides CDS (3) by 1e7 and BCD (6) and NCO (12) by 1e4; everything else by 100.
_EXPONENT_BY_SEGMENT: dict[int, int] = {3: 7, 6: 4, 12: 4}
_DIVISOR_BY_EXPONENT: dict[int, float] = {7: 10000000.0, 4: 10000.0, 2: 100.0}


def price_exponent(instrument_token: int) -> int:
    """How many decimal places the integer prices of this instrument carry (2, 4 or 7)."""
    return _EXPONENT_BY_SEGMENT.get(instrument_token & 0xFF, 2)


def _utc(epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def _change_percent(last: float, close: float) -> float | int:
    # Same float operations, in the same order, as the official client, so the results are
    # bit-identical; it also yields the int 0 when close is 0.
    if close != 0:
        return (last - close) * 100 / close
    return 0


class _TickBehaviour:
    """What every tick can derive from its instrument token; mixed into each tick class."""

    __slots__ = ()

    instrument_token: int
    mode: ClassVar[Mode]

    @property
    def segment(self) -> int:
        """Kite's segment id: the low byte of the instrument token (NSE 1, CDS 3, INDICES 9…)."""
        return self.instrument_token & 0xFF

    @property
    def tradable(self) -> bool:
        """False for indices, which stream prices but cannot be ordered."""
        return self.instrument_token & 0xFF != INDICES_SEGMENT

    @property
    def price_exponent(self) -> int:
        """Decimal places carried by this tick's integer prices."""
        return price_exponent(self.instrument_token)

    def to_decimal(self, raw_price: int) -> Decimal:
        """An integer price field of this tick as an exact rupee amount."""
        return Decimal(raw_price).scaleb(-price_exponent(self.instrument_token))

    def _divisor(self) -> float:
        return _DIVISOR_BY_EXPONENT[price_exponent(self.instrument_token)]


class _LtpFields(NamedTuple):
    instrument_token: int
    last_price: int


class LtpTick(_LtpFields, _TickBehaviour):
    """An 8-byte ltp-mode packet: the token and the last traded price (integer units)."""

    __slots__ = ()
    mode: ClassVar[Mode] = Mode.LTP

    def to_kite_dict(self) -> dict[str, Any]:
        """The official Python client's tick dict for this packet."""
        return {
            "tradable": self.tradable,
            "mode": Mode.LTP.value,
            "instrument_token": self.instrument_token,
            "last_price": self.last_price / self._divisor(),
        }


class _IndexQuoteFields(NamedTuple):
    instrument_token: int
    last_price: int
    high: int
    low: int
    open: int
    close: int
    price_change: int
    """Bytes 24–28; the official Python client ignores them and computes a percentage."""


class IndexQuoteTick(_IndexQuoteFields, _TickBehaviour):
    """A 28-byte index packet (quote mode): last price and the day's OHLC, integer units."""

    __slots__ = ()
    mode: ClassVar[Mode] = Mode.QUOTE

    def to_kite_dict(self) -> dict[str, Any]:
        """The official Python client's tick dict for this packet."""
        return _index_dict(self, Mode.QUOTE)


class _IndexFullFields(NamedTuple):
    instrument_token: int
    last_price: int
    high: int
    low: int
    open: int
    close: int
    price_change: int
    exchange_timestamp: int
    """Epoch seconds."""


class IndexFullTick(_IndexFullFields, _TickBehaviour):
    """A 32-byte index packet (full mode): the quote fields plus the exchange timestamp."""

    __slots__ = ()
    mode: ClassVar[Mode] = Mode.FULL

    @property
    def exchange_time(self) -> datetime:
        """The exchange timestamp as a UTC-aware datetime."""
        return _utc(self.exchange_timestamp)

    def to_kite_dict(self) -> dict[str, Any]:
        """The official Python client's tick dict for this packet (UTC-aware datetimes)."""
        d = _index_dict(self, Mode.FULL)
        d["exchange_timestamp"] = self.exchange_time
        return d


def _index_dict(tick: IndexQuoteTick | IndexFullTick, mode: Mode) -> dict[str, Any]:
    div = tick._divisor()
    last = tick.last_price / div
    close = tick.close / div
    return {
        "tradable": tick.tradable,
        "mode": mode.value,
        "instrument_token": tick.instrument_token,
        "last_price": last,
        "ohlc": {
            "high": tick.high / div,
            "low": tick.low / div,
            "open": tick.open / div,
            "close": close,
        },
        "change": _change_percent(last, close),
    }


class _QuoteFields(NamedTuple):
    instrument_token: int
    last_price: int
    last_traded_quantity: int
    average_traded_price: int
    volume_traded: int
    total_buy_quantity: int
    total_sell_quantity: int
    open: int
    high: int
    low: int
    close: int


class QuoteTick(_QuoteFields, _TickBehaviour):
    """A 44-byte quote packet: prices in integer units, quantities as plain integers."""

    __slots__ = ()
    mode: ClassVar[Mode] = Mode.QUOTE

    def to_kite_dict(self) -> dict[str, Any]:
        """The official Python client's tick dict for this packet."""
        return _quote_dict(self, Mode.QUOTE)


class DepthLevel(NamedTuple):
    """One level of market depth; ``price`` in the tick's integer units."""

    quantity: int
    price: int
    orders: int


class _FullFields(NamedTuple):
    # The order is the wire order: one struct unpack fills the tuple directly.
    instrument_token: int
    last_price: int
    last_traded_quantity: int
    average_traded_price: int
    volume_traded: int
    total_buy_quantity: int
    total_sell_quantity: int
    open: int
    high: int
    low: int
    close: int
    last_trade_time: int
    """Epoch seconds."""
    oi: int
    oi_day_high: int
    oi_day_low: int
    exchange_timestamp: int
    """Epoch seconds."""
    bid1_quantity: int
    bid1_price: int
    bid1_orders: int
    bid2_quantity: int
    bid2_price: int
    bid2_orders: int
    bid3_quantity: int
    bid3_price: int
    bid3_orders: int
    bid4_quantity: int
    bid4_price: int
    bid4_orders: int
    bid5_quantity: int
    bid5_price: int
    bid5_orders: int
    ask1_quantity: int
    ask1_price: int
    ask1_orders: int
    ask2_quantity: int
    ask2_price: int
    ask2_orders: int
    ask3_quantity: int
    ask3_price: int
    ask3_orders: int
    ask4_quantity: int
    ask4_price: int
    ask4_orders: int
    ask5_quantity: int
    ask5_price: int
    ask5_orders: int


_DEPTH_START = 16  # index of bid1_quantity in _FullFields


class FullTick(_FullFields, _TickBehaviour):
    """A 184-byte full packet: the quote fields, OI, times, and five depth levels a side.

    Depth is stored flat (``bid1_quantity`` … ``ask5_orders``) because that is what one struct
    unpack yields; :attr:`bids` and :attr:`asks` regroup it on demand.
    """

    __slots__ = ()
    mode: ClassVar[Mode] = Mode.FULL

    @property
    def bids(self) -> tuple[DepthLevel, ...]:
        """The five buy levels, best first."""
        return tuple(DepthLevel(*self[i : i + 3]) for i in range(_DEPTH_START, 31, 3))

    @property
    def asks(self) -> tuple[DepthLevel, ...]:
        """The five sell levels, best first."""
        return tuple(DepthLevel(*self[i : i + 3]) for i in range(31, 46, 3))

    @property
    def exchange_time(self) -> datetime:
        """The exchange timestamp as a UTC-aware datetime."""
        return _utc(self.exchange_timestamp)

    @property
    def last_trade_time_utc(self) -> datetime:
        """The last trade time as a UTC-aware datetime."""
        return _utc(self.last_trade_time)

    def to_kite_dict(self) -> dict[str, Any]:
        """The official Python client's tick dict for this packet (UTC-aware datetimes)."""
        d = _quote_dict(self, Mode.FULL)
        div = self._divisor()
        d["last_trade_time"] = self.last_trade_time_utc
        d["oi"] = self.oi
        d["oi_day_high"] = self.oi_day_high
        d["oi_day_low"] = self.oi_day_low
        d["exchange_timestamp"] = self.exchange_time
        d["depth"] = {
            side: [{"quantity": q, "price": p / div, "orders": o} for q, p, o in levels]
            for side, levels in (("buy", self.bids), ("sell", self.asks))
        }
        return d


def _quote_dict(tick: QuoteTick | FullTick, mode: Mode) -> dict[str, Any]:
    div = tick._divisor()
    last = tick.last_price / div
    close = tick.close / div
    return {
        "tradable": tick.tradable,
        "mode": mode.value,
        "instrument_token": tick.instrument_token,
        "last_price": last,
        "last_traded_quantity": tick.last_traded_quantity,
        "average_traded_price": tick.average_traded_price / div,
        "volume_traded": tick.volume_traded,
        "total_buy_quantity": tick.total_buy_quantity,
        "total_sell_quantity": tick.total_sell_quantity,
        "ohlc": {
            "open": tick.open / div,
            "high": tick.high / div,
            "low": tick.low / div,
            "close": close,
        },
        "change": _change_percent(last, close),
    }


Tick: TypeAlias = LtpTick | IndexQuoteTick | IndexFullTick | QuoteTick | FullTick

# Every layout is big-endian unsigned (as all official clients decode), except the index
# packet's price change, which is a signed difference (the Python client ignores it).
_U16 = struct.Struct(">H")
_LAYOUTS: dict[int, tuple[struct.Struct, type[Tick]]] = {
    8: (struct.Struct(">II"), LtpTick),
    28: (struct.Struct(">IIIIIIi"), IndexQuoteTick),
    32: (struct.Struct(">IIIIIIiI"), IndexFullTick),
    44: (struct.Struct(">11I"), QuoteTick),
    184: (struct.Struct(">16I" + "IIH2x" * 10), FullTick),
}


def parse_packet(packet: bytes | bytearray | memoryview) -> Tick | None:
    """Decode one bare packet (no count/length framing); ``None`` for an unknown length."""
    layout = _LAYOUTS.get(len(packet))
    if layout is None:
        return None
    codec, cls = layout
    return tuple.__new__(cls, codec.unpack_from(packet))


def parse_frame(frame: bytes | bytearray | memoryview) -> list[Tick]:
    """Decode a binary ticker frame into ticks, in wire order.

    A frame shorter than two bytes is a heartbeat and yields no ticks. Raises
    :class:`TickFrameError` when a length prefix points past the end of the frame.
    """
    size = len(frame)
    if size < 2:
        return []
    # Locals on purpose: this loop runs once per packet and global lookups show up in the bench.
    layouts = _LAYOUTS
    u16 = _U16.unpack_from
    new = tuple.__new__
    ticks: list[Tick] = []
    append = ticks.append
    (count,) = u16(frame, 0)
    offset = 2
    try:
        for _ in range(count):
            (length,) = u16(frame, offset)
            offset += 2
            layout = layouts.get(length)
            if layout is not None:
                append(new(layout[1], layout[0].unpack_from(frame, offset)))
            offset += length
    except struct.error:
        raise TickFrameError(
            f"frame of {size} bytes ends inside one of its {count} packets"
        ) from None
    if offset > size:
        raise TickFrameError(f"frame of {size} bytes declares {offset} bytes of packets")
    return ticks
