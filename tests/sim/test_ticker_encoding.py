"""Tick frames as the official client reads them: all modes, indices, divisors, the mocks' bytes."""

from __future__ import annotations

import base64
import struct
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from kiteconnect import KiteTicker

from orderdesk.sim.instruments import CSV_HEADER, InstrumentMaster, parse_csv
from orderdesk.sim.market import MarketData
from orderdesk.sim.snapshot import TickSnapshot
from orderdesk.sim.ticks import HEARTBEAT, PACKET_SIZES, FrameEncoder, Mode, packet
from orderdesk.sim.universe import builtin_instruments

NOW = datetime(2026, 7, 16, 10, 0, 0)
EXTRA = parse_csv(
    ",".join(CSV_HEADER) + "\n"
    "2953219,11536,GBPINR26JULFUT,GBPINR,83.2525,2026-07-29,0.0,0.0025,1,FUT,CDS-FUT,CDS\n"
    "2953222,11536,EURINR26JULFUT,EURINR,91.1234,2026-07-29,0.0,0.0001,1,FUT,BCD-FUT,BCD\n"
)


@pytest.fixture
def market() -> MarketData:
    """Built-in universe plus one CDS and one BCD contract, stepped a few times."""
    master = InstrumentMaster([*builtin_instruments(date(2026, 7, 16)), *EXTRA])
    market = MarketData(master, 3, clock=lambda: NOW)
    for _ in range(3):
        market.step()
    market.record_trade(408065, 25, 1500.0)
    return market


@pytest.fixture
def official() -> Any:
    """The official client's ticker object, never connected: only its parser is used."""
    return KiteTicker("api_key", "access_token")


def _expected(snap: TickSnapshot, mode: Mode) -> dict[str, Any]:
    """What the official parser must return for this snapshot in this mode."""
    tick: dict[str, Any] = {
        "tradable": snap.tradable,
        "mode": str(mode),
        "instrument_token": snap.instrument_token,
        "last_price": snap.last_price,
    }
    if mode is Mode.LTP:
        return tick
    change = 0.0
    if snap.close:
        change = (snap.last_price - snap.close) * 100 / snap.close
    tick["ohlc"] = snap.ohlc
    tick["change"] = change
    if not snap.tradable:
        if mode is Mode.FULL:
            tick["exchange_timestamp"] = datetime.fromtimestamp(snap.exchange_timestamp)
        return tick
    tick |= {
        "last_traded_quantity": snap.last_quantity,
        "average_traded_price": snap.average_price,
        "volume_traded": snap.volume,
        "total_buy_quantity": snap.buy_quantity,
        "total_sell_quantity": snap.sell_quantity,
    }
    if mode is Mode.FULL:
        tick |= {
            "last_trade_time": datetime.fromtimestamp(snap.last_trade_time),
            "oi": snap.oi,
            "oi_day_high": snap.oi_day_high,
            "oi_day_low": snap.oi_day_low,
            "exchange_timestamp": datetime.fromtimestamp(snap.exchange_timestamp),
            "depth": {
                "buy": [{"quantity": q, "price": p, "orders": o} for p, q, o in snap.bids],
                "sell": [{"quantity": q, "price": p, "orders": o} for p, q, o in snap.asks],
            },
        }
    return tick


def test_official_parser_reads_every_mode_field_for_field(
    market: MarketData, official: Any
) -> None:
    """One mixed frame (equities, index, futures, options, CDS, BCD in all modes) parses exactly."""
    keys = [
        "NSE:INFY",
        "BSE:SBIN",
        "NSE:NIFTY 50",
        "BSE:SENSEX",
        "NFO:NIFTY26JULFUT",
        "NFO:NIFTY26JUL25000CE",
        "CDS:USDINR26JULFUT",
        "BCD:EURINR26JULFUT",
    ]
    tokens = [market.quote([k])[k]["instrument_token"] for k in keys]
    items = [(market.snapshot(t), mode) for t in tokens for mode in Mode]
    frame = FrameEncoder().encode(items)
    ticks = official._parse_binary(frame)
    assert len(ticks) == len(items)
    for tick, (snap, mode) in zip(ticks, items, strict=True):
        assert tick == _expected(snap, mode), (snap.instrument_token, mode)


