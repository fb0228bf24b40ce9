"""The hash chain: how a stored row's hash is made, and how a sequence of rows is proven.

Every backend (SQL, in-memory) writes and checks rows through this module, so there is exactly
one definition of the chain. A row's hash is::

    sha256(prev_hash + canonical_json({"at", "payload", "seq", "stream", "type"}))

Covering ``seq`` makes a swapped pair or a renumbered row fail even when its contents are intact;
chaining ``prev_hash`` makes a deleted or inserted row break the row after it. A row that was
appended at the very end (or the last row deleted) leaves the chain itself consistent, so the
store also keeps a *head* — the last ``(seq, hash)`` — written in the same transaction as the
rows, and verification checks that the chain ends exactly there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import Any, NamedTuple, Protocol, runtime_checkable

from orderdesk.domain.events import Event
from orderdesk.ports.store import StoredEvent, VerifyReport
from orderdesk.store.codec import (
    canonical_json,
    canonical_text,
    is_canonical_json,
    utc_isoformat,
)

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first row."""


@dataclass(frozen=True, slots=True)
class Head:
    """The end of the chain: the last row's seq and hash (``0`` and genesis when empty)."""

    seq: int = 0
    hash: str = GENESIS_HASH


class Row(NamedTuple):
    """One row exactly as persisted: text columns stay text, so checks see what is on disk.

    A named tuple in the ``events`` table's column order rather than a frozen dataclass: it is
    built once per appended event, and a frozen dataclass's ``__init__`` (an
    ``object.__setattr__`` per field) measured 2.3 µs against 0.7 µs for the tuple; the tuple
    also goes to the driver as it is.
    """

    seq: int
    stream: str
    type: str
    at: str
    payload: str
    prev_hash: str
    hash: str

    def to_stored(self) -> StoredEvent:
        """The row decoded for readers (a fresh payload dict each time)."""
        payload: dict[str, Any] = json.loads(self.payload)
        return StoredEvent(
            seq=self.seq,
            stream=self.stream,
            type=self.type,
            at=datetime.fromisoformat(self.at),
            payload=payload,
            prev_hash=self.prev_hash,
            hash=self.hash,
        )


def row_hash(prev_hash: str, seq: int, stream: str, type_: str, at: str, payload: str) -> str:
    """The hash of a row whose ``payload`` is already canonical JSON.

    The envelope is assembled as text rather than by serialising a dict that contains the
    payload again: with sorted keys and a canonical payload the bytes are identical to
    ``canonical_json`` of the whole envelope (a test holds this), and appends skip a second
    encoding of every payload.
    """
    envelope = (
        f'{{"at":{canonical_json(at)},"payload":{payload},"seq":{int(seq)},'
        f'"stream":{canonical_json(stream)},"type":{canonical_json(type_)}}}'
    )
    return sha256((prev_hash + envelope).encode()).hexdigest()


_tuple_new = tuple.__new__
"""Builds a Row or an Encoded without namedtuple's Python-level ``__new__`` (see :func:`link`)."""


class Encoded(NamedTuple):
    """An event turned into the row's text columns, before it has a place in the chain.

    ``opening`` and ``closing`` are the hashed envelope on either side of the seq (see
    :func:`row_hash`), prepared here so that the part of an append done under the write lock
    only has to put the seq and the previous hash around them. Text only, no payload dict: an
    append's events wait in memory for their commit, and strings are nothing the garbage
    collector has to walk. A named tuple for the same reason as :class:`Row`.
    """

    stream: str
    type: str
    at: str
    text: str
    opening: str
    closing: str


def encode_events(events: Iterable[Event]) -> list[Encoded]:
    """Encode events for the store; done before taking the write lock, as it is the slow part."""
    encoded = []
    for event in events:
        kind = type(event)
        type_, type_text = _TYPE_TEXT.get(kind) or _type_text(kind)
        text = canonical_text(event)
        at = utc_isoformat(event.at)
        stream = event.stream
        encoded.append(
            _tuple_new(
                Encoded,
                (
                    stream,
                    type_,
                    at,
                    text,
                    f'{{"at":{canonical_json(at)},"payload":{text},"seq":',
                    f',"stream":{canonical_json(stream)},"type":{type_text}}}',
                ),
            )
        )
    return encoded


_TYPE_TEXT: dict[type, tuple[str, str]] = {}
"""Each event class's name, bare and as JSON text."""


