"""Kite's binary tick frames, written: ltp, quote and full packets, index packets, heartbeats.

A frame is ``u16 packet count`` then, per packet, ``u16 length`` and the packet, big-endian
throughout (KITE_API.md §10). Clients tell packets apart by length alone — 8 (ltp), 44 (quote),
184 (full), 28 and 32 (index quote and full) — so one frame may mix modes freely.

Each packet shape is one precompiled :class:`struct.Struct` that includes its own length prefix,
so a packet costs a single ``pack_into`` into a reused buffer; :class:`TickSnapshot` already holds
the integers in wire order, so nothing is converted here.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from enum import StrEnum

from orderdesk.sim.snapshot import TickSnapshot


class Mode(StrEnum):
    """Streaming modes a client asks for with ``{"a": "mode", "v": [mode, tokens]}``."""

    LTP = "ltp"
    QUOTE = "quote"
    FULL = "full"


HEARTBEAT = b"\x00"
"""What the server sends when it has nothing else to say: any frame under two bytes."""

# Each with its u16 length prefix. Index packets carry the change as a signed integer.
_LTP = struct.Struct(">HII")
_QUOTE = struct.Struct(">H11I")
_FULL = struct.Struct(">H16I" + "IIH2x" * 10)
_INDEX_QUOTE = struct.Struct(">H6Ii")
_INDEX_FULL = struct.Struct(">H6IiI")
_COUNT = struct.Struct(">H")

PACKET_SIZES = {
    (Mode.LTP, True): 8,
    (Mode.QUOTE, True): 44,
    (Mode.FULL, True): 184,
    (Mode.LTP, False): 8,
    (Mode.QUOTE, False): 28,
    (Mode.FULL, False): 32,
}
"""Packet length by (mode, tradable); indices are the non-tradable ones."""
MAX_PACKETS = 0xFFFF


class FrameEncoder:
    """Packs snapshots into frames, reusing one growing buffer (one encoder per sender).

    Not thread-safe and not re-entrant: the returned ``bytes`` is a copy, the buffer is not.
    """

    __slots__ = ("_buf",)

    def __init__(self, capacity: int = 64 * 1024) -> None:
        self._buf = bytearray(capacity)

    def encode(self, items: Iterable[tuple[TickSnapshot, Mode]]) -> bytes:
        """One frame carrying a packet per ``(snapshot, mode)``; ``b""`` when there are none."""
        items = list(items)
        if not items:
            return b""
        if len(items) > MAX_PACKETS:
            raise ValueError(f"a frame carries at most {MAX_PACKETS} packets")
        need = 2 + 186 * len(items)
        if len(self._buf) < need:
            self._buf = bytearray(max(need, 2 * len(self._buf)))
        buf = self._buf
        _COUNT.pack_into(buf, 0, len(items))
        offset = 2
        full = Mode.FULL
        pack_full = _FULL.pack_into
        for snap, mode in items:
            # Full tradable packets are the common, heavy case: pack them without a call.
            if mode is full and snap.tradable:
                pack_full(buf, offset, 184, *snap.head, *snap.depth)
                offset += 186
            else:
                offset += pack_packet(buf, offset, snap, mode)
        return bytes(buf[:offset])


def pack_packet(buf: bytearray, offset: int, snap: TickSnapshot, mode: Mode) -> int:
    """Write one length-prefixed packet at ``offset``; returns the bytes written."""
    head = snap.head
    if mode is Mode.FULL:
        if snap.tradable:
            _FULL.pack_into(buf, offset, 184, *head, *snap.depth)
            return 186
        _INDEX_FULL.pack_into(buf, offset, 32, *_index_fields(head), head[15])
        return 34
    if mode is Mode.QUOTE:
        if snap.tradable:
            _QUOTE.pack_into(buf, offset, 44, *head[:11])
            return 46
        _INDEX_QUOTE.pack_into(buf, offset, 28, *_index_fields(head))
        return 30
    _LTP.pack_into(buf, offset, 8, head[0], head[1])
    return 10


def _index_fields(head: tuple[int, ...]) -> tuple[int, ...]:
    # Index packets order the day's prices high, low, open, close, then the change.
    return (head[0], head[1], head[8], head[9], head[7], head[10], head[1] - head[10])


def packet(snap: TickSnapshot, mode: Mode) -> bytes:
    """One bare packet (no count or length), as the mocks' ``ticker_*.packet`` files hold."""
    buf = bytearray(186)
    written = pack_packet(buf, 0, snap, mode)
    return bytes(buf[2:written])


__all__ = [
    "HEARTBEAT",
    "MAX_PACKETS",
    "PACKET_SIZES",
    "FrameEncoder",
    "Mode",
    "pack_packet",
    "packet",
]