def test_divisors_carry_currency_precision(market: MarketData, official: Any) -> None:
    """CDS prices survive at four decimals through 10^7, BCD's through 10^4."""
    ticks = official._parse_binary(
        FrameEncoder().encode(
            [(market.snapshot(2953219), Mode.LTP), (market.snapshot(2953222), Mode.LTP)]
        )
    )
    assert ticks[0]["last_price"] == market.last_price(2953219)
    assert ticks[1]["last_price"] == market.last_price(2953222)
    assert market.snapshot(2953219).head[1] % 25_000 == 0  # on the 0.0025 grid, in 10^-7 units


def test_packet_lengths_follow_mode_and_tradability(market: MarketData) -> None:
    """Each packet's length prefix is Kite's size for its mode; indices use 8/28/32."""
    for token in (408065, 256265):
        snap = market.snapshot(token)
        for mode in Mode:
            frame = FrameEncoder().encode([(snap, mode)])
            count, length = struct.unpack_from(">HH", frame)
            assert count == 1
            assert length == PACKET_SIZES[(mode, snap.tradable)] == len(frame) - 4


@pytest.mark.parametrize(("name", "mode"), [("quote", Mode.QUOTE), ("full", Mode.FULL)])
def test_mocks_packets_round_trip_byte_for_byte(kite_mocks: Path, name: str, mode: Mode) -> None:
    """Kite's own sample packets, read into a snapshot and written back, are identical."""
    raw = base64.b64decode((kite_mocks / f"ticker_{name}.packet").read_text())
    if mode is Mode.FULL:
        values = struct.unpack(">16I" + "IIH2x" * 10, raw)
        snap = TickSnapshot(values[0], True, 100, values[:16], values[16:])
    else:
        values = struct.unpack(">11I", raw)
        snap = TickSnapshot(values[0], True, 100, (*values, 0, 0, 0, 0, 0), (0,) * 30)
    assert packet(snap, mode) == raw


def test_mocks_full_packet_decodes_to_the_sample_values(kite_mocks: Path, official: Any) -> None:
    """Our snapshot of the sample full packet reports the sample's prices and depth."""
    raw = base64.b64decode((kite_mocks / "ticker_full.packet").read_text())
    values = struct.unpack(">16I" + "IIH2x" * 10, raw)
    snap = TickSnapshot(values[0], True, 100, values[:16], values[16:])
    assert snap.last_price == 1573.7
    assert snap.ohlc == {"open": 1569.15, "high": 1575.0, "low": 1561.05, "close": 1567.8}
    assert snap.bids[0] == (1573.4, 5, 1)
    assert snap.asks[4] == (1573.95, 724, 5)
    frame = FrameEncoder().encode([(snap, Mode.FULL)])
    assert official._parse_binary(frame)[0]["average_traded_price"] == 1570.37


def test_heartbeat_is_ignored_by_the_official_parser(official: Any) -> None:
    """A heartbeat is a single byte, which the official client parses as no ticks."""
    assert len(HEARTBEAT) == 1
    assert official._parse_binary(HEARTBEAT) == []


def test_encoder_grows_for_large_frames(market: MarketData, official: Any) -> None:
    """A frame bigger than the initial buffer is still whole and parseable."""
    snap = market.snapshot(408065)
    frame = FrameEncoder(capacity=16).encode([(snap, Mode.FULL)] * 400)
    assert len(frame) == 2 + 400 * 186
    assert len(official._parse_binary(frame)) == 400


def test_empty_input_makes_no_frame() -> None:
    """Nothing to send encodes to nothing rather than to a zero-count frame."""
    assert FrameEncoder().encode([]) == b""
