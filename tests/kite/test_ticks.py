"""The binary tick parser against the official kiteconnect parser and the upstream samples."""

from __future__ import annotations

import base64
import json
import os
import struct
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kiteconnect import KiteTicker

from orderdesk.brokers.kite.ticks import (
    DepthLevel,
    FullTick,
    IndexFullTick,
    IndexQuoteTick,
    LtpTick,
    Mode,
    QuoteTick,
    TickFrameError,
    parse_frame,
    parse_packet,
    price_exponent,
)

OFFICIAL = KiteTicker("k", "t")  # never connects; _parse_binary is pure


@pytest.fixture(scope="module", autouse=True)
def utc_local_zone() -> Iterator[None]:
    """Pin the process zone to UTC so the official client's naive local datetimes are UTC."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


def canonical(value: Any) -> Any:
    """A comparable form that also tells int from float from bool and aware from naive time."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, datetime):
        # The official client returns naive local time; with TZ pinned to UTC that is UTC.
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return ("datetime", aware.astimezone(UTC).isoformat())
    return (type(value).__name__, value)


def frame_of(packets: list[bytes]) -> bytes:
    """Kite's framing: a u16 count, then a u16 length before each packet."""
    body = b"".join(struct.pack(">H", len(p)) + p for p in packets)
    return struct.pack(">H", len(packets)) + body


SEGMENTS = st.one_of(st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 9, 12]), st.integers(0, 255))
LENGTHS = st.sampled_from([8, 28, 32, 44, 184, 184, 184])


@st.composite
def packets(draw: st.DrawFn) -> bytes:
    """One packet of any known mode for any segment, with random body bytes."""
    length = draw(LENGTHS)
    token = (draw(st.integers(0, 2**24 - 1)) << 8) | draw(SEGMENTS)
    # Small closes matter: they exercise the percentage change and its close == 0 branch.
    body = bytearray(draw(st.binary(min_size=length - 4, max_size=length - 4)))
    if draw(st.booleans()):
        close_at = {8: None, 28: 16, 32: 16, 44: 36}.get(length, 36)
        if close_at is not None:
            body[close_at : close_at + 4] = draw(st.sampled_from([b"\0\0\0\0", b"\0\0\0\x01"]))
    return struct.pack(">I", token) + bytes(body)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(packets(), min_size=1, max_size=16))
def test_random_frames_decode_exactly_like_the_official_client(frame_packets: list[bytes]) -> None:
    """Random frames of every mode and segment yield the official client's dicts field for field."""
    frame = frame_of(frame_packets)
    ours = [tick.to_kite_dict() for tick in parse_frame(frame)]
    theirs = OFFICIAL._parse_binary(frame)
    assert len(ours) == len(frame_packets)
    assert canonical(ours) == canonical(theirs)


@settings(max_examples=50, deadline=None)
# Four bytes at least: the official client reads the token before looking at the length, so it
# crashes on shorter packets, where ours skips them like any other unknown length.
@given(st.lists(st.binary(min_size=4, max_size=60), min_size=1, max_size=5))
def test_packets_of_unknown_length_are_skipped_like_the_official_client(
    junk: list[bytes],
) -> None:
    """Packets whose length is not a known layout are dropped, as the official client drops them."""
    junk = [j for j in junk if len(j) not in (8, 28, 32, 44)] or [b"\x01\x02\x03\x04\x05"]
    frame = frame_of([*junk, bytes(8)])
    ours = [tick.to_kite_dict() for tick in parse_frame(frame)]
    assert canonical(ours) == canonical(OFFICIAL._parse_binary(frame))
    assert len(ours) == 1


def load_packet(kite_mocks: Path, name: str) -> bytes:
    """A bare packet from the upstream samples (base64, no framing)."""
    return base64.b64decode((kite_mocks / name).read_text())


def test_mock_full_packet_decodes_to_the_mock_values(kite_mocks: Path) -> None:
    """The upstream full packet decodes to the values of ticker_full.json (Go field names)."""
    expected = json.loads((kite_mocks / "ticker_full.json").read_text())
    tick = parse_packet(load_packet(kite_mocks, "ticker_full.packet"))
    assert isinstance(tick, FullTick)
    d = tick.to_kite_dict()
    assert d["mode"] == expected["mode"] == "full"
    assert d["tradable"] is expected["tradable"] is True
    assert d["instrument_token"] == expected["instrument_token"]
    assert d["last_price"] == expected["last_price"]
    assert d["last_traded_quantity"] == expected["last_quantity"]
    assert d["average_traded_price"] == expected["average_price"]
    assert d["volume_traded"] == expected["volume"]
    assert d["total_buy_quantity"] == expected["buy_quantity"]
    assert d["total_sell_quantity"] == expected["sell_quantity"]
    assert d["ohlc"] == expected["ohlc"]
    assert (d["oi"], d["oi_day_high"], d["oi_day_low"]) == (0, 0, 0)
    assert d["exchange_timestamp"] == datetime.fromisoformat(expected["timestamp"])
    assert d["last_trade_time"] == datetime.fromisoformat(expected["last_trade_time"])
    assert d["exchange_timestamp"].tzinfo is UTC
    assert d["depth"] == expected["depth"]
    # Go's change is absolute; ours (like the Python client's) is a percentage of close.
    absolute = expected["last_price"] - expected["ohlc"]["close"]
    assert d["change"] == pytest.approx(absolute * 100 / expected["ohlc"]["close"])
    assert tick.to_decimal(tick.last_price) == Decimal("1573.70")
    assert tick.bids[0] == DepthLevel(quantity=5, price=157340, orders=1)
    assert tick.asks[4] == DepthLevel(quantity=724, price=157395, orders=5)