def _type_text(kind: type) -> tuple[str, str]:
    name = kind.__name__
    _TYPE_TEXT[kind] = entry = (name, canonical_json(name))
    return entry


def link(encoded: Sequence[Encoded], head: Head) -> tuple[list[Row], Head]:
    """Rows for ``encoded`` continuing the chain after ``head``, and the new head."""
    rows: list[Row] = []
    seq, prev = head.seq, head.hash
    for item in encoded:
        seq += 1
        # The same bytes as row_hash(prev, seq, ...): the envelope with the seq put in.
        digest = sha256(f"{prev}{item.opening}{seq}{item.closing}".encode()).hexdigest()
        # tuple.__new__ directly: Row(...) goes through namedtuple's Python-level __new__,
        # 8% of an append's time on the writer thread (py-spy, make bench ARGS=engine).
        rows.append(
            _tuple_new(Row, (seq, item.stream, item.type, item.at, item.text, prev, digest))
        )
        prev = digest
    return rows, Head(seq, prev)


@runtime_checkable
class EncodedAppender(Protocol):
    """A store that takes events already encoded, so encoding can happen elsewhere: the async
    writer encodes on each caller's task, which keeps one caller's bad event out of a batch.
    It returns the rows as written (``Row.to_stored`` decodes one for a reader)."""

    def append_encoded(self, encoded: Sequence[Encoded], *, durable: bool = True) -> list[Row]:
        """``durable=False``: the commit need not survive a power cut (see the SQL store)."""


class ChainVerifier:
    """Walks rows in seq order and stops at the first one that does not follow.

    Fed row by row so a backend can stream a large log instead of loading it; call
    :meth:`finish` with the stored head once the rows run out.
    """

    def __init__(self) -> None:
        self._expected = Head()
        self._rows = 0
        self.failure: tuple[int, str] | None = None

    def feed(self, row: Row) -> bool:
        """Check one row; False once the chain is broken (further rows are not looked at)."""
        if self.failure is not None:
            return False
        self._rows += 1
        reason = self._check(row)
        if reason is not None:
            # A missing row is reported at the seq that is absent, not at the row after it.
            bad = self._expected.seq + 1 if row.seq > self._expected.seq + 1 else row.seq
            self.failure = (bad, reason)
            return False
        self._expected = Head(row.seq, row.hash)
        return True

    def _check(self, row: Row) -> str | None:
        want = self._expected.seq + 1
        if row.seq != want:
            if row.seq > want:
                return f"row {want} is missing (next row is {row.seq})"
            return f"row {row.seq} is out of order after row {self._expected.seq}"
        if row.prev_hash != self._expected.hash:
            return "prev_hash does not match the previous row's hash (row inserted or removed)"
        try:
            canonical = is_canonical_json(row.payload)
        except (TypeError, ValueError):
            return "payload is not valid JSON"
        if not canonical:
            return "payload was rewritten (not in canonical form)"
        if row_hash(row.prev_hash, row.seq, row.stream, row.type, row.at, row.payload) != row.hash:
            return "hash does not match the row's contents (row edited)"
        return None

    def finish(self, head: Head) -> VerifyReport:
        """The verdict, given the head the store recorded alongside its last append."""
        failure = self.failure or self._check_head(head)
        if failure is None:
            return VerifyReport(ok=True, rows=self._rows)
        seq, reason = failure
        return VerifyReport(ok=False, rows=self._rows, first_bad_seq=seq, reason=reason)

    def _check_head(self, head: Head) -> tuple[int, str] | None:
        last = self._expected
        if head.seq > last.seq:
            return last.seq + 1, f"row {last.seq + 1} is missing (the chain head is at {head.seq})"
        if head.seq < last.seq:
            return head.seq + 1, f"row {head.seq + 1} lies beyond the chain head (added outside)"
        if head.hash != last.hash:
            return last.seq, "the last row's hash differs from the recorded chain head"
        return None


def verify_rows(rows: Iterable[Row], head: Head) -> VerifyReport:
    """Verify a whole sequence of rows against ``head`` (see :class:`ChainVerifier`)."""
    verifier = ChainVerifier()
    for row in rows:
        if not verifier.feed(row):
            break
    return verifier.finish(head)


__all__ = [
    "GENESIS_HASH",
    "ChainVerifier",
    "Encoded",
    "EncodedAppender",
    "Head",
    "Row",
    "encode_events",
    "link",
    "row_hash",
    "verify_rows",
]