def test_mock_quote_packet_decodes_to_the_mock_values(kite_mocks: Path) -> None:
    """The upstream quote packet decodes to the values of ticker_quote.json (Go field names)."""
    expected = json.loads((kite_mocks / "ticker_quote.json").read_text())
    tick = parse_packet(load_packet(kite_mocks, "ticker_quote.packet"))
    assert isinstance(tick, QuoteTick)
    assert tick.mode is Mode.QUOTE
    d = tick.to_kite_dict()
    assert d["instrument_token"] == expected["instrument_token"] == 408065
    assert d["last_price"] == expected["last_price"]
    assert d["last_traded_quantity"] == expected["last_quantity"]
    assert d["average_traded_price"] == expected["average_price"]
    assert d["volume_traded"] == expected["volume"]
    assert d["total_buy_quantity"] == expected["buy_quantity"]
    assert d["total_sell_quantity"] == expected["sell_quantity"]
    assert d["ohlc"] == expected["ohlc"]


def test_mock_packets_agree_with_the_official_client_when_framed(kite_mocks: Path) -> None:
    """Both sample packets in one frame decode exactly as the official client decodes them."""
    frame = frame_of(
        [
            load_packet(kite_mocks, "ticker_quote.packet"),
            load_packet(kite_mocks, "ticker_full.packet"),
        ]
    )
    ours = [t.to_kite_dict() for t in parse_frame(frame)]
    assert canonical(ours) == canonical(OFFICIAL._parse_binary(frame))


def test_segment_decides_the_price_scale_exactly() -> None:
    """CDS prices carry seven decimals, BCD and NCO four, the rest two, with no float on the way."""
    cds, bcd, nco, nse = (1 << 8) | 3, (1 << 8) | 6, (1 << 8) | 12, (1 << 8) | 1
    assert [price_exponent(t) for t in (cds, bcd, nco, nse)] == [7, 4, 4, 2]
    raw = 123456789
    decoded = [parse_packet(struct.pack(">II", t, raw)) for t in (cds, bcd, nco, nse)]
    assert [t.to_decimal(raw) for t in decoded if t is not None] == [
        Decimal("12.3456789"),
        Decimal("12345.6789"),
        Decimal("12345.6789"),
        Decimal("1234567.89"),
    ]


def test_index_packets_are_not_tradable_and_keep_a_signed_change() -> None:
    """A 32-byte NIFTY-like packet is an untradable full index tick; its change bytes are signed."""
    token = (256265 >> 8 << 8) | 9
    packet = struct.pack(
        ">IIIIIIiI", token, 2250000, 2260000, 2240000, 2245000, 2255000, -500, 1_700_000_000
    )
    tick = parse_packet(packet)
    assert isinstance(tick, IndexFullTick)
    assert not tick.tradable
    assert tick.price_change == -500
    assert tick.exchange_time == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    quote = parse_packet(packet[:28])
    assert isinstance(quote, IndexQuoteTick)
    assert quote.mode is Mode.QUOTE


def test_heartbeats_and_empty_frames_yield_no_ticks() -> None:
    """A one-byte heartbeat and a zero-count frame decode to nothing rather than failing."""
    assert parse_frame(b"\x00") == []
    assert parse_frame(b"") == []
    assert parse_frame(b"\x00\x00") == []


def test_a_truncated_frame_is_a_typed_error() -> None:
    """A length prefix pointing past the end of the frame raises TickFrameError."""
    frame = frame_of([bytes(184)])[:-10]
    with pytest.raises(TickFrameError) as exc_info:
        parse_frame(frame)
    assert "frame of 178 bytes" in str(exc_info.value)


def test_a_frame_missing_whole_packets_is_a_typed_error() -> None:
    """A count larger than the packets present raises TickFrameError instead of inventing ticks."""
    frame = struct.pack(">H", 3) + frame_of([bytes(8)])[2:]
    with pytest.raises(TickFrameError) as exc_info:
        parse_frame(frame)
    assert "3 packets" in str(exc_info.value)


def test_ticks_are_tuples_usable_without_the_dict_view() -> None:
    """The low-level ticks are plain immutable tuples with named integer fields."""
    tick = parse_packet(struct.pack(">II", (408065), 157370))
    assert isinstance(tick, LtpTick)
    assert tick == (408065, 157370)
    assert tick.last_price == 157370
    assert tick.segment == 1
    with pytest.raises(AttributeError) as exc_info:
        tick.last_price = 1  # type: ignore[misc]
    assert "can't set attribute" in str(exc_info.value) or "has no setter" in str(exc_info.value)


def test_packets_shorter_than_a_token_are_skipped() -> None:
    """A 2-byte packet (which crashes the official client) is skipped and its neighbours kept."""
    ticks = parse_frame(frame_of([b"\x01\x02", struct.pack(">II", 408065, 100)]))
    assert ticks == [LtpTick(408065, 100)]
